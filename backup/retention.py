"""Which snapshots a prune keeps (pure).

``--keep-weekly N``: for each of the last N ISO weeks that have a snapshot, the newest
snapshot of that week; ``--keep-monthly M`` likewise for calendar months (UTC). A
snapshot may count for both. The newest snapshot is always kept, whatever N and M.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime


def _week(moment: datetime) -> tuple[int, int]:
    year, week, _ = moment.astimezone(UTC).isocalendar()
    return year, week


def _month(moment: datetime) -> tuple[int, int]:
    moment = moment.astimezone(UTC)
    return moment.year, moment.month


def select_kept(snapshots: Mapping[str, datetime], keep_weekly: int, keep_monthly: int) -> set[str]:
    """The ids to keep among ``snapshots`` (id → start time)."""
    if keep_weekly < 0 or keep_monthly < 0:
        raise ValueError("keep counts cannot be negative")
    newest_first = sorted(snapshots, key=lambda sid: (snapshots[sid], sid), reverse=True)
    kept = set(newest_first[:1])
    periods: tuple[tuple[int, Callable[[datetime], tuple[int, int]]], ...] = (
        (keep_weekly, _week), (keep_monthly, _month),
    )
    for count, period_of in periods:
        seen: set[tuple[int, int]] = set()
        for sid in newest_first:
            period = period_of(snapshots[sid])
            if period in seen:
                continue
            if len(seen) == count:
                break
            seen.add(period)
            kept.add(sid)
    return kept
