"""The bucket under the record keys against the catalog: object versions the archive did not write, number markers.

The archive writes only under ``current/NAME``, ``archive/NAME/vNNNNNN`` and ``numbers/NAME``,
and every object version there is either one the catalog pins or an encrypted leftover of the
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

Under ``numbers/NAME`` the archive writes only the number marker of a void or disposed
record (see archive/numbers.py). Each such record must have one, authentic and naming it,
of its kind: a marker that is not there is *missing* (``repair`` writes it), one whose only
versions fail is *damaged* or *unreadable*. Other versions there are the archive's own when
they are authentic markers of that record (an older ciphertext kept by Object Lock after
rotation); anything else, and anything under the marker key of a record that needs none, is
foreign.

Sorting a listing against the catalog and judging a record's marker versions are pure
(:func:`sort_listing`, :func:`judge_markers`); looking into the versions nobody pins, and
reading the catalog and the audit trail, is I/O.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import datetime

from sqlalchemy import select

from archive.numbers import NotAMarker, marker_kind, open_marker
from archive.objects import open_object, read_header, record_objects
from archive.problems import DAMAGED, MISSING, UNREADABLE, Problem
from archive.service import Archive
from catalog.schema import AuditEvent, Record, RecordState, Version
from encryption.envelope import EnvelopeError
from errors import KeyMissing, ObjectUnreadable
from naming import (
    ARCHIVE_PREFIX,
    CURRENT_PREFIX,
    NUMBERS_PREFIX,
    InvalidName,
    number_key,
    parse_name,
    parse_object_key,
)
from storage.s3 import MissingObject, StoredVersion

DELETE_MARKER = "delete-marker"
FOREIGN = "foreign"
UNAFFECTED = "reads are unaffected (they ask for the catalogued version ids)"
UNAFFECTED_MARKERS = "a catalog rebuild ignores it (it uses only authentic markers)"


# --- sorting a listing (pure) -----------------------------------------------------------------


@dataclass(frozen=True)
class RecordKeys:
    """What the catalog says about one record's objects: its state, the versions it pins, the marker it needs.

    ``marker``: the kind of number marker the record must have (``void``, ``disposed``), if any.
    ``kept``: the void reason of a number ``catalog rebuild`` kept because it could not read
    the record's objects; they keep the number, and need no marker (see archive/numbers.py).
    """

    name: str
    state: str
    pinned: frozenset[tuple[str, str]]
    marker: str | None = None
    kept: str | None = None


@dataclass(frozen=True)
class Finding:
    """An object version or delete marker under the record keys that the archive did not put there."""

    key: str
    version_id: str
    kind: str
    detail: str

    @property
    def line(self) -> str:
        markers = self.key.startswith(NUMBERS_PREFIX)
        if self.kind == DELETE_MARKER:
            beneath = ("the marker's versions beneath it still keep the number (a catalog rebuild lists them)"
                       if markers else UNAFFECTED)
            return (f"delete marker {self.version_id} at {self.key}: the key was deleted with the S3 credentials, "
                    f"without a version id; {beneath}; find out who did it, then delete the marker "
                    "(that version id) with an S3 client")
        return (f"foreign version {self.version_id} at {self.key}: {self.detail}; "
                f"{UNAFFECTED_MARKERS if markers else UNAFFECTED}; "
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

    @property
    def is_marker(self) -> bool:
        """Whether it is under the record's number marker key."""
        return self.item.key.startswith(NUMBERS_PREFIX)


def sort_listing(
    listing: list[StoredVersion], records: Mapping[str, RecordKeys], replaced: frozenset[str] = frozenset()
) -> tuple[list[Finding], list[Unpinned]]:
    """What a listing of ``current/``, ``archive/`` and ``numbers/`` shows against the catalog.

    Returns the findings that need no further look (delete markers, keys the archive never
    writes, records the catalog does not know, markers of records that need none) and the
    versions nobody pins, to be looked into. Pinned versions, versions in ``replaced`` (S3
    version ids the archive itself replaced) and everything under a record being disposed of,
    or whose number a rebuild kept for objects it could not read, are left out.
    """
    findings: list[Finding] = []
    unpinned: list[Unpinned] = []
    for item in listing:
        try:
            owner = parse_object_key(item.key)
        except InvalidName:
            owner = None
        record = records.get(str(owner.name)) if owner is not None else None
        if record is not None and (record.state == RecordState.DISPOSING or record.kept is not None):
            continue
        if item.is_delete_marker:
            findings.append(Finding(item.key, item.version_id, DELETE_MARKER, "a delete marker"))
        elif owner is None:
            findings.append(Finding(item.key, item.version_id, FOREIGN, "the archive never writes this key"))
        elif record is None:
            findings.append(Finding(item.key, item.version_id, FOREIGN, f"the catalog has no record {owner.name}"))
        elif owner.area == "numbers" and record.marker is None:
            findings.append(Finding(item.key, item.version_id, FOREIGN, f"{record.name} is {record.state}: the archive "
                                    "writes a number marker only for a void or disposed record"))
        elif (item.key, item.version_id) not in record.pinned and item.version_id not in replaced:
            unpinned.append(Unpinned(item, record.name, owner.version, record.state == RecordState.DISPOSED))
    return findings, unpinned


@dataclass(frozen=True)
class MarkerLook:
    """What one version under ``numbers/NAME`` turned out to be.

    ``kind``: the marker's kind, when it is the record's authentic marker. ``failure``:
    ``damaged`` or ``unreadable`` when it could not be read as one; ``own`` when that is
    because ``keys retire`` removed its key (the archive's, though it no longer opens).
    Neither: an authentic object that is not this record's marker. ``detail`` says why.
    """

    item: StoredVersion
    kind: str | None = None
    failure: str | None = None
    detail: str = ""
    own: bool = False


def judge_markers(record: RecordKeys, looks: list[MarkerLook]) -> tuple[list[Finding], Problem | None]:
    """The foreign versions under a record's marker key, and what is wrong with its marker, if anything.

    The record's marker is its newest authentic one, as ``catalog rebuild`` and ``repair``
    take it. When there is none, the versions that failed are that marker, damaged or
    unreadable (not also foreign); with none at all it is missing.
    """
    ordered = sorted(looks, key=lambda look: look.item.last_modified or datetime.min, reverse=True)
    marker = next((look for look in ordered if look.kind is not None), None)
    failed = [look for look in ordered if look.failure is not None]
    findings = [_foreign(look) for look in ordered if look.kind is None and look.failure is None]
    name = record.name
    if marker is not None:
        findings += [_foreign(look) for look in failed if not look.own]
        if marker.kind == record.marker:
            return findings, None
        return findings, Problem(name, None, MISSING, f"number marker of {name} says {marker.kind}, but the record is "
                                                      f"{record.marker}: run 'strongroom repair'")
    if failed:
        first = failed[0]
        return findings, Problem(name, None, str(first.failure),
                                 f"number marker of {name} is {first.failure}: version {first.item.version_id}: "
                                 f"{first.detail}; run 'strongroom repair' to write it again")
    return findings, Problem(name, None, MISSING, f"number marker of {name} ({record.state}) is missing: run "
                                                  f"'strongroom repair' (without it a catalog rebuild could issue "
                                                  f"{name} again)")


def _foreign(look: MarkerLook) -> Finding:
    return Finding(look.item.key, look.item.version_id, FOREIGN, look.detail)


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


@dataclass(frozen=True)
class Inventory:
    """What the bucket holds against the catalog: foreign versions, and the numbers of void and disposed records.

    ``markers``: how many void or disposed records had their number marker checked (a number
    a rebuild kept for objects it could not read counts too, and always fails: it is
    unreadable); ``problems``: those that failed.
    """

    foreign: list[Finding]
    markers: int
    problems: list[Problem]


def check_bucket(archive: Archive, name_text: str | None = None) -> Inventory:
    """Foreign versions and delete markers under the keys of every record (or of one), and their number markers.

    One listing per prefix (``current/``, ``archive/`` and ``numbers/``), whatever the number
    of records. The bucket is listed before the catalog is read: an object listed then was
    uploaded after its record row was written (a record is void or disposing before its
    marker is written), so a filing, rotation or disposal running meanwhile shows as a
    version that authenticates, never as a foreign one; a marker that seems missing is
    looked for once more.
    """
    store = archive.store
    if name_text is None:
        listing = [version for prefix in (CURRENT_PREFIX, ARCHIVE_PREFIX, NUMBERS_PREFIX)
                   for version in store.list_versions(prefix, with_delete_markers=True)]
    else:
        listing = record_objects(store, name_text) + _marker_versions(archive, name_text, with_delete_markers=True)
    records = _catalog_keys(archive, name_text)
    findings, unpinned = sort_listing(listing, records)
    retired, replaced = _history(archive)
    looks: dict[str, list[MarkerLook]] = defaultdict(list)
    for suspect in unpinned:
        if suspect.is_marker:
            look = _look_at_marker(archive, suspect.item, retired)
            if look is not None:
                looks[suspect.name].append(look)
            continue
        if suspect.item.version_id in replaced:
            continue
        reason = _not_own(archive, suspect, retired)
        if reason is not None:
            findings.append(Finding(suspect.item.key, suspect.item.version_id, FOREIGN, reason))
    problems = []
    numbered = [record for record in records.values() if record.marker is not None or record.kept is not None]
    for record in numbered:
        if record.kept is not None:
            problems.append(Problem(record.name, None, UNREADABLE, f"{record.name} is void: {record.kept}"))
            continue
        found, problem = judge_markers(record, looks.get(record.name, []))
        if problem is not None and problem.kind == MISSING and not looks.get(record.name):
            again = [look for item in _marker_versions(archive, record.name)
                     if (look := _look_at_marker(archive, item, retired)) is not None]
            found, problem = judge_markers(record, again)
        findings += found
        if problem is not None:
            problems.append(problem)
    return Inventory(sorted(findings, key=lambda f: (f.key, f.version_id)), len(numbered),
                     sorted(problems, key=lambda p: p.name))


def _marker_versions(archive: Archive, name_text: str, *, with_delete_markers: bool = False) -> list[StoredVersion]:
    key = number_key(parse_name(name_text))
    return [v for v in archive.store.list_versions(key, with_delete_markers=with_delete_markers) if v.key == key]


def _catalog_keys(archive: Archive, name_text: str | None) -> dict[str, RecordKeys]:
    query = select(Record.name, Record.state, Record.void_reason, Version.object_key, Version.s3_version_id).outerjoin(
        Version, Version.record_id == Record.id
    )
    if name_text is not None:
        query = query.where(Record.name == str(parse_name(name_text)))
    states: dict[str, tuple[str, str | None]] = {}
    pinned: dict[str, set[tuple[str, str]]] = {}
    with archive.catalog.read() as session:
        for name, state, void_reason, key, version_id in session.execute(query):
            states[name] = (state, void_reason)
            versions = pinned.setdefault(name, set())
            if key and version_id:
                versions.add((key, version_id))
    out = {}
    for name, (state, void_reason) in states.items():
        marker = marker_kind(state, void_reason)
        kept = void_reason if state == RecordState.VOID and marker is None else None
        out[name] = RecordKeys(name, state, frozenset(pinned[name]), marker, kept)
    return out


def _history(archive: Archive) -> tuple[frozenset[str], frozenset[str]]:
    with archive.catalog.read() as session:
        rows = session.execute(
            select(AuditEvent.action, AuditEvent.detail).where(
                AuditEvent.action.in_(("keys.retire", "backup.restore")), AuditEvent.outcome == "ok"
            )
        )
        return retired_keys_and_replaced([(action, detail) for action, detail in rows])


def _look_at_marker(archive: Archive, item: StoredVersion, retired: frozenset[str]) -> MarkerLook | None:
    """Open one version under a record's marker key; None when it is gone meanwhile."""
    try:
        return MarkerLook(item, kind=open_marker(archive, item).kind)
    except MissingObject:
        return None
    except NotAMarker as exc:
        return MarkerLook(item, detail=f"it is authentic, but {exc} (copied from elsewhere)")
    except EnvelopeError as exc:
        return MarkerLook(item, failure=DAMAGED, detail=f"it does not authenticate ({exc})")
    except ObjectUnreadable as exc:
        return MarkerLook(item, failure=UNREADABLE, detail=str(exc))
    except KeyMissing:
        pass
    try:
        key_id = read_header(archive, item.key, item.version_id).key_id
    except MissingObject:
        return None
    except EnvelopeError as exc:
        return MarkerLook(item, failure=DAMAGED, detail=f"it does not authenticate ({exc})")
    except ObjectUnreadable as exc:
        return MarkerLook(item, failure=UNREADABLE, detail=str(exc))
    if key_id in retired:
        return MarkerLook(item, failure=UNREADABLE, detail=f"it is sealed with key {key_id}, which 'keys retire' "
                                                           "removed", own=True)
    return MarkerLook(item, failure=UNREADABLE, detail=f"it is encrypted with key {key_id}, which the keyring does "
                                                       "not hold and no 'keys retire' removed")


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
