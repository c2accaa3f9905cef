"""The meeting register's logic, pure: which meetings there are, finding one, canonical record titles.

Meetings are the configured recurring ones plus one-off entries; an entry can also cancel a
meeting (a recurring occurrence or a one-off). A meeting is known by its name and start time.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from schedules.paperwork import (
    Month,
    Recurrence,
    ScheduleError,
    local,
    occurrences,
    parse_moment,
)


@dataclass(frozen=True)
class Entry:
    """A row of the register: a one-off meeting, or (``cancelled``) a meeting that did not take place."""

    name: str
    at: datetime
    place: str | None = None
    cancelled: bool = False


@dataclass(frozen=True)
class MeetingSlot:
    name: str
    at: datetime
    place: str | None = None
    recurring: bool = False

    @property
    def key(self) -> tuple[str, datetime]:
        return self.name, self.at.astimezone(UTC)

    def label(self, tz: tzinfo) -> str:
        return f"{self.name} {self.at.astimezone(tz):%Y-%m-%d %H:%M}"


def meeting_slots(
    rules: Iterable[Recurrence], entries: Iterable[Entry], start: datetime, end: datetime, tz: tzinfo
) -> list[MeetingSlot]:
    """Meetings starting in ``[start, end)``: recurring occurrences and one-off meetings, less cancellations."""
    entries = list(entries)
    cancelled = {(e.name, e.at.astimezone(UTC)) for e in entries if e.cancelled}
    found: dict[tuple[str, datetime], MeetingSlot] = {}
    for rule in rules:
        for moment in occurrences(rule, start, end, tz):
            slot = MeetingSlot(rule.name, moment, recurring=True)
            found[slot.key] = slot
    for entry in entries:
        if not entry.cancelled and start <= entry.at < end:
            slot = MeetingSlot(entry.name, entry.at.astimezone(tz), entry.place)
            found[slot.key] = slot
    return sorted((s for key, s in found.items() if key not in cancelled), key=lambda s: (s.at, s.name))


def find_meeting(
    rules: list[Recurrence], entries: list[Entry], name: str, when: str, tz: tzinfo
) -> MeetingSlot:
    """The meeting ``name`` on ``when`` (``YYYY-MM-DD``, or with ``HH:MM`` when it meets twice that day)."""
    known = {rule.name for rule in rules} | {e.name for e in entries if not e.cancelled}
    if name not in known:
        listed = ", ".join(sorted(known)) or "none"
        raise ScheduleError(f"unknown meeting {name!r} (known: {listed}; one-off meetings: 'meeting add')")
    moment: datetime | None = None
    if len(when.strip()) <= 10:
        try:
            day = date.fromisoformat(when.strip())
        except ValueError:
            raise ScheduleError(f"invalid date {when!r} (YYYY-MM-DD or YYYY-MM-DD HH:MM)") from None
    else:
        moment = parse_moment(when, tz)
        day = moment.date()
    start = local(day, time(0), tz)
    candidates = [
        slot for slot in meeting_slots(rules, entries, start, local(day + timedelta(days=1), time(0), tz), tz)
        if slot.name == name and (moment is None or slot.at == moment)
    ]
    if not candidates:
        rule = next((r for r in rules if r.name == name), None)
        meets = f" ({name} meets {rule.describe()})" if rule else ""
        at = f"{moment:%Y-%m-%d %H:%M}" if moment else day.isoformat()
        raise ScheduleError(f"no {name} meeting at {at}{meets}")
    if len(candidates) > 1:
        times = ", ".join(f"{slot.at:%H:%M}" for slot in candidates)
        raise ScheduleError(f"{name} meets more than once on {day} ({times}): give the time too")
    return candidates[0]


_MINUTES_TITLE = re.compile(r"^Minutes: (?P<name>.+) (?P<at>\d{4}-\d{2}-\d{2} \d{2}:\d{2} [+-]\d{4})$")
_REPORT_TITLE = re.compile(r"^Monthly customer report (?P<month>\d{4}-\d{2})$")


def minutes_title(slot: MeetingSlot) -> str:
    """The title ``template minutes --file`` gives a record; it names the meeting, so it can be matched later."""
    return f"Minutes: {slot.name} {slot.at:%Y-%m-%d %H:%M %z}"


def report_title(month: Month) -> str:
    return f"Monthly customer report {month}"


def meeting_of_title(title: str | None) -> tuple[str, datetime] | None:
    """The (name, UTC start) a canonical minutes title names, else None."""
    match = _MINUTES_TITLE.match(title or "")
    if match is None:
        return None
    try:
        moment = datetime.strptime(match["at"], "%Y-%m-%d %H:%M %z")
    except ValueError:
        return None
    return match["name"], moment.astimezone(UTC)


def month_of_title(title: str | None) -> Month | None:
    match = _REPORT_TITLE.match(title or "")
    if match is None or not 1 <= int(match["month"][5:]) <= 12:
        return None
    return Month(int(match["month"][:4]), int(match["month"][5:]))
