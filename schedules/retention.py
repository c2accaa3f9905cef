"""Retention schedules and their arithmetic (pure: no I/O, no clock).

A schedule is configuration, one line per record type (``retention.schedules``)::

    contract = 10 years from end
    minutes = 5 years from filing
    report = 3 years from filing
    memo = 1 year 6 months from filing

The period is years, months and/or days; the trigger is ``filing`` (the day the record
was filed) or a word naming a date given when the record is filed (``--retain-from``),
such as a contract's ``end``. A record is kept *through* its retention date: it becomes
disposable the day after. Months and years are calendar months: adding one month to
31 January gives 28 (or 29) February, adding a year to 29 February gives 28 February.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

FILING = "filing"
MAX_YEARS = 200
_MAX_DIGITS = 9  # longer counts are certainly beyond MAX_YEARS (and int() of them stays cheap)
# Periods are compared by their average length: 400 Gregorian years are 146097 days and 4800 months.
_DAYS_PER_400_YEARS = 146097

_UNITS = {"year": "years", "years": "years", "month": "months", "months": "months", "day": "days", "days": "days"}
_SPEC = re.compile(r"^\s*(?P<type>[a-z][a-z0-9-]*)\s*=\s*(?P<period>.+?)\s+from\s+(?P<trigger>[a-z][a-z-]*)\s*$")
_TERM = re.compile(r"(?<!\d)(\d+)\s*([a-z]+)")


class ScheduleError(ValueError):
    """A retention schedule or trigger date that cannot be used; the message says why, in one line."""


@dataclass(frozen=True)
class Period:
    years: int = 0
    months: int = 0
    days: int = 0

    def __str__(self) -> str:
        parts = [
            f"{count} {unit[:-1] if count == 1 else unit}"
            for count, unit in ((self.years, "years"), (self.months, "months"), (self.days, "days"))
            if count
        ]
        return " ".join(parts) or "0 days"


def parse_period(text: str) -> Period:
    """``"10 years"``, ``"1 year 6 months"``, ``"90 days"`` → :class:`Period`."""
    remaining = text.strip().lower()
    if not remaining:
        raise ScheduleError("a retention period is empty")
    too_long = f"retention period {text!r} is longer than {MAX_YEARS} years"
    counts = {"years": 0, "months": 0, "days": 0}
    seen: set[str] = set()
    position = 0
    for match in _TERM.finditer(remaining):
        if remaining[position:match.start()].strip():
            break
        unit = _UNITS.get(match.group(2))
        if unit is None:
            raise ScheduleError(f"unknown unit {match.group(2)!r} in retention period {text!r} (years, months, days)")
        if unit in seen:
            raise ScheduleError(f"{unit} given twice in retention period {text!r}")
        seen.add(unit)
        digits = match.group(1).lstrip("0") or "0"
        if len(digits) > _MAX_DIGITS:
            raise ScheduleError(too_long)
        counts[unit] = int(digits)
        position = match.end()
    if not seen or remaining[position:].strip():
        raise ScheduleError(f"retention period {text!r} is not like '10 years' or '1 year 6 months'")
    period = Period(**counts)
    if _too_long(period):
        raise ScheduleError(too_long)
    return period


def _too_long(period: Period) -> bool:
    """Longer than MAX_YEARS years on average (exact integer arithmetic, so no year-fraction is lost)."""
    months = period.years * 12 + period.months
    return months * _DAYS_PER_400_YEARS + period.days * 4800 > MAX_YEARS * 12 * _DAYS_PER_400_YEARS


def add_period(start: date, period: Period) -> date:
    """``start`` plus the period: calendar years and months first (clamped to the month's end), then days."""
    if min(period.years, period.months, period.days) < 0:
        raise ScheduleError(f"retention period {period} is negative")
    month_index = start.year * 12 + (start.month - 1) + period.years * 12 + period.months
    year, month = divmod(month_index, 12)
    if year > date.max.year:
        raise ScheduleError(f"{start.isoformat()} plus {period} is beyond the year {date.max.year}")
    day = min(start.day, calendar.monthrange(year, month + 1)[1])
    try:
        return date(year, month + 1, day) + timedelta(days=period.days)
    except OverflowError:
        raise ScheduleError(f"{start.isoformat()} plus {period} is beyond the year {date.max.year}") from None


@dataclass(frozen=True)
class Schedule:
    record_type: str
    period: Period
    trigger: str

    @property
    def from_filing(self) -> bool:
        return self.trigger == FILING

    def describe(self) -> str:
        if self.from_filing:
            return f"{self.period} from the filing date"
        return f"{self.period} from the {self.trigger} date (given with --retain-from)"


def parse_schedule(spec: str) -> Schedule:
    """One configuration line, ``TYPE = PERIOD from TRIGGER``."""
    match = _SPEC.match(spec.lower())
    if match is None:
        raise ScheduleError(f"retention schedule {spec!r} is not like 'contract = 10 years from end'")
    return Schedule(match.group("type"), parse_period(match.group("period")), match.group("trigger"))


def parse_schedules(specs: list[str]) -> dict[str, Schedule]:
    schedules: dict[str, Schedule] = {}
    for spec in specs:
        schedule = parse_schedule(spec)
        if schedule.record_type in schedules:
            raise ScheduleError(f"record type {schedule.record_type!r} has two retention schedules")
        schedules[schedule.record_type] = schedule
    return schedules


@dataclass(frozen=True)
class RetentionDate:
    """When a record's retention ends, and why.

    ``until`` is the last day it must be kept, or None while the trigger date is not
    known yet; ``at_least`` is a day it is certainly kept through (for a trigger that is
    not given yet: the period counted from filing, the earliest the archive will lock to).
    """

    schedule: Schedule
    until: date | None
    at_least: date
    basis: str

    @property
    def lock_through(self) -> date:
        """The last day write-once storage must protect: the retention date, or the lower bound."""
        return self.until or self.at_least

    def due(self, today: date) -> bool:
        return self.until is not None and today > self.until


def retention_date(schedule: Schedule, filed_on: date, retain_from: date | None) -> RetentionDate:
    """The retention date of a record filed on ``filed_on`` whose trigger date is ``retain_from``."""
    by_filing = add_period(filed_on, schedule.period)
    if schedule.from_filing:
        return RetentionDate(schedule, by_filing, by_filing, f"filed {filed_on.isoformat()} + {schedule.period}")
    if retain_from is None:
        return RetentionDate(
            schedule, None, by_filing,
            f"{schedule.trigger} date not given yet; kept at least until {by_filing.isoformat()} "
            f"({schedule.period} from filing)",
        )
    until = add_period(retain_from, schedule.period)
    return RetentionDate(schedule, until, until, f"{schedule.trigger} {retain_from.isoformat()} + {schedule.period}")


def check_trigger(schedule: Schedule, retain_from: date | None) -> None:
    """A ``--retain-from`` date only makes sense for a schedule counted from a date other than filing,
    and only when the retention date it gives (and the lock through it) is still inside the calendar."""
    if retain_from is None:
        return
    if schedule.from_filing:
        raise ScheduleError(
            f"{schedule.record_type} records are kept {schedule.describe()}; a retention start date does not apply"
        )
    if add_period(retain_from, schedule.period) >= date.max:
        raise ScheduleError(f"{retain_from.isoformat()} plus {schedule.period} is beyond the year {date.max.year}")


def day_after_starts(day: date, zone: ZoneInfo) -> datetime:
    """The UTC moment the day after ``day`` begins in ``zone``: a lock that covers all of ``day``."""
    if day >= date.max:
        raise ScheduleError(f"a lock through {day.isoformat()} is beyond the year {date.max.year}")
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone).astimezone(UTC)


def local_day(moment: datetime, zone: ZoneInfo) -> date:
    """The calendar date of a UTC moment in ``zone``."""
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return aware.astimezone(zone).date()
