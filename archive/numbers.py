"""Numbers that outlive their content: a sealed marker for every void or disposed record.

A record's number is kept in the bucket by the record's own objects. A number that ends
without one — a filing voided because its upload failed or its writer died, or a record
disposed of — gets a *number marker* at ``numbers/YEAR-NUMBER-TYPE``: an object in the
archive's own format (encrypted with the primary key, so it authenticates like a record),
with no data frames, whose sealed metadata names the record and says what became of it,
when and why. It is written once, under Object Lock until the retention date the record
has (void numbers) where the bucket has Object Lock, like a record version.

``catalog rebuild`` recreates void and disposed records from the markers, so each number
series continues after the highest number ever allocated and no name is issued twice.
Writing the marker of a voided filing is best effort (the storage may be what failed);
``strongroom repair`` writes every marker the catalog says is missing. Key rotation
re-encrypts markers like record versions, and a key still sealing a marker is not retired.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import select

from archive.objects import OpenedObject, iter_plaintext, new_nonce, open_object, still_locked, write_object
from archive.service import Archive, as_utc, utcnow
from catalog.schema import Record, RecordState
from encryption.envelope import ENVELOPE_FIELDS, EnvelopeError
from errors import KeyMissing, ObjectUnreadable
from naming import NUMBERS_PREFIX, InvalidName, RecordName, number_key, parse_name, parse_object_key
from storage.s3 import MissingObject, StoredVersion

FORMAT = 1
VOID = "void"
DISPOSED = "disposed"
KINDS = (VOID, DISPOSED)
STATE_OF_KIND = {VOID: RecordState.VOID, DISPOSED: RecordState.DISPOSED}
UNREADABLE_VOID = "catalog rebuild could not read any object of it"
"""How a void reason begins when ``catalog rebuild`` kept a number for objects it could not read."""


class NotAMarker(ValueError):
    """An authentic object that is not the number marker its key says it is."""


@dataclass(frozen=True)
class Numbered:
    """The facts of a record a marker needs (taken from its catalog row)."""

    name: str
    type: str
    year: int
    number: int
    created_at: datetime
    created_by: str
    retain_from: date | None

    @classmethod
    def of(cls, record: Record) -> Numbered:
        return cls(record.name, record.type, record.year, record.number, as_utc(record.created_at),
                   record.created_by, record.retain_from)


@dataclass(frozen=True)
class NumberMarker:
    """What an authentic marker says, and which stored version (and key) says it."""

    name: str
    kind: str
    at: datetime
    reason: str
    created_at: datetime
    created_by: str
    s3_version_id: str
    key_id: str
    sealed: dict[str, object] = field(repr=False, compare=False)

    @property
    def state(self) -> str:
        """The record state the marker stands for."""
        return STATE_OF_KIND[self.kind]


def write_marker(archive: Archive, record: Numbered, kind: str, reason: str) -> None:
    """Store a marker of ``record`` (write-once where the bucket locks versions)."""
    meta: dict[str, object] = {
        "format": FORMAT,
        "kind": kind,
        "name": record.name,
        "type": record.type,
        "year": record.year,
        "number": record.number,
        "record_created_at": record.created_at.isoformat(),
        "record_created_by": record.created_by,
        "at": utcnow().isoformat(),
        "reason": reason,
    }
    until = archive.lock_until(record.type, record.created_at, record.retain_from)
    key = number_key(parse_name(record.name))
    write_object(archive, key, io.BytesIO(b""), new_nonce(), meta, until)


def ensure_marker(archive: Archive, record: Numbered, kind: str, reason: str) -> bool:
    """Write a marker unless an authentic one of this kind is there; True if one was written."""
    found = find_marker(archive, record.name)
    if found is not None and found.kind == kind:
        return False
    write_marker(archive, record, kind, reason)
    return True


def scan_markers(archive: Archive) -> tuple[list[NumberMarker], list[tuple[str, ObjectUnreadable]]]:
    """The newest authentic marker of every record that has one, and the records that have none but one unreadable.

    For those, the storage could not deliver a version under ``numbers/NAME``: which key seals
    it, or what it says, cannot be known until it reads again or ``repair`` writes it anew.
    """
    markers = []
    unreadable = []
    for name in sorted(_names_with_markers(archive.store.list_versions(NUMBERS_PREFIX))):
        found = look_for_marker(archive, name)
        if found.marker is not None:
            markers.append(found.marker)
        elif found.unreadable:
            unreadable.append((name, found.unreadable[0]))
    return markers, unreadable


def rewrite_marker(archive: Archive, marker: NumberMarker) -> None:
    """Re-encrypt a marker with the primary key (key rotation): the same sealed metadata and lock date.

    The old version is deleted where Object Lock allows; otherwise it stays until its date.
    """
    key = number_key(parse_name(marker.name))
    retained = archive.store.read_object(key, marker.s3_version_id).retain_until
    write_object(archive, key, io.BytesIO(b""), new_nonce(), marker.sealed, still_locked(retained))
    try:
        archive.store.delete_unless_retained(key, marker.s3_version_id)
    except MissingObject:
        pass


def find_marker(archive: Archive, name: str) -> NumberMarker | None:
    """The newest authentic marker of a record, if any (forged, foreign and unreadable versions are passed over)."""
    return look_for_marker(archive, name).marker


@dataclass(frozen=True)
class MarkerSearch:
    """The newest authentic marker under a record's marker key, and the versions there the storage could not deliver."""

    marker: NumberMarker | None
    unreadable: list[ObjectUnreadable]


def look_for_marker(archive: Archive, name: str) -> MarkerSearch:
    """Open the versions under ``numbers/NAME``, newest first, until one is the record's authentic marker."""
    key = number_key(parse_name(name))
    stored = [v for v in archive.store.list_versions(key) if v.key == key]
    unreadable = []
    for version in sorted(stored, key=lambda v: v.last_modified or datetime.min, reverse=True):
        try:
            return MarkerSearch(open_marker(archive, version), unreadable)
        except ObjectUnreadable as exc:
            unreadable.append(exc)
        except (EnvelopeError, KeyMissing, MissingObject, InvalidName, NotAMarker):
            continue
    return MarkerSearch(None, unreadable)


def open_marker(archive: Archive, stored: StoredVersion) -> NumberMarker:
    """Authenticate one stored version under ``numbers/`` and read it; it must name the record of its key.

    Raises :class:`EnvelopeError` (not authentic), :class:`KeyMissing`, :class:`MissingObject`,
    :class:`InvalidName` (not a marker key) or :class:`NotAMarker` (authentic, but not this record's marker).
    """
    parsed = parse_object_key(stored.key)
    if parsed.area != "numbers":
        raise InvalidName(f"not a number marker key: {stored.key!r}")
    opened = open_object(archive, stored.key, stored.version_id, stored.size)
    for _ in iter_plaintext(archive, opened):
        pass
    return marker_of(opened, parsed.name)


def marker_of(opened: OpenedObject, name: RecordName) -> NumberMarker:
    """The marker an authenticated object holds, if it is a marker naming ``name``."""
    meta = opened.meta
    if meta.get("kind") not in KINDS or not names(meta, name):
        raise NotAMarker(f"not the number marker of {name}")
    try:
        return NumberMarker(
            name=str(name),
            kind=str(meta["kind"]),
            at=datetime.fromisoformat(str(meta["at"])),
            reason=str(meta["reason"]),
            created_at=datetime.fromisoformat(str(meta["record_created_at"])),
            created_by=str(meta["record_created_by"]),
            s3_version_id=opened.s3_version_id,
            key_id=opened.header.key_id,
            sealed={k: v for k, v in meta.items() if k not in ENVELOPE_FIELDS},
        )
    except (KeyError, ValueError):
        raise NotAMarker(f"the number marker of {name} is incomplete") from None


def names(meta: dict[str, object], name: RecordName) -> bool:
    """Whether sealed metadata names exactly this record (name, type, year and number agree)."""
    return (
        meta.get("name") == str(name) and meta.get("type") == name.type
        and meta.get("year") == name.year and meta.get("number") == name.number
    )


def marker_kind(state: str, void_reason: str | None) -> str | None:
    """The marker a record in this state must have in the bucket: void, disposed, or none.

    Active, pending and disposing records need none (a disposing record's marker is being
    written); nor does a number ``catalog rebuild`` kept as void because it could not read the
    record's objects (:data:`UNREADABLE_VOID`): those objects keep the number in the bucket,
    and a void marker would make every later rebuild void the record, even once they read again.
    """
    if state == RecordState.DISPOSED:
        return DISPOSED
    if state == RecordState.VOID and not (void_reason or "").startswith(UNREADABLE_VOID):
        return VOID
    return None


def missing_markers(archive: Archive) -> list[tuple[Numbered, str, str]]:
    """Void and disposed records whose marker is not in the bucket (or cannot be read): (record, kind, reason)."""
    with archive.catalog.read() as session:
        rows = session.scalars(
            select(Record).where(Record.state.in_([RecordState.VOID, RecordState.DISPOSED])).order_by(Record.id)
        ).all()
        wanted = [(Numbered.of(r), kind, _reason(r)) for r in rows
                  if (kind := marker_kind(r.state, r.void_reason)) is not None]
    if not wanted:
        return []
    present = _names_with_markers(archive.store.list_versions(NUMBERS_PREFIX))
    missing = []
    for record, kind, reason in wanted:
        if record.name in present:
            found = find_marker(archive, record.name)
            if found is not None and found.kind == kind:
                continue
        missing.append((record, kind, reason))
    return missing


def disposal_reason(request_id: int | None) -> str:
    """A disposed record's marker reason."""
    return f"disposed of (disposal request {request_id})" if request_id else "disposed of"


def _reason(record: Record) -> str:
    if record.state == RecordState.VOID:
        return record.void_reason or "void"
    return disposal_reason(record.disposal_id)


def _names_with_markers(stored: Iterable[StoredVersion]) -> set[str]:
    """The record names under ``numbers/`` (keys that are not a valid name are left to rebuild's report)."""
    names_found = set()
    for version in stored:
        try:
            parsed = parse_object_key(version.key)
        except InvalidName:
            continue
        if parsed.area == "numbers":
            names_found.add(str(parsed.name))
    return names_found
