"""Compliance status, pure: minutes and reports on time, late or missing; action items past due.

States: ``on_time`` and ``late`` (filed; the first filing counts), ``pending`` (not filed, the
deadline is still ahead), ``overdue`` (not filed, the deadline has passed; for an action item:
open after its due date). Only ``overdue`` makes the status fail: a late filing is reported but is
no longer something to chase.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo

from paperwork.register import MeetingSlot
from schedules.paperwork import Month, is_late, local, minutes_deadline, report_deadline

ON_TIME, LATE, PENDING, OVERDUE = "on_time", "late", "pending", "overdue"


@dataclass(frozen=True)
class Filing:
    record: str
    filed_at: datetime


@dataclass(frozen=True)
class OpenAction:
    id: int
    item: str
    owner: str
    due: date
    record: str


@dataclass(frozen=True)
class Rules:
    minutes_deadline_hours: int
    report_due_day: int
    tz: tzinfo


@dataclass(frozen=True)
class Item:
    """One line of the status: what (``kind``, ``subject``), by when, and how it stands."""

    kind: str
    subject: str
    deadline: datetime
    state: str
    record: str | None = None
    filed_at: datetime | None = None
    owner: str | None = None

    def as_dict(self) -> dict[str, object]:
        return {
            "kind": self.kind, "subject": self.subject, "deadline": self.deadline.isoformat(), "state": self.state,
            "record": self.record, "filed_at": self.filed_at.isoformat() if self.filed_at else None,
            "owner": self.owner,
        }


def filing_state(filings: Sequence[Filing], deadline: datetime, now: datetime) -> tuple[str, Filing | None]:
    """How a deadline stands given its filings: the earliest one decides."""
    if filings:
        first = min(filings, key=lambda f: f.filed_at)
        return (LATE if is_late(first.filed_at, deadline) else ON_TIME), first
    return (OVERDUE if now > deadline else PENDING), None


def _filed(kind: str, subject: str, deadline: datetime, filings: Sequence[Filing], now: datetime) -> Item:
    state, first = filing_state(filings, deadline, now)
    return Item(kind, subject, deadline, state, first.record if first else None, first.filed_at if first else None)


def action_deadline(due: date, tz: tzinfo) -> datetime:
    """An action item is due by the end of its due day."""
    return local(due + timedelta(days=1), time(0), tz) - timedelta(microseconds=1)


@dataclass(frozen=True)
class Status:
    items: tuple[Item, ...]

    @property
    def overdue(self) -> list[Item]:
        return [item for item in self.items if item.state == OVERDUE]

    def summary(self) -> str:
        """One line: what is overdue, then how everything else stands."""
        states = Counter(item.state for item in self.items)
        rest = f"{states[LATE]} filed late, {states[ON_TIME]} on time, {states[PENDING]} not yet due"
        if not self.overdue:
            return f"compliance: nothing overdue ({rest})"
        kinds = Counter(item.kind for item in self.overdue)
        parts = ", ".join(f"{count} {_KIND_NAMES[kind]}" for kind, count in sorted(kinds.items()))
        return f"compliance: {len(self.overdue)} overdue ({parts}); {rest}"


_KIND_NAMES = {"minutes": "minutes missing", "report": "report(s) missing", "action": "action item(s) past due"}


def evaluate(
    meetings: Iterable[MeetingSlot],
    months: Iterable[Month],
    minutes: Mapping[tuple[str, datetime], Sequence[Filing]],
    reports: Mapping[Month, Sequence[Filing]],
    actions: Iterable[OpenAction],
    rules: Rules,
    now: datetime,
) -> Status:
    """The status at ``now`` of every meeting's minutes, every month's report and every open action item.

    ``minutes`` maps a meeting's key (name, UTC start) to the records filed as its minutes,
    ``reports`` a month to its reports; open action items are listed only once past due.
    """
    items = [
        _filed("minutes", slot.label(rules.tz), minutes_deadline(slot.at, rules.minutes_deadline_hours),
               minutes.get(slot.key, ()), now)
        for slot in meetings
    ]
    items += [
        _filed("report", str(month), report_deadline(month, rules.report_due_day, rules.tz), reports.get(month, ()), now)
        for month in months
    ]
    for action in actions:
        deadline = action_deadline(action.due, rules.tz)
        if now > deadline:
            items.append(Item("action", f"#{action.id} {action.item}", deadline, OVERDUE, action.record,
                              owner=action.owner))
    return Status(tuple(items))
