"""When repeated failed logins lock an account, and for how long (pure arithmetic, no I/O)."""

from __future__ import annotations

from datetime import datetime, timedelta

MAX_LOCK = timedelta(hours=24)
_MAX_LOCK_MINUTES = int(MAX_LOCK.total_seconds()) // 60


def lock_minutes(failures: int, *, after: int, minutes: int) -> int:
    """Minutes of lock after ``failures`` consecutive failures: 0 below ``after``, then doubling, capped."""
    if failures < after or minutes <= 0:
        return 0
    # Beyond this many doublings even one minute exceeds the cap; bounding it keeps the shift small.
    doublings = min(failures - after, _MAX_LOCK_MINUTES.bit_length())
    return min(minutes << doublings, _MAX_LOCK_MINUTES)


def locked_until(failures: int, last_failure: datetime, *, after: int, minutes: int) -> datetime | None:
    """The end of the lock that ``failures`` consecutive failures earn, counted from the last one; None if none."""
    duration = lock_minutes(failures, after=after, minutes=minutes)
    return last_failure + timedelta(minutes=duration) if duration else None
