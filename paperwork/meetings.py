"""The meeting register in the catalog: one-off meetings, cancellations, links, action items, status input.

Operator functions on the service host: they read and write the catalog directly. The logic
(which meetings exist, deadlines, states) is in :mod:`paperwork.register`,
:mod:`schedules.paperwork` and :mod:`paperwork.compliance`.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from archive.service import Archive, as_utc, utcnow
from catalog.schema import (
    ActionItem,
    Meeting,
    MeetingState,
    PaperworkLink,
    Record,
    RecordState,
    RegisterStart,
)
from config.settings import Settings
from errors import Conflict, NotFound, UsageError
from paperwork.compliance import Filing, OpenAction, Rules, Status, evaluate
from paperwork.data import Action
from paperwork.register import (
    Entry,
    MeetingSlot,
    find_meeting,
    meeting_of_title,
    meeting_slots,
    month_of_title,
)
from schedules.paperwork import (
    Month,
    Recurrence,
    ScheduleError,
    default_due,
    local,
    parse_day,
    parse_month,
    parse_recurrence,
    report_months,
    zone,
)

MINUTES_TYPE, REPORT_TYPE = "minutes", "report"


def time_zone(settings: Settings) -> ZoneInfo:
    return zone(settings.paperwork.time_zone)


def recurrences(settings: Settings) -> list[Recurrence]:
    return [parse_recurrence(spec) for spec in settings.paperwork.meetings]


def entries(archive: Archive) -> list[Entry]:
    with archive.catalog.read() as session:
        rows = session.scalars(select(Meeting).order_by(Meeting.starts_at)).all()
    return [Entry(row.name, as_utc(row.starts_at), row.place, row.state == MeetingState.CANCELLED) for row in rows]


def resolve(settings: Settings, archive: Archive | None, name: str, when: str) -> MeetingSlot:
    """The meeting ``name`` on ``when``; one-off meetings are known only with the archive (local mode)."""
    try:
        return find_meeting(recurrences(settings), entries(archive) if archive else [], name, when,
                            time_zone(settings))
    except ScheduleError as exc:
        raise UsageError(str(exc)) from None


def tracking_start(archive: Archive) -> datetime:
    """From when recurring meetings and monthly reports count: ``paperwork.track_from``, else the register's start."""
    paperwork = archive.settings.paperwork
    if paperwork.track_from:
        return local(parse_day(paperwork.track_from), time(0), time_zone(archive.settings))
    with archive.catalog.read() as session:
        started = session.get(RegisterStart, 1)
    return as_utc(started.started_at) if started else utcnow()


def slots(archive: Archive, start: datetime, end: datetime) -> list[MeetingSlot]:
    settings = archive.settings
    return meeting_slots(recurrences(settings), entries(archive), start, end, time_zone(settings))


def add_meeting(archive: Archive, name: str, at: datetime, place: str | None, by: str) -> MeetingSlot:
    """Put a one-off meeting in the register."""
    if any(slot.name == name for slot in slots(archive, at, at + timedelta(seconds=1))):
        raise UsageError(f"{name} at {at:%Y-%m-%d %H:%M} is already in the register")
    try:
        with archive.catalog.write() as session:
            session.add(Meeting(name=name, starts_at=at.astimezone(UTC), place=place, state=MeetingState.SCHEDULED,
                                created_at=utcnow(), created_by=by))
    except IntegrityError:
        raise UsageError(f"{name} at {at:%Y-%m-%d %H:%M} is already in the register (cancelled)") from None
    return MeetingSlot(name, at, place)


def cancel_meeting(archive: Archive, name: str, when: str, by: str) -> MeetingSlot:
    """Record that a meeting did not take place: it needs no minutes."""
    slot = resolve(archive.settings, archive, name, when)
    with archive.catalog.write() as session:
        at = slot.at.astimezone(UTC)
        row = session.scalar(select(Meeting).where(Meeting.name == name, Meeting.starts_at == at))
        if row is None:
            session.add(Meeting(name=name, starts_at=at, place=None, state=MeetingState.CANCELLED,
                                created_at=utcnow(), created_by=by))
        else:
            row.state = MeetingState.CANCELLED
    return slot


def _check_record(session: Session, record_name: str, record_type: str) -> None:
    record = session.scalar(select(Record).where(Record.name == record_name))
    if record is None or record.state != RecordState.ACTIVE:
        raise NotFound(f"no filed record named {record_name}")
    if record.type != record_type:
        raise UsageError(f"{record_name} is a {record.type} record, not {record_type}")
    if session.scalar(select(PaperworkLink).where(PaperworkLink.record_name == record_name)) is not None:
        raise UsageError(f"{record_name} is already linked")


def link(
    archive: Archive, record_name: str, *, by: str, meeting: MeetingSlot | None = None, month: Month | None = None,
    actions: list[Action] | None = None, action_base: date | None = None,
) -> None:
    """Link filed minutes to their meeting (or a report to its month), with the document's action items.

    Action items without a due date get ``action_base + paperwork.action_due_days``.
    """
    days = archive.settings.paperwork.action_due_days
    meeting_name, meeting_at = (meeting.name, meeting.at.astimezone(UTC)) if meeting else (None, None)
    with archive.catalog.write() as session:
        _check_record(session, record_name, MINUTES_TYPE if meeting else REPORT_TYPE)
        session.add(PaperworkLink(
            record_name=record_name, meeting_name=meeting_name, meeting_at=meeting_at,
            month=str(month) if month else None, linked_at=utcnow(), linked_by=by,
        ))
        for action in actions or []:
            session.add(ActionItem(
                record_name=record_name, meeting_name=meeting_name, meeting_at=meeting_at, item=action.item,
                owner=action.owner, due=action.due or default_due(action_base or utcnow().date(), days),
            ))


@dataclass(frozen=True)
class ActionView:
    id: int
    item: str
    owner: str
    due: date
    record: str
    meeting: str | None
    meeting_at: str | None
    done_at: str | None
    done_by: str | None
    note: str | None

    def as_dict(self) -> dict[str, object]:
        return {**self.__dict__, "due": self.due.isoformat()}


def _view(row: ActionItem) -> ActionView:
    return ActionView(
        id=row.id, item=row.item, owner=row.owner, due=row.due, record=row.record_name, meeting=row.meeting_name,
        meeting_at=as_utc(row.meeting_at).isoformat() if row.meeting_at else None,
        done_at=as_utc(row.done_at).isoformat() if row.done_at else None, done_by=row.done_by, note=row.note,
    )


def list_actions(archive: Archive, *, open_only: bool, meeting: str | None = None,
                 before: datetime | None = None) -> list[ActionView]:
    """Action items by due date; ``meeting``/``before``: those of that meeting's earlier occurrences."""
    query = select(ActionItem).order_by(ActionItem.due, ActionItem.id)
    if open_only:
        query = query.where(ActionItem.done_at.is_(None))
    if meeting is not None:
        query = query.where(ActionItem.meeting_name == meeting)
    if before is not None:
        query = query.where(ActionItem.meeting_at < before.astimezone(UTC))
    with archive.catalog.read() as session:
        return [_view(row) for row in session.scalars(query)]


def close_action(archive: Archive, action_id: int, by: str, note: str | None) -> ActionView:
    with archive.catalog.write() as session:
        row = session.get(ActionItem, action_id)
        if row is None:
            raise NotFound(f"no action item #{action_id}")
        if row.done_at is not None:
            raise Conflict(f"action item #{action_id} was already marked done by {row.done_by}")
        row.done_at, row.done_by, row.note = utcnow(), by, note
        return _view(row)


def _filings(session: Session) -> tuple[dict[tuple[str, datetime], list[Filing]], dict[Month, list[Filing]]]:
    """Filed minutes by meeting and reports by month: linked ones, and unlinked ones with a canonical title."""
    links = {row.record_name: row for row in session.scalars(select(PaperworkLink))}
    minutes: dict[tuple[str, datetime], list[Filing]] = defaultdict(list)
    reports: dict[Month, list[Filing]] = defaultdict(list)
    records = session.execute(
        select(Record.name, Record.type, Record.title, Record.created_at)
        .where(Record.state == RecordState.ACTIVE, Record.type.in_((MINUTES_TYPE, REPORT_TYPE)))
    )
    for name, record_type, title, created_at in records:
        filing, linked = Filing(name, as_utc(created_at)), links.get(name)
        if record_type == MINUTES_TYPE:
            key = _meeting_key(linked) if linked else meeting_of_title(title)
            if key is not None:
                minutes[key].append(filing)
        else:
            month = (parse_month(linked.month) if linked.month else None) if linked else month_of_title(title)
            if month is not None:
                reports[month].append(filing)
    return minutes, reports


def _meeting_key(linked: PaperworkLink) -> tuple[str, datetime] | None:
    if linked.meeting_name is None or linked.meeting_at is None:
        return None
    return linked.meeting_name, as_utc(linked.meeting_at)


def minutes_records(archive: Archive) -> dict[tuple[str, datetime], str]:
    """The first record filed as the minutes of each meeting, by meeting key."""
    with archive.catalog.read() as session:
        minutes, _ = _filings(session)
    return {key: min(filings, key=lambda f: f.filed_at).record for key, filings in minutes.items()}


def compliance_status(archive: Archive, now: datetime) -> Status:
    """Every tracked meeting and month up to ``now``, and every open action item, against its deadline."""
    settings, tz = archive.settings, time_zone(archive.settings)
    start, rules, register = tracking_start(archive), recurrences(settings), entries(archive)
    earliest = min([start, *(e.at for e in register)])
    meetings = meeting_slots([], register, earliest, start, tz) + meeting_slots(rules, register, start, now, tz)
    months = report_months(start, now, settings.paperwork.report_due_day, tz)
    with archive.catalog.read() as session:
        minutes, reports = _filings(session)
    actions = [
        OpenAction(a.id, a.item, a.owner, a.due, a.record) for a in list_actions(archive, open_only=True)
    ]
    deadlines = Rules(settings.paperwork.minutes_deadline_hours, settings.paperwork.report_due_day, tz)
    return evaluate(meetings, months, minutes, reports, actions, deadlines, now)
