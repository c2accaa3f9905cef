"""When ``backup run --if-due`` should run (pure).

A run is due when there is no complete snapshot, or the newest one started at least
the interval ago, less an hour of slack: a daily cron job at 03:00 then backs up again
at 03:00 a week later even though last week's run started a few seconds after 03:00,
instead of slipping a day every week. A missed week (host down, cron broken) is
caught up by the next daily call.
"""

from __future__ import annotations

from datetime import datetime, timedelta

SLACK = timedelta(hours=1)


def next_due(last_started: datetime | None, interval_days: int) -> datetime | None:
    """When the next run becomes due; None means at once (no snapshot yet)."""
    if last_started is None:
        return None
    return last_started + timedelta(days=interval_days) - SLACK


def is_due(last_started: datetime | None, now: datetime, interval_days: int) -> bool:
    due = next_due(last_started, interval_days)
    return due is None or now >= due
