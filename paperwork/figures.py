"""The monthly report's computed figures, pure: satisfaction rate and complaint change against targets.

Figures are exact fractions; they are shown with one decimal rounded toward zero, so a
figure that misses its target never displays as one that meets it (89.96% shows as 89.9%).
"""

from __future__ import annotations

from fractions import Fraction


def satisfaction_rate(satisfied: int, responses: int) -> Fraction | None:
    """Satisfied answers as a percentage of responses; None without responses."""
    if responses == 0:
        return None
    return Fraction(100 * satisfied, responses)


def complaint_change(this_month: int, last_month: int) -> Fraction | None:
    """Change in complaints as a percentage of last month's (negative: fewer); None when last month had none."""
    if last_month == 0:
        return None
    return Fraction(100 * (this_month - last_month), last_month)


def satisfaction_met(rate: Fraction | None, target: int) -> bool | None:
    """At least ``target`` percent satisfied (the policy: 90% or more)."""
    return None if rate is None else rate >= target


def reduction_met(change: Fraction | None, target: int) -> bool | None:
    """Complaints fell by at least ``target`` percent (the policy: down 20%)."""
    return None if change is None else change <= -target


def percent(value: Fraction | None, *, signed: bool = False) -> str:
    """``93.5%``, ``-28.0%`` (``+12.5%`` when signed); ``—`` for no figure."""
    if value is None:
        return "—"
    tenths = int(value * 10)  # int() of a Fraction rounds toward zero, exactly
    sign = "-" if tenths < 0 else "+" if signed and tenths > 0 else ""
    return f"{sign}{abs(tenths) // 10}.{abs(tenths) % 10}%"
