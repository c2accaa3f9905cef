"""A record's retention date and the Object Lock date of its versions, from the configured schedules.

Here, below ``retention``, because filing applies it: every version is stored under Object Lock
until its record's retention date. The schedules' arithmetic is :mod:`schedules.retention`.
"""

from __future__ import annotations

from datetime import date, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

from config.settings import Settings
from errors import UsageError
from schedules.retention import (
    RetentionDate,
    Schedule,
    ScheduleError,
    check_trigger,
    day_after_starts,
    local_day,
    parse_schedules,
    retention_date,
)


def zone(settings: Settings) -> ZoneInfo:
    """The organisation's time zone: retention dates are calendar days there."""
    return ZoneInfo(settings.paperwork.time_zone)


@lru_cache(maxsize=8)
def _schedules(specs: tuple[str, ...]) -> dict[str, Schedule]:
    return parse_schedules(list(specs))


def schedule_for(settings: Settings, record_type: str) -> Schedule:
    schedules = _schedules(tuple(settings.retention.schedules))
    try:
        return schedules[record_type]
    except KeyError:
        raise UsageError(f"no retention schedule for record type {record_type!r}") from None


def scheduled(settings: Settings, record_type: str) -> bool:
    """Whether the type has a retention schedule (a type dropped from the configuration may have none)."""
    return record_type in _schedules(tuple(settings.retention.schedules))


def check_retain_from(settings: Settings, record_type: str, retain_from: date | None) -> None:
    """Refuse a ``--retain-from`` date the type's schedule does not use (a usage error)."""
    try:
        check_trigger(schedule_for(settings, record_type), retain_from)
    except ScheduleError as exc:
        raise UsageError(str(exc)) from None


def retention_of(settings: Settings, record_type: str, created_at: datetime, retain_from: date | None) -> RetentionDate:
    """The retention date of a record, by today's schedules."""
    return retention_date(schedule_for(settings, record_type), local_day(created_at, zone(settings)), retain_from)


def lock_moment(settings: Settings, retention: RetentionDate, now: datetime) -> datetime | None:
    """Until when the record's versions must be write-once: the end of the day retention ends, if still ahead."""
    moment = day_after_starts(retention.lock_through, zone(settings))
    return moment if moment > now else None


def today(settings: Settings, now: datetime) -> date:
    return local_day(now, zone(settings))
