"""The bucket under the record keys against the catalog: object versions the archive did not write.

The archive writes only under ``current/NAME`` and ``archive/NAME/vNNNNNN``, and every
object version there is either one the catalog pins or an encrypted leftover of the
archive's own: a superseded copy, an old ciphertext after key rotation or a move to the
archive tier (kept by Object Lock until its retention date), the object of a filing that
failed or is still running, a damaged copy that ``backup restore --record`` replaced.
Anything else — a version that does not authenticate, another record's object, a delete
marker — was put there behind the archive's back, with the S3 credentials.

A version the catalog does not pin counts as the archive's own when its metadata frame
authenticates with the keyring and names this record (and, under ``archive/NAME/vN``,
version N); when it is encrypted with a key that ``keys retire`` removed (the audit
trail says which), since it can no longer be authenticated; or when the audit trail
records that ``backup restore --record`` replaced that very version. A copy of one of the
record's own genuine objects cannot be told from a leftover this way; it is harmless,
since every read asks for the version id the catalog pins.

Sorting a listing against the catalog is pure (:func:`sort_listing`); looking into the
versions nobody pins, and reading the catalog and the audit trail, is I/O.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass

from sqlalchemy import select

from archive.errors import KeyMissing, ObjectUnreadable
from archive.objects import open_object, read_header
from archive.service import Archive
from catalog.schema import AuditEvent, Record, RecordState, Version
from encryption.envelope import EnvelopeError
from naming import ARCHIVE_PREFIX, CURRENT_PREFIX, InvalidName, parse_name, parse_object_key
from retention.objects import record_objects
from storage.s3 import MissingObject, StoredVersion

DELETE_MARKER = "delete-marker"
FOREIGN = "foreign"
UNAFFECTED = "reads are unaffected (they ask for the catalogued version ids)"


# --- sorting a listing (pure) -----------------------------------------------------------------


@dataclass(frozen=True)
class RecordKeys:
    """What the catalog says about one record's objects: its state and the versions it pins."""

    name: str
    state: str
    pinned: frozenset[tuple[str, str]]


@dataclass(frozen=True)
class Finding:
    """An object version or delete marker under the record keys that the archive did not put there."""

    key: str
    version_id: str
    kind: str
    detail: str

    @property
    def line(self) -> str:
        if self.kind == DELETE_MARKER:
            return (f"delete marker {self.version_id} at {self.key}: the key was deleted with the S3 credentials, "
                    f"without a version id; {UNAFFECTED}; find out who did it, then delete the marker "
                    "(that version id) with an S3 client")
        return (f"foreign version {self.version_id} at {self.key}: {self.detail}; {UNAFFECTED}; "
                "keep it for investigation and find out who holds the S3 credentials")

    def as_dict(self) -> dict[str, str]:
        return {**asdict(self), "message": self.line}


@dataclass(frozen=True)
class Unpinned:
    """A version under a record's keys that the catalog does not pin: it has to be looked into."""

    item: StoredVersion
    name: str
    archive_version: int | None
    disposed: bool


def sort_listing(
    listing: list[StoredVersion], records: Mapping[str, RecordKeys], replaced: frozenset[str] = frozenset()
) -> tuple[list[Finding], list[Unpinned]]:
    """What a listing of ``current/`` and ``archive/`` shows against the catalog.

    Returns the findings that need no further look (delete markers, keys the archive never
    writes, records the catalog does not know) and the versions nobody pins, to be looked
    into. Pinned versions, versions in ``replaced`` (S3 version ids the archive itself
    replaced) and everything under a record being disposed of are left out.
    """
    findings: list[Finding] = []
    unpinned: list[Unpinned] = []
    for item in listing:
        try:
            owner = parse_object_key(item.key)
        except InvalidName:
            owner = None
        record = records.get(str(owner.name)) if owner is not None else None
        if record is not None and record.state == RecordState.DISPOSING:
            continue
        if item.is_delete_marker:
            findings.append(Finding(item.key, item.version_id, DELETE_MARKER, "a delete marker"))
        elif owner is None:
            findings.append(Finding(item.key, item.version_id, FOREIGN, "the archive never writes this key"))
        elif record is None:
            findings.append(Finding(item.key, item.version_id, FOREIGN, f"the catalog has no record {owner.name}"))
        elif (item.key, item.version_id) not in record.pinned and item.version_id not in replaced:
            unpinned.append(Unpinned(item, record.name, owner.version, record.state == RecordState.DISPOSED))
    return findings, unpinned


def retired_keys_and_replaced(details: list[tuple[str, str]]) -> tuple[frozenset[str], frozenset[str]]:
    """From ``(action, detail JSON)`` of audit events: key ids ``keys retire`` removed, S3 versions restores replaced."""
    retired: set[str] = set()
    replaced: set[str] = set()
    for action, text in details:
        detail = json.loads(text)
        if action == "keys.retire":
            retired.update(str(key) for key in detail.get("keys", []))
        elif detail.get("replaced"):
            replaced.add(str(detail["replaced"]))
    return frozenset(retired), frozenset(replaced)


# --- looking (I/O) ----------------------------------------------------------------------------


def check_bucket(archive: Archive, name_text: str | None = None) -> list[Finding]:
    """Foreign versions and delete markers under the keys of every record (or of one).

    One listing per prefix (``current/`` and ``archive/``), whatever the number of
    records. The bucket is listed before the catalog is read: an object listed then was
    uploaded after its record row was written, so a filing or rotation running meanwhile
    shows as a version that authenticates, never as a foreign one.
    """
    store = archive.store
    if name_text is None:
        listing = (store.list_versions(CURRENT_PREFIX, with_delete_markers=True)
                   + store.list_versions(ARCHIVE_PREFIX, with_delete_markers=True))
    else:
        listing = record_objects(store, name_text)
    records = _catalog_keys(archive, name_text)
    findings, unpinned = sort_listing(listing, records)
    if unpinned:
        retired, replaced = _history(archive)
        for suspect in unpinned:
            if suspect.item.version_id in replaced:
                continue
            reason = _not_own(archive, suspect, retired)
            if reason is not None:
                findings.append(Finding(suspect.item.key, suspect.item.version_id, FOREIGN, reason))
    return sorted(findings, key=lambda f: (f.key, f.version_id))


def _catalog_keys(archive: Archive, name_text: str | None) -> dict[str, RecordKeys]:
    query = select(Record.name, Record.state, Version.object_key, Version.s3_version_id).outerjoin(
        Version, Version.record_id == Record.id
    )
    if name_text is not None:
        query = query.where(Record.name == str(parse_name(name_text)))
    states: dict[str, str] = {}
    pinned: dict[str, set[tuple[str, str]]] = {}
    with archive.catalog.read() as session:
        for name, state, key, version_id in session.execute(query):
            states[name] = state
            versions = pinned.setdefault(name, set())
            if key and version_id:
                versions.add((key, version_id))
    return {name: RecordKeys(name, state, frozenset(pinned[name])) for name, state in states.items()}


def _history(archive: Archive) -> tuple[frozenset[str], frozenset[str]]:
    with archive.catalog.read() as session:
        rows = session.execute(
            select(AuditEvent.action, AuditEvent.detail).where(
                AuditEvent.action.in_(("keys.retire", "backup.restore")), AuditEvent.outcome == "ok"
            )
        )
        return retired_keys_and_replaced([(action, detail) for action, detail in rows])


def _not_own(archive: Archive, suspect: Unpinned, retired: frozenset[str]) -> str | None:
    """Why an unpinned version is not the archive's own, or None when it is (or is gone meanwhile)."""
    item = suspect.item
    try:
        if suspect.disposed:
            read_header(archive, item.key, item.version_id)
            return f"{suspect.name} was disposed of; nothing of it should remain"
        try:
            meta = open_object(archive, item.key, item.version_id, item.size).meta
        except KeyMissing:
            key_id = read_header(archive, item.key, item.version_id).key_id
            if key_id in retired:
                return None
            return f"it is encrypted with key {key_id}, which the keyring does not hold and no 'keys retire' removed"
    except MissingObject:
        return None
    except EnvelopeError as exc:
        return f"it is not an object of this archive ({exc})"
    except ObjectUnreadable as exc:
        return f"it cannot be shown to be the archive's own: {exc}"
    if meta.get("name") != suspect.name:
        return f"it holds the object of {meta.get('name')}, not of {suspect.name}"
    if suspect.archive_version is not None and meta.get("version") != suspect.archive_version:
        return f"it holds version {meta.get('version')}, not {suspect.archive_version}"
    return None
