"""The audit sample's draw and quarters (pure): reproducible by seed, independent across quarters and types."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from errors import UsageError
from search.sample import Quarter, draw, new_seed, rank

NAMES = [f"2026-{n:04d}-contract" for n in range(1, 201)]
Q4 = Quarter.parse("2026Q4")


def test_quarters_parse_and_bound_in_the_department_time_zone() -> None:
    assert (Q4.year, Q4.number, str(Q4)) == (2026, 4, "2026Q4")
    assert str(Quarter.parse("2027q1")) == "2027Q1"
    start, end = Q4.bounds(ZoneInfo("Asia/Shanghai"))
    assert start.astimezone(UTC) == datetime(2026, 9, 30, 16, tzinfo=UTC)
    assert end.astimezone(UTC) == datetime(2026, 12, 31, 16, tzinfo=UTC)
    assert Quarter.parse("2026Q2").bounds(UTC) == (datetime(2026, 4, 1, tzinfo=UTC), datetime(2026, 7, 1, tzinfo=UTC))
    for bad in ("2026Q5", "2026-Q4", "Q4 2026", "0000Q1", ""):
        with pytest.raises(UsageError):
            Quarter.parse(bad)


def test_the_same_seed_draws_the_same_sample_sorted_by_name() -> None:
    first = draw(NAMES, 20, seed="audit-2026q4", record_type="contract", quarter=Q4)
    assert first == draw(list(reversed(NAMES)), 20, seed="audit-2026q4", record_type="contract", quarter=Q4)
    assert len(first) == 20 and first == sorted(first) and set(first) <= set(NAMES)
    assert first != draw(NAMES, 20, seed="another", record_type="contract", quarter=Q4)
    assert first != draw(NAMES, 20, seed="audit-2026q4", record_type="contract", quarter=Quarter.parse("2026Q3"))


def test_the_draw_is_the_published_rank_so_anyone_can_recompute_it() -> None:
    import hashlib

    expected = sorted(sorted(NAMES, key=lambda n: hashlib.sha256(f"s\ncontract\n2026Q4\n{n}".encode()).hexdigest())[:5])
    assert draw(NAMES, 5, seed="s", record_type="contract", quarter=Q4) == expected
    assert rank("s", "contract", Q4, NAMES[0]) == hashlib.sha256(f"s\ncontract\n2026Q4\n{NAMES[0]}".encode()).hexdigest()


def test_small_populations_and_bad_sizes() -> None:
    assert draw(NAMES[:3], 20, seed="s", record_type="contract", quarter=Q4) == NAMES[:3]
    assert draw([], 5, seed="s", record_type="contract", quarter=Q4) == []
    with pytest.raises(UsageError):
        draw(NAMES, 0, seed="s", record_type="contract", quarter=Q4)
    assert len(new_seed()) == 8 and new_seed() != new_seed()


@given(st.sets(st.sampled_from(NAMES), min_size=1), st.integers(1, 30), st.text(min_size=1, max_size=12))
def test_a_record_filed_late_changes_the_sample_by_at_most_one(population: set[str], n: int, seed: str) -> None:
    before = set(draw(population, n, seed=seed, record_type="contract", quarter=Q4))
    late = "2026-9999-contract"
    after = set(draw(population | {late}, n, seed=seed, record_type="contract", quarter=Q4))
    assert len(after - before - {late}) == 0 and len(before - after) <= 1
