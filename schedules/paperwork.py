"""Deadline arithmetic, pure: recurring meetings, minutes and report deadlines, months, local times.

Every moment is a timezone-aware ``datetime``. Wall-clock values (a meeting "Fridays 15:00", a
report "due on the 5th") are read in the configured zone; spans of hours (the minutes deadline)
are real elapsed time, counted in UTC, so a daylight-saving change never stretches them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
FREQUENCIES = {"weekly": 0, "monthly": 1, "quarterly": 3}
MAX_NAME = 64
_SPEC = re.compile(
    r"^(?P<name>[^=]+?)\s*=\s*(?P<freq>weekly|monthly|quarterly)\s+"
    r"(?:(?P<nth>[1-4]|last)\s+)?(?P<day>[a-z]{3})\s+(?P<at>\d{1,2}:\d{2})$",
    re.IGNORECASE,
)


class ScheduleError(ValueError):
    """A meeting rule, date, time, month or zone that cannot be understood; the message says why."""


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ScheduleError(f"unknown time zone {name!r}") from None


def check_meeting_name(name: str) -> str:
    """A meeting name as typed on the command line: 1-64 characters, no '=', no control characters."""
    name = name.strip()
    if not name or len(name) > MAX_NAME or "=" in name or any(not ch.isprintable() for ch in name):
        raise ScheduleError(f"invalid meeting name {name!r} (1-{MAX_NAME} printable characters, no '=')")
    return name


@dataclass(frozen=True)
class Recurrence:
    """A recurring meeting: every week on ``weekday``, or the ``nth`` weekday (-1: last) of every 1 or 3 months."""

    name: str
    frequency: str
    weekday: int
    at: time
    nth: int | None = None

    def describe(self) -> str:
        day = WEEKDAYS[self.weekday]
        if self.frequency == "weekly":
            return f"weekly {day} {self.at:%H:%M}"
        return f"{self.frequency} {'last' if self.nth == -1 else self.nth} {day} {self.at:%H:%M}"


def parse_recurrence(spec: str) -> Recurrence:
    """``NAME = weekly DAY HH:MM`` or ``NAME = monthly|quarterly NTH DAY HH:MM`` (NTH 1-4 or ``last``).

    Quarterly meetings fall in January, April, July and October.
    """
    match = _SPEC.match(spec.strip())
    if match is None:
        raise ScheduleError(
            f"meeting rule {spec!r} is not 'NAME = weekly DAY HH:MM' or 'NAME = monthly|quarterly NTH DAY HH:MM'"
        )
    day, frequency, nth = match["day"].lower(), match["freq"].lower(), match["nth"]
    if day not in WEEKDAYS:
        raise ScheduleError(f"meeting rule {spec!r}: day must be one of {', '.join(WEEKDAYS)}")
    if (frequency == "weekly") != (nth is None):
        raise ScheduleError(f"meeting rule {spec!r}: NTH goes with monthly and quarterly meetings only")
    return Recurrence(
        name=check_meeting_name(match["name"]),
        frequency=frequency,
        weekday=WEEKDAYS.index(day),
        at=parse_clock(match["at"]),
        nth=None if nth is None else (-1 if nth.lower() == "last" else int(nth)),
    )


def parse_clock(text: str) -> time:
    try:
        hours, minutes = (int(part) for part in text.split(":"))
        return time(hours, minutes)
    except ValueError:
        raise ScheduleError(f"invalid time of day {text!r} (HH:MM)") from None


def local(day: date, at: time, tz: tzinfo) -> datetime:
    """The moment a wall-clock time happens on ``day``; a time skipped by a DST change moves forward."""
    return datetime.combine(day, at, tzinfo=tz).astimezone(UTC).astimezone(tz)


def exists_locally(moment: datetime) -> bool:
    """False for a wall-clock time that a daylight-saving change skips in the moment's zone."""
    return moment.astimezone(UTC).astimezone(moment.tzinfo).replace(tzinfo=None) == moment.replace(tzinfo=None)


@dataclass(frozen=True, order=True)
class Month:
    year: int
    month: int

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    def shift(self, months: int) -> Month:
        index = self.year * 12 + self.month - 1 + months
        return Month(index // 12, index % 12 + 1)

    def first_day(self) -> date:
        return date(self.year, self.month, 1)

    def last_day(self) -> date:
        return self.shift(1).first_day() - timedelta(days=1)

    @classmethod
    def of(cls, day: date) -> Month:
        return cls(day.year, day.month)


def parse_month(text: str) -> Month:
    match = re.fullmatch(r"(\d{4})-(\d{2})", text.strip())
    if match is None or not 1 <= int(match[2]) <= 12 or int(match[1]) < 1900:
        raise ScheduleError(f"invalid month {text!r} (YYYY-MM, e.g. 2026-11)")
    return Month(int(match[1]), int(match[2]))


def parse_day(text: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise ScheduleError(f"invalid date {text!r} (YYYY-MM-DD)") from None


def parse_moment(text: str, tz: tzinfo) -> datetime:
    """``YYYY-MM-DD HH:MM`` (or ISO 8601, with or without an offset); without an offset it is local to ``tz``."""
    text = text.strip()
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ScheduleError(f"invalid date and time {text!r} (YYYY-MM-DD HH:MM)") from None
    if len(text) <= 10:
        raise ScheduleError(f"{text!r} has no time of day (YYYY-MM-DD HH:MM)")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=tz)
        if not exists_locally(moment):
            raise ScheduleError(f"{text} does not exist in {tz} (skipped by a daylight-saving change)")
    return moment.astimezone(tz)


def _nth_weekday(month: Month, weekday: int, nth: int) -> date:
    if nth == -1:
        last = month.last_day()
        return last - timedelta(days=(last.weekday() - weekday) % 7)
    first = month.first_day()
    return first + timedelta(days=(weekday - first.weekday()) % 7 + 7 * (nth - 1))


def meeting_days(rule: Recurrence, start: date, end: date) -> list[date]:
    """The days ``rule`` meets on, from ``start`` to ``end`` inclusive."""
    if rule.frequency == "weekly":
        day = start + timedelta(days=(rule.weekday - start.weekday()) % 7)
        days = []
        while day <= end:
            days.append(day)
            day += timedelta(days=7)
        return days
    step, nth = FREQUENCIES[rule.frequency], rule.nth or 1
    month = Month.of(start)
    while (month.month - 1) % step:
        month = month.shift(1)
    days = []
    while month.first_day() <= end:
        day = _nth_weekday(month, rule.weekday, nth)
        if start <= day <= end:
            days.append(day)
        month = month.shift(step)
    return days


def occurrences(rule: Recurrence, start: datetime, end: datetime, tz: tzinfo) -> list[datetime]:
    """The meetings of ``rule`` that start in ``[start, end)``, as moments in ``tz``."""
    days = meeting_days(rule, start.astimezone(tz).date(), end.astimezone(tz).date())
    return [moment for moment in (local(day, rule.at, tz) for day in days) if start <= moment < end]


def minutes_deadline(meeting_at: datetime, hours: int) -> datetime:
    """The last moment minutes are on time: ``hours`` of real time after the meeting starts."""
    return (meeting_at.astimezone(UTC) + timedelta(hours=hours)).astimezone(meeting_at.tzinfo)


def report_deadline(month: Month, due_day: int, tz: tzinfo) -> datetime:
    """The last moment a month's report is on time: the end of day ``due_day`` of the next month, in ``tz``."""
    due = month.shift(1).first_day().replace(day=due_day)
    return local(due + timedelta(days=1), time(0), tz) - timedelta(microseconds=1)


def is_late(filed_at: datetime, deadline: datetime) -> bool:
    return filed_at > deadline


def default_due(base: date, days: int) -> date:
    """An action item's due date when none is given: ``days`` after the meeting (or report) date."""
    return base + timedelta(days=days)


def report_months(track_from: datetime, now: datetime, due_day: int, tz: tzinfo) -> list[Month]:
    """The months whose report is expected: the month is over by ``now`` and its deadline is after ``track_from``."""
    month = Month.of(track_from.astimezone(tz).date()).shift(-1)
    last = Month.of(now.astimezone(tz).date()).shift(-1)
    months = []
    while month <= last:
        if report_deadline(month, due_day, tz) > track_from:
            months.append(month)
        month = month.shift(1)
    return months
