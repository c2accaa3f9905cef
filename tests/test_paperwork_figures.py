"""The monthly report's computed figures: satisfaction rate, complaint change, their targets and display."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from paperwork.figures import (
    complaint_change,
    percent,
    reduction_met,
    satisfaction_met,
    satisfaction_rate,
)

counts = st.integers(0, 10**6)


@given(counts, counts)
def test_satisfaction_rate_is_exact(satisfied: int, extra: int) -> None:
    responses = satisfied + extra
    rate = satisfaction_rate(satisfied, responses)
    if responses == 0:
        assert rate is None
        return
    assert rate is not None
    assert 0 <= rate <= 100
    assert rate * responses == 100 * satisfied


@given(counts, st.integers(1, 10**6))
def test_complaint_change_is_exact(this_month: int, last_month: int) -> None:
    change = complaint_change(this_month, last_month)
    assert change is not None
    assert change * last_month == 100 * (this_month - last_month)
    assert change >= -100


def test_no_figure_without_a_base() -> None:
    assert satisfaction_rate(0, 0) is None
    assert complaint_change(5, 0) is None
    assert satisfaction_met(None, 90) is None
    assert reduction_met(None, 20) is None
    assert percent(None) == "—"


@pytest.mark.parametrize(
    ("satisfied", "responses", "shown", "met"),
    [
        (9, 10, "90.0%", True),          # exactly the target counts as met ("90% or more")
        (8996, 10000, "89.9%", False),   # 89.96% is not shown as 90.0%
        (9004, 10000, "90.0%", True),
        (112, 120, "93.3%", True),
        (0, 7, "0.0%", False),
        (7, 7, "100.0%", True),
    ],
)
def test_satisfaction_against_the_90_percent_target(satisfied: int, responses: int, shown: str, met: bool) -> None:
    rate = satisfaction_rate(satisfied, responses)
    assert percent(rate) == shown
    assert satisfaction_met(rate, 90) is met


@pytest.mark.parametrize(
    ("this_month", "last_month", "shown", "met"),
    [
        (18, 25, "-28.0%", True),
        (20, 25, "-20.0%", True),        # exactly 20% down meets the target
        (21, 25, "-16.0%", False),
        (25, 25, "0.0%", False),
        (30, 25, "+20.0%", False),
        (4001, 5000, "-19.9%", False),   # -19.98% is not shown as -20.0%
        (0, 3, "-100.0%", True),
    ],
)
def test_complaints_against_the_20_percent_reduction(this_month: int, last_month: int, shown: str, met: bool) -> None:
    change = complaint_change(this_month, last_month)
    assert percent(change, signed=True) == shown
    assert reduction_met(change, 20) is met


@given(st.fractions(min_value=-1000, max_value=1000), st.integers(1, 100))
def test_displayed_figure_never_contradicts_the_verdict(value: Fraction, target: int) -> None:
    """Rounding toward zero: a figure shown as reaching a (non-zero) target really reaches it."""
    shown = Fraction(percent(value).rstrip("%"))
    assert abs(shown - value) < Fraction(1, 10)
    assert abs(shown) <= abs(value)
    assert (shown >= target) == (value >= target)
    assert (shown <= -target) == (value <= -target)
