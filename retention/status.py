"""A record's retention as the catalog and today's schedules give it: ``retention show`` and ``retention due``."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from archive.records import find_record
from archive.retention_dates import retention_of, scheduled, today
from archive.service import as_utc
from catalog.schema import Record, RecordState, Version, VersionState
from naming import parse_name
from retention.holds import active_hold, held_names
from retention.rules import DisposalFacts, disposal_refusal, expiring_soon

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from archive.service import Archive

LIVE_VERSIONS = (VersionState.CURRENT, VersionState.ARCHIVED)


@dataclass(frozen=True)
class RetentionView:
    """Why a record is kept until when, and whether it may be disposed of now."""

    name: str
    type: str
    state: str
    filed_at: str
    schedule: str
    retain_from: str | None
    retain_until: str | None
    kept_at_least_until: str
    basis: str
    locked_until: str | None
    held: bool
    due: bool
    disposable: bool
    blocked_by: str | None
    disposed_at: str | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class RecordRow:
    """What retention needs of one record: a catalog row and the latest lock date of its stored versions."""

    name: str
    type: str
    state: str
    created_at: datetime
    retain_from: date | None
    disposed_at: datetime | None
    locked_until: datetime | None

    @classmethod
    def of(cls, record: Record) -> RecordRow:
        locks = [as_utc(v.locked_until) for v in record.versions if v.state in LIVE_VERSIONS and v.locked_until]
        return cls(record.name, record.type, record.state, as_utc(record.created_at), record.retain_from,
                   as_utc(record.disposed_at) if record.disposed_at else None, max(locks) if locks else None)


def facts(archive: Archive, row: RecordRow, held: bool) -> DisposalFacts:
    retention = retention_of(archive.settings, row.type, row.created_at, row.retain_from)
    return DisposalFacts(row.name, row.state, retention, held, row.locked_until)


def view(archive: Archive, row: RecordRow, held: bool, now: datetime) -> RetentionView:
    found = facts(archive, row, held)
    retention = found.retention
    day = today(archive.settings, now)
    refusal = disposal_refusal(found, day, now)
    return RetentionView(
        name=row.name,
        type=row.type,
        state=row.state,
        filed_at=row.created_at.isoformat(),
        schedule=retention.schedule.describe(),
        retain_from=row.retain_from.isoformat() if row.retain_from else None,
        retain_until=retention.until.isoformat() if retention.until else None,
        kept_at_least_until=retention.at_least.isoformat(),
        basis=retention.basis,
        locked_until=found.locked_until.isoformat() if found.locked_until else None,
        held=held,
        due=retention.due(day) and row.state == RecordState.ACTIVE,
        disposable=refusal is None,
        blocked_by=refusal,
        disposed_at=row.disposed_at.isoformat() if row.disposed_at else None,
    )


def show(session: Session, archive: Archive, name_text: str, now: datetime) -> RetentionView:
    record = find_record(session, parse_name(name_text))
    return view(archive, RecordRow.of(record), active_hold(session, record.name) is not None, now)


_ACTIVE_ROWS = (
    select(Record.name, Record.type, Record.state, Record.created_at, Record.retain_from, Record.disposed_at,
           func.max(Version.locked_until))
    .outerjoin(Version, (Version.record_id == Record.id) & Version.state.in_(LIVE_VERSIONS))
    .where(Record.state == RecordState.ACTIVE)
    .group_by(Record.id)
    .order_by(Record.year, Record.type, Record.number)
)


def _active_rows(session: Session, archive: Archive) -> list[RecordRow]:
    """Active records of the types that have a schedule (one without is kept until a schedule is configured).

    One grouped query of plain rows: at 100,000 records, loading ORM objects cost most of the time.
    """
    return [
        RecordRow(name, record_type, state, as_utc(created), retain_from, None, as_utc(locked) if locked else None)
        for name, record_type, state, created, retain_from, _, locked in session.execute(_ACTIVE_ROWS)
        if scheduled(archive.settings, record_type)
    ]


def due(session: Session, archive: Archive, now: datetime) -> list[RetentionView]:
    """Active records past their retention date and not on hold, in name order."""
    held = held_names(session)
    day = today(archive.settings, now)
    return [
        view(archive, row, False, now)
        for row in _active_rows(session, archive)
        if row.name not in held and facts(archive, row, False).retention.due(day)
    ]


def expiring(session: Session, archive: Archive, now: datetime) -> list[RetentionView]:
    """Active records whose retention ends within ``retention.notice_days``."""
    held = held_names(session)
    day = today(archive.settings, now)
    notice = archive.settings.retention.notice_days
    return [
        view(archive, row, row.name in held, now)
        for row in _active_rows(session, archive)
        if expiring_soon(facts(archive, row, False).retention, day, notice)
    ]
