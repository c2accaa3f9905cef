"""Looking records and versions up in the catalog, and describing them for output."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from archive.service import as_utc
from catalog.schema import Record, RecordState, Version, VersionState
from errors import NotFound
from naming import RecordName, parse_name


def find_record(session: Session, name: RecordName) -> Record:
    record = session.scalar(
        select(Record).where(Record.name == str(name)).options(selectinload(Record.versions))
    )
    if record is None:
        raise NotFound(f"no record named {name}")
    return record


def find_version(record: Record, version: int | None) -> Version:
    """The requested version (default: the current one) among the record's stored versions."""
    stored = [v for v in record.versions if v.state in (VersionState.CURRENT, VersionState.ARCHIVED)]
    if record.state == RecordState.VOID:
        raise NotFound(f"{record.name} is void: {record.void_reason or 'no reason recorded'}")
    if record.state == RecordState.DISPOSED:
        raise NotFound(f"{record.name} was disposed of on {as_utc(record.disposed_at).date().isoformat()} "  # type: ignore[arg-type]
                       f"(disposal request {record.disposal_id}); see 'strongroom retention certificate'")
    if record.state == RecordState.DISPOSING:
        raise NotFound(f"{record.name} is being disposed of (disposal request approved)")
    if not stored:
        raise NotFound(f"{record.name} has no stored version yet (filing in progress)")
    if version is None:
        return max(stored, key=lambda v: v.version)
    for candidate in stored:
        if candidate.version == version:
            return candidate
    raise NotFound(f"{record.name} has no version {version} (versions 1-{max(v.version for v in stored)})")


def lookup(session: Session, name_text: str, version: int | None = None) -> tuple[Record, Version]:
    record = find_record(session, parse_name(name_text))
    return record, find_version(record, version)


@dataclass(frozen=True)
class VersionView:
    version: int
    state: str
    filed_at: str
    filed_by: str
    size: int | None
    sha256: str | None
    filename: str | None
    comment: str | None
    archived_at: str | None


@dataclass(frozen=True)
class RecordView:
    name: str
    type: str
    year: int
    number: int
    state: str
    title: str | None
    created_at: str
    created_by: str
    current_version: int | None
    versions: int
    size: int | None
    void_reason: str | None

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def version_view(version: Version) -> VersionView:
    return VersionView(
        version=version.version,
        state=version.state,
        filed_at=as_utc(version.filed_at).isoformat(),
        filed_by=version.filed_by,
        size=version.size,
        sha256=version.sha256,
        filename=version.filename,
        comment=version.comment,
        archived_at=as_utc(version.archived_at).isoformat() if version.archived_at else None,
    )


def record_view(record: Record) -> RecordView:
    stored = [v for v in record.versions if v.state in (VersionState.CURRENT, VersionState.ARCHIVED)]
    current = max(stored, key=lambda v: v.version) if stored else None
    return RecordView(
        name=record.name,
        type=record.type,
        year=record.year,
        number=record.number,
        state=record.state,
        title=record.title,
        created_at=as_utc(record.created_at).isoformat(),
        created_by=record.created_by,
        current_version=current.version if current else None,
        versions=len(stored),
        size=current.size if current else None,
        void_reason=record.void_reason,
    )


def describe(session: Session, name_text: str) -> tuple[RecordView, list[VersionView]]:
    """A record and its stored versions (pending ones left out), for display."""
    record = find_record(session, parse_name(name_text))
    history = [version_view(v) for v in record.versions if v.state != VersionState.PENDING]
    return record_view(record), history


def list_records(
    session: Session, *, record_type: str | None = None, year: int | None = None, include_all: bool = False
) -> list[RecordView]:
    query = select(Record).options(selectinload(Record.versions)).order_by(Record.year, Record.type, Record.number)
    if record_type is not None:
        query = query.where(Record.type == record_type)
    if year is not None:
        query = query.where(Record.year == year)
    if not include_all:
        query = query.where(Record.state == RecordState.ACTIVE)
    return [record_view(record) for record in session.scalars(query)]
