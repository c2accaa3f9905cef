"""A record's retention as the catalog and today's schedules give it: ``retention show`` and ``retention due``."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from archive.records import find_record
from archive.service import as_utc
from catalog.schema import Record, RecordState, VersionState
from naming import parse_name
from retention.dates import retention_of, scheduled, today
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


def facts(archive: Archive, record: Record, held: bool) -> DisposalFacts:
    locks = [as_utc(v.locked_until) for v in record.versions if v.state in LIVE_VERSIONS and v.locked_until]
    retention = retention_of(archive.settings, record.type, as_utc(record.created_at), record.retain_from)
    return DisposalFacts(record.name, record.state, retention, held, max(locks) if locks else None)


def view(archive: Archive, record: Record, held: bool, now: datetime) -> RetentionView:
    found = facts(archive, record, held)
    retention = found.retention
    day = today(archive.settings, now)
    refusal = disposal_refusal(found, day, now)
    return RetentionView(
        name=record.name,
        type=record.type,
        state=record.state,
        filed_at=as_utc(record.created_at).isoformat(),
        schedule=retention.schedule.describe(),
        retain_from=record.retain_from.isoformat() if record.retain_from else None,
        retain_until=retention.until.isoformat() if retention.until else None,
        kept_at_least_until=retention.at_least.isoformat(),
        basis=retention.basis,
        locked_until=found.locked_until.isoformat() if found.locked_until else None,
        held=held,
        due=retention.due(day) and record.state == RecordState.ACTIVE,
        disposable=refusal is None,
        blocked_by=refusal,
        disposed_at=as_utc(record.disposed_at).isoformat() if record.disposed_at else None,
    )


def show(session: Session, archive: Archive, name_text: str, now: datetime) -> RetentionView:
    record = find_record(session, parse_name(name_text))
    return view(archive, record, active_hold(session, record.name) is not None, now)


def _active_records(session: Session, archive: Archive) -> list[Record]:
    """Active records of the types that have a schedule (one without is kept until a schedule is configured)."""
    records = session.scalars(
        select(Record).where(Record.state == RecordState.ACTIVE).options(selectinload(Record.versions))
        .order_by(Record.year, Record.type, Record.number)
    )
    return [record for record in records if scheduled(archive.settings, record.type)]


def due(session: Session, archive: Archive, now: datetime) -> list[RetentionView]:
    """Active records past their retention date and not on hold, in name order."""
    held = held_names(session)
    views = [view(archive, record, False, now) for record in _active_records(session, archive) if record.name not in held]
    return [v for v in views if v.due]


def expiring(session: Session, archive: Archive, now: datetime) -> list[RetentionView]:
    """Active records whose retention ends within ``retention.notice_days``."""
    held = held_names(session)
    day = today(archive.settings, now)
    notice = archive.settings.retention.notice_days
    return [
        view(archive, record, record.name in held, now)
        for record in _active_records(session, archive)
        if expiring_soon(facts(archive, record, False).retention, day, notice)
    ]
