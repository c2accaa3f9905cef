"""Filing new records and new versions.

A filing is three steps: a short catalog transaction that takes the number (or the
next version) and writes a *pending* row; the upload of the encrypted object; a
second short transaction that marks it stored. If the upload fails the number is
kept as a *void* record with the reason (a failed new version is dropped); if the
process dies in between, ``strongroom repair`` finishes or voids the pending row.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import BinaryIO

from sqlalchemy import bindparam, insert, update
from sqlalchemy.exc import IntegrityError as SQLIntegrityError

from archive.fields import COMMENT, FILENAME, TITLE, check_text
from archive.numbers import VOID, Numbered, write_marker
from archive.objects import (
    WrittenObject,
    copy_checked,
    new_nonce,
    read_header,
    write_object,
)
from archive.records import find_record
from archive.retention_dates import check_retain_from
from archive.service import Archive, as_utc, utcnow, writer_id
from catalog.schema import Counter, Record, RecordState, Version, VersionState
from encryption.envelope import EnvelopeError
from errors import Conflict, StrongroomError, UsageError
from naming import (
    InvalidName,
    archive_key,
    current_key,
    format_name,
    parse_name,
    validate_year,
)
from storage.s3 import MissingObject

FORMAT = 1
ALLOCATION_ATTEMPTS = 5


@dataclass(frozen=True)
class Filed:
    name: str
    version: int
    size: int
    sha256: str


def check_type(archive: Archive, record_type: str) -> str:
    types = archive.settings.records.types
    if record_type not in types:
        raise UsageError(f"unknown record type {record_type!r} (configured types: {', '.join(types)})")
    return record_type


def _describe(exc: BaseException) -> str:
    if isinstance(exc, KeyboardInterrupt):
        return "filing interrupted"
    if isinstance(exc, StrongroomError):
        return str(exc)
    return f"{type(exc).__name__}: {str(exc)[:200]}"


def _meta(record: Record, version: Version) -> dict[str, object]:
    return {
        "format": FORMAT,
        "name": record.name,
        "type": record.type,
        "year": record.year,
        "number": record.number,
        "title": record.title,
        "record_created_at": record.created_at.isoformat(),
        "record_created_by": record.created_by,
        "version": version.version,
        "filed_at": version.filed_at.isoformat(),
        "filed_by": version.filed_by,
        "filename": version.filename,
        "comment": version.comment,
        "retain_from": record.retain_from.isoformat() if record.retain_from else None,
    }


_COUNTERS, _RECORDS, _VERSIONS = Counter.__table__, Record.__table__, Version.__table__
# Built once: statements constructed per call cost more than the SQL they run.
_TAKE_NUMBER = (
    update(_COUNTERS)
    .where(_COUNTERS.c.year == bindparam("series_year"), _COUNTERS.c.type == bindparam("series_type"))
    .values(next_number=_COUNTERS.c.next_number + 1)
    .returning(_COUNTERS.c.next_number)
)
_NEW_SERIES = insert(_COUNTERS)
_INSERT_RECORD = insert(_RECORDS).returning(_RECORDS.c.id)
_INSERT_VERSION = insert(_VERSIONS).returning(_VERSIONS.c.id)
_UPDATE_VERSION = update(_VERSIONS).where(_VERSIONS.c.id == bindparam("row_id"))
_UPDATE_RECORD = update(_RECORDS).where(_RECORDS.c.id == bindparam("row_id"))


def _allocate(
    archive: Archive, record_type: str, year: int, title: str | None, actor: str, filename: str | None,
    retain_from: date | None,
) -> tuple[Record, Version]:
    """Take the next number of (year, type) and write the pending record and version rows.

    Plain SQL statements rather than ORM flushes: this transaction holds the write lock
    that every concurrent filing waits for, so it is kept as short as possible. It is not
    flushed to disk on its own: a power failure before the filing completes loses nothing
    the user was told (the completing transaction is durable and flushes this one too).
    """
    now = utcnow()
    locked_until = archive.lock_until(record_type, now, retain_from)
    for attempt in range(ALLOCATION_ATTEMPTS):
        try:
            with archive.catalog.write_unflushed() as session:
                sql = session.connection()
                taken = sql.execute(_TAKE_NUMBER, {"series_year": year, "series_type": record_type}).scalar()
                if taken is None:
                    sql.execute(_NEW_SERIES, {"year": year, "type": record_type, "next_number": 2})
                    taken = 2
                number = taken - 1
                name = format_name(year, number, record_type)
                record = Record(
                    name=name, year=year, type=record_type, number=number, state=RecordState.PENDING,
                    title=title, created_at=now, created_by=actor, void_reason=None, retain_from=retain_from,
                    disposal_id=None, disposed_at=None,
                )
                record.id = sql.execute(_INSERT_RECORD, _columns(record)).scalar_one()
                version = Version(
                    record_id=record.id, version=1, state=VersionState.PENDING, object_key=current_key(parse_name(name)),
                    s3_version_id=None, nonce=new_nonce().hex(), key_id=archive.keyring.primary.id, size=None,
                    stored_size=None, sha256=None, filed_at=now, filed_by=actor, filename=filename, comment=None,
                    archived_at=None, writer=writer_id(), locked_until=locked_until, storage_class=None,
                )
                version.id = sql.execute(_INSERT_VERSION, _columns(version)).scalar_one()
            return record, version
        except SQLIntegrityError:
            if attempt == ALLOCATION_ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")


def _columns(row: Record | Version) -> dict[str, object]:
    """Every column value of a transient ORM object but its id, for a prepared INSERT."""
    return {column.key: getattr(row, column.key) for column in row.__table__.columns if column.key != "id"}


def file_record(
    archive: Archive,
    source: BinaryIO,
    *,
    record_type: str,
    year: int,
    actor: str,
    title: str | None = None,
    filename: str | None = None,
    retain_from: date | None = None,
) -> Filed:
    """File a new record: allocate its name, encrypt and store version 1 (write-once until its retention date).

    ``retain_from`` is the date the type's retention schedule counts from, when that is
    not the filing date (e.g. a contract's end date).
    """
    check_type(archive, record_type)
    try:
        validate_year(year)
    except InvalidName as exc:
        raise UsageError(str(exc)) from None
    title, filename = check_text(TITLE, title), check_text(FILENAME, filename)
    check_retain_from(archive.settings, record_type, retain_from)
    archive.ready_to_write()
    record, version = _allocate(archive, record_type, year, title, actor, filename, retain_from)
    try:
        written = write_object(
            archive, version.object_key, source, bytes.fromhex(version.nonce), _meta(record, version),
            version.locked_until,
        )
    except BaseException as exc:
        void_record(archive, record.id, f"upload failed: {_describe(exc)}")
        raise
    complete_first_version(archive, record.id, version.id, written)
    return Filed(record.name, 1, written.size, written.sha256)


def complete_first_version(archive: Archive, record_id: int, version_id: int, written: WrittenObject) -> None:
    """Mark version 1 stored and the record active; on failure void it and drop the object."""
    try:
        with archive.catalog.write() as session:
            sql = session.connection()
            sql.execute(_UPDATE_VERSION, {"row_id": version_id, **_stored_values(written)})
            sql.execute(_UPDATE_RECORD, {"row_id": record_id, "state": RecordState.ACTIVE})
    except BaseException as exc:
        with archive.catalog.read() as session:
            key = session.get(Version, version_id).object_key  # type: ignore[union-attr]
        _forget_object(archive, written.s3_version_id, key)
        void_record(archive, record_id, f"catalog update failed: {_describe(exc)}")
        raise


def _stored_values(written: WrittenObject) -> dict[str, object]:
    """Column values of a version once its object is stored."""
    return {
        "state": VersionState.CURRENT,
        "s3_version_id": written.s3_version_id,
        "size": written.size,
        "sha256": written.sha256,
        "stored_size": written.stored_size,
        "key_id": written.key_id,
        "writer": None,
        "locked_until": written.locked_until,
    }


def void_record(archive: Archive, record_id: int, reason: str) -> None:
    """Keep a record's number as void, with the reason; its pending version row is dropped.

    The number is then made durable in the bucket by a marker (see ``archive/numbers.py``);
    if storage refuses that too, ``strongroom repair`` writes it later.
    """
    with archive.catalog.write() as session:
        record = session.get(Record, record_id)
        if record is None:
            return
        record.state = RecordState.VOID
        record.void_reason = reason
        for version in list(record.versions):
            if version.state == VersionState.PENDING:
                record.versions.remove(version)
        voided = Numbered.of(record)
    try:
        write_marker(archive, voided, VOID, reason)
    except (StrongroomError, MissingObject):
        pass


def drop_pending_version(archive: Archive, version_id: int) -> None:
    with archive.catalog.write() as session:
        version = session.get(Version, version_id)
        if version is not None and version.state == VersionState.PENDING:
            session.delete(version)


def _forget_object(archive: Archive, s3_version_id: str, key: str) -> None:
    """Best effort removal of an object version nothing refers to."""
    try:
        archive.store.delete_version(key, s3_version_id)
    except (StrongroomError, MissingObject):
        pass


def file_version(
    archive: Archive,
    name_text: str,
    source: BinaryIO,
    *,
    actor: str,
    filename: str | None = None,
    comment: str | None = None,
) -> Filed:
    """Store a new version of a record; the version it supersedes moves to the archive area."""
    name = parse_name(name_text)
    filename, comment = check_text(FILENAME, filename), check_text(COMMENT, comment)
    archive.ready_to_write()
    now = utcnow()
    with archive.catalog.write() as session:
        record = find_record(session, name)
        if record.state != RecordState.ACTIVE:
            raise Conflict(f"{record.name} is {record.state}; it cannot take a new version")
        pending = [v for v in record.versions if v.state == VersionState.PENDING]
        if pending:
            raise Conflict(
                f"a new version of {record.name} is being filed by {pending[0].writer}; "
                "if that process died, run 'strongroom repair'"
            )
        previous = max(record.versions, key=lambda v: v.version)
        version = Version(
            version=previous.version + 1,
            state=VersionState.PENDING,
            object_key=current_key(name),
            nonce=new_nonce().hex(),
            key_id=archive.keyring.primary.id,
            filed_at=now,
            filed_by=actor,
            filename=filename,
            comment=comment,
            writer=writer_id(),
            locked_until=archive.lock_until(record.type, as_utc(record.created_at), record.retain_from),
        )
        record.versions.append(version)
        session.flush()
        meta = _meta(record, version)
        previous_id, version_id, locked_until = previous.id, version.id, version.locked_until
    try:
        archived_id = ensure_archived_copy(archive, previous_id)
        written = write_object(archive, version.object_key, source, bytes.fromhex(version.nonce), meta, locked_until)
    except BaseException:
        drop_pending_version(archive, version_id)
        raise
    complete_new_version(archive, previous_id, version_id, archived_id, written)
    return Filed(str(name), version.version, written.size, written.sha256)


def complete_new_version(
    archive: Archive, previous_id: int, version_id: int, archived_s3_id: str, written: WrittenObject
) -> None:
    """Switch the catalog to the new version, then remove the superseded copy at the current key."""
    try:
        with archive.catalog.write() as session:
            previous = session.get(Version, previous_id)
            version = session.get(Version, version_id)
            assert previous is not None and version is not None
            superseded_key, superseded_s3_id = previous.object_key, previous.s3_version_id
            name = parse_name(version.record.name)
            previous.state = VersionState.ARCHIVED
            previous.object_key = archive_key(name, previous.version)
            previous.s3_version_id = archived_s3_id
            previous.archived_at = utcnow()
            for column, value in _stored_values(written).items():
                setattr(version, column, value)
    except BaseException:
        drop_pending_version(archive, version_id)
        raise
    if superseded_key != previous.object_key and superseded_s3_id:
        _forget_object(archive, superseded_s3_id, superseded_key)


def ensure_archived_copy(archive: Archive, version_id: int) -> str:
    """Make sure the archive area holds this version's object; return its S3 version id.

    A copy left by an earlier, interrupted attempt is recognised by its nonce and reused.
    """
    with archive.catalog.read() as session:
        version = session.get(Version, version_id)
        assert version is not None
        name = parse_name(version.record.name)
        source_key, source_s3_id, nonce = version.object_key, version.s3_version_id, version.nonce
        number, stored_size = version.version, version.stored_size
        locked_until = as_utc(version.locked_until) if version.locked_until else None
    target = archive_key(name, number)
    if source_key == target and source_s3_id:
        return source_s3_id
    store = archive.store
    for existing in store.list_versions(target):
        if existing.key != target or existing.size != stored_size:
            continue
        try:
            if read_header(archive, target, existing.version_id).nonce.hex() == nonce:
                return existing.version_id
        except (EnvelopeError, MissingObject):
            continue
    assert source_s3_id is not None
    return copy_checked(archive, source_key, source_s3_id, target, nonce=nonce, locked_until=locked_until,
                        what=f"archiving {name} v{number}")
