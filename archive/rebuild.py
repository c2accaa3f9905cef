"""Reconstructing the catalog from the bucket alone.

Every stored object carries its own authenticated metadata (record name, title,
type, year, number, version, who filed it and when, size and SHA-256), so the
catalog can be rebuilt from a listing of the bucket and the keyring.

Nothing in the bucket is taken on trust: whoever holds the S3 credentials can add
object versions under any key. An object version counts only if it authenticates
from end to end (header, metadata frame, every data frame with its nonce and index,
size and SHA-256) and its sealed metadata names the very record (and version) its
key says. Anything else is reported as forged or foreign and ignored; versions under
a key the keyring does not hold are reported as skipped. Of the authentic candidates
for one record version, the copy in the expected area (``current/`` for the newest
version, ``archive/`` otherwise) filed last by its *sealed* filing time wins, then
the newest write: the S3 listing's order alone decides nothing.

Numbers whose record holds no content are kept by number markers (``numbers/``,
see ``archive/numbers.py``): a void or disposed record comes back as such, and the
number series continue after the highest number ever allocated. Numbers below the
highest with neither an object nor a marker come back as void records, so there are
no silent gaps.

An object version the storage lists but cannot deliver (``ObjectUnreadable``: a damaged
volume) is reported as unreadable and the rebuild goes on. A version is catalogued from
any other authentic copy of it; a record version whose only copy is unreadable is left out
of its record, and the report says so. A record none of whose objects can be read still
keeps its number: it comes back void, with a reason that begins with
:data:`archive.numbers.UNREADABLE_VOID` and names those objects. Its objects, still in the
bucket, keep the number there, so it gets no void marker: once they read again (or are put
back from a backup), a rebuild with ``--replace`` brings the record back whole.
"""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import date, datetime

from sqlalchemy import delete, func, make_url, select

from archive.numbers import UNREADABLE_VOID, NotAMarker, NumberMarker, marker_of, names
from archive.objects import OpenedObject, iter_plaintext, open_object
from archive.service import Archive, utcnow
from catalog.schema import Counter, Record, RecordState, Version, VersionState
from encryption.envelope import EnvelopeError
from errors import Conflict, KeyMissing, ObjectUnreadable
from naming import (
    ARCHIVE_PREFIX,
    CURRENT_PREFIX,
    NUMBERS_PREFIX,
    InvalidName,
    ObjectKey,
    format_name,
    parse_name,
    parse_object_key,
)
from storage.s3 import MissingObject, StoredVersion

REBUILD_ACTOR = "catalog-rebuild"


@dataclass(frozen=True)
class Ignored:
    """An object version the rebuild did not use, and why."""

    key: str
    version_id: str
    reason: str

    def __str__(self) -> str:
        return f"{self.key} ({self.version_id}): {self.reason}"


@dataclass(frozen=True)
class Incomplete:
    """A record the rebuilt catalog may not hold whole, because an object of it could not be read."""

    name: str
    detail: str

    def __str__(self) -> str:
        return f"{self.name}: {self.detail}"


@dataclass
class RebuildReport:
    """What a rebuild found.

    ``forged``: versions that do not authenticate or name another record; ``skipped``: versions
    no key opens, or left over under a marked name; ``unreadable``: versions the storage could
    not deliver; ``incomplete``: the records those may be missing from.
    """

    records: int = 0
    versions: int = 0
    voids: int = 0
    disposed: int = 0
    objects: int = 0
    forged: list[Ignored] = field(default_factory=list)
    skipped: list[Ignored] = field(default_factory=list)
    unreadable: list[Ignored] = field(default_factory=list)
    incomplete: list[Incomplete] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass(frozen=True)
class _Found:
    stored: StoredVersion
    area: str
    opened: OpenedObject

    @property
    def meta(self) -> dict[str, object]:
        return self.opened.meta


@dataclass(frozen=True)
class _Unread:
    """An object version under a record's keys that the storage could not deliver."""

    stored: StoredVersion
    key: ObjectKey

    def __str__(self) -> str:
        return f"{self.stored.key} ({self.stored.version_id})"


@dataclass
class _Bucket:
    """The authentic contents of the bucket, by record, and what could not be read."""

    versions: dict[str, dict[int, list[_Found]]] = field(default_factory=lambda: defaultdict(lambda: defaultdict(list)))
    markers: dict[str, list[NumberMarker]] = field(default_factory=lambda: defaultdict(list))
    unread: dict[str, list[_Unread]] = field(default_factory=lambda: defaultdict(list))


def _parse_time(value: object) -> datetime:
    return datetime.fromisoformat(str(value))


def _is_empty(archive: Archive) -> bool:
    with archive.catalog.read() as session:
        return not session.scalar(select(func.count()).select_from(Record))


def _clear(archive: Archive) -> None:
    with archive.catalog.write() as session:
        session.execute(delete(Version))
        session.execute(delete(Record))
        session.execute(delete(Counter))


def backup_catalog(archive: Archive) -> str | None:
    """Copy a SQLite catalog aside before it is replaced; return the copy's path."""
    if not archive.catalog.is_sqlite:
        return None
    target = archive.settings.home / f"catalog.replaced-{utcnow().strftime('%Y%m%dT%H%M%SZ')}.sqlite3"
    source = sqlite3.connect(make_url(archive.catalog.url).database or "")
    copy = sqlite3.connect(target)
    try:
        source.backup(copy)
    finally:
        copy.close()
        source.close()
    return str(target)


def rebuild(
    archive: Archive,
    *,
    replace: bool = False,
    on_start: Callable[[int], None] | None = None,
    on_progress: Callable[[str], None] | None = None,
) -> RebuildReport:
    """Rebuild the catalog from the bucket; refuses a non-empty catalog unless ``replace``."""
    if not _is_empty(archive):
        if not replace:
            raise Conflict("the catalog is not empty; use --replace to rebuild it from the bucket anyway")
    report = RebuildReport()
    store = archive.store
    stored = [version for prefix in (CURRENT_PREFIX, ARCHIVE_PREFIX, NUMBERS_PREFIX)
              for version in store.list_versions(prefix)]
    report.objects = len(stored)
    if on_start is not None:
        on_start(len(stored))
    bucket = _Bucket()
    for item in stored:
        _inspect(archive, item, report, bucket)
        if on_progress is not None:
            on_progress(item.key)
    _clear(archive)
    _write(archive, bucket, report)
    return report


def _inspect(archive: Archive, item: StoredVersion, report: RebuildReport, bucket: _Bucket) -> None:
    """Authenticate one stored version and file it under the record it names, or report it."""
    try:
        key = parse_object_key(item.key)
    except InvalidName:
        report.forged.append(Ignored(item.key, item.version_id, "not a key Strongroom writes"))
        return
    try:
        opened = open_object(archive, item.key, item.version_id, item.size)
        for _ in iter_plaintext(archive, opened):
            pass
    except EnvelopeError as exc:
        report.forged.append(Ignored(item.key, item.version_id, f"does not authenticate: {exc}"))
        return
    except KeyMissing as exc:
        report.skipped.append(Ignored(item.key, item.version_id, f"cannot be authenticated: {exc}"))
        return
    except MissingObject:
        report.skipped.append(Ignored(item.key, item.version_id, "vanished while the bucket was read"))
        return
    except ObjectUnreadable as exc:
        report.unreadable.append(Ignored(item.key, item.version_id, str(exc)))
        bucket.unread[str(key.name)].append(_Unread(item, key))
        return
    if key.area == "numbers":
        try:
            marker = marker_of(opened, key.name)
        except NotAMarker as exc:
            report.forged.append(Ignored(item.key, item.version_id, f"authentic, but {exc} (copied from elsewhere)"))
            return
        bucket.markers[str(key.name)].append(marker)
        return
    mismatch = _mismatch(opened.meta, key)
    if mismatch is not None:
        report.forged.append(Ignored(item.key, item.version_id, f"authentic, but {mismatch} (copied from elsewhere)"))
        return
    bucket.versions[str(key.name)][int(opened.meta["version"])].append(_Found(item, key.area, opened))  # type: ignore[call-overload]


def _mismatch(meta: dict[str, object], key: ObjectKey) -> str | None:
    """Why an authentic object is not a version of the record its key names (None if it is)."""
    if "kind" in meta:
        return f"it is a {meta['kind']} number marker, not a record version"
    if not names(meta, key.name):
        return f"its sealed metadata names {meta.get('name')}"
    version = meta.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        return "its sealed metadata names no version"
    if key.version is not None and version != key.version:
        return f"its sealed metadata names version {version}"
    return None


def _choose(found: list[_Found], is_latest: bool) -> _Found:
    """The expected area first (current for the newest version, archive otherwise), then the latest sealed filing time, then the newest write."""
    preferred = "current" if is_latest else "archive"
    return max(
        found,
        key=lambda f: (f.area == preferred, _parse_time(f.meta["filed_at"]), f.stored.last_modified or datetime.min),
    )


def _write(archive: Archive, bucket: _Bucket, report: RebuildReport) -> None:
    highest: dict[tuple[int, str], int] = {}
    numbers: dict[tuple[int, str], set[int]] = defaultdict(set)
    now = utcnow()
    with archive.catalog.write() as session:
        for name in sorted(set(bucket.versions) | set(bucket.markers) | set(bucket.unread)):
            if bucket.markers.get(name):
                record = _numbered_record(name, bucket, report)
            elif bucket.versions.get(name):
                record = _active_record(bucket.versions[name], bucket.unread.get(name, []), report)
                report.records += 1
            else:
                record = _unreadable_record(name, bucket.unread[name], now, report)
            session.add(record)
            series = (record.year, record.type)
            numbers[series].add(record.number)
            highest[series] = max(highest.get(series, 0), record.number)
        for (year, record_type), top in highest.items():
            for number in range(1, top):
                if number not in numbers[(year, record_type)]:
                    session.add(
                        Record(
                            name=format_name(year, number, record_type),
                            year=year,
                            type=record_type,
                            number=number,
                            state=RecordState.VOID,
                            created_at=now,
                            created_by=REBUILD_ACTOR,
                            void_reason="reconstructed by catalog rebuild: the bucket holds no object for this number",
                        )
                    )
                    report.voids += 1
            session.add(Counter(year=year, type=record_type, next_number=top + 1))


def _unreadable_record(name: str, unread: list[_Unread], now: datetime, report: RebuildReport) -> Record:
    """A record none of whose objects could be read: void, its number kept (see the module's docstring)."""
    objects = ", ".join(str(u) for u in unread[:3]) + (f" and {len(unread) - 3} more" if len(unread) > 3 else "")
    report.incomplete.append(Incomplete(name, f"rebuilt as void: none of its objects could be read ({objects}); "
                                              "its number stays taken"))
    report.voids += 1
    parsed = parse_name(name)
    return Record(
        name=name, year=parsed.year, type=parsed.type, number=parsed.number, state=RecordState.VOID,
        created_at=now, created_by=REBUILD_ACTOR,
        void_reason=f"{UNREADABLE_VOID} ({objects}); once they read again, run 'strongroom catalog rebuild --replace'",
    )


def _gaps(name: str, chosen: dict[int, _Found], unread: list[_Unread]) -> list[Incomplete]:
    """What the unreadable objects of an active record may have taken from it."""
    newest = chosen[max(chosen)]
    notes = []
    for item in unread:
        if item.key.area == "numbers":
            notes.append(Incomplete(name, f"its number marker {item} is unreadable: it may say the record is void "
                                          "or disposed; rebuilt as active from its authentic versions"))
        elif item.key.version is not None and item.key.version not in chosen:
            notes.append(Incomplete(name, f"rebuilt without version {item.key.version}: its only copy, {item}, "
                                          "is unreadable"))
        elif item.key.area == "current" and _later(item.stored, newest.stored):
            notes.append(Incomplete(name, f"{item} is unreadable and newer than its newest readable version "
                                          f"v{max(chosen)}: it may be a later version, which the rebuilt catalog "
                                          "lacks"))
    return notes


def _numbered_record(name: str, bucket: _Bucket, report: RebuildReport) -> Record:
    """A void or disposed record as its newest marker says; objects still under its keys are left-overs."""
    marker = max(bucket.markers[name], key=lambda m: m.at)
    for found in (f for versions in bucket.versions.get(name, {}).values() for f in versions):
        report.skipped.append(Ignored(found.stored.key, found.stored.version_id,
                                      f"left over: {name} is {marker.kind} (number marker)"))
    parsed = parse_name(name)
    record = Record(
        name=name, year=parsed.year, type=parsed.type, number=parsed.number, state=marker.state,
        created_at=marker.created_at, created_by=marker.created_by,
    )
    if record.state == RecordState.VOID:
        record.void_reason = marker.reason
        report.voids += 1
    else:
        record.disposed_at = marker.at
        report.disposed += 1
    return record


def _later(one: StoredVersion, other: StoredVersion) -> bool:
    return one.last_modified is not None and other.last_modified is not None and one.last_modified > other.last_modified


def _active_record(versions: dict[int, list[_Found]], unread: list[_Unread], report: RebuildReport) -> Record:
    """An active record with every version the bucket holds an authentic object of."""
    newest = max(versions)
    chosen = {v: _choose(found, v == newest) for v, found in versions.items()}
    first = chosen[min(chosen)].meta
    report.incomplete.extend(_gaps(str(first["name"]), chosen, unread))
    record = Record(
        name=str(first["name"]),
        year=int(first["year"]),  # type: ignore[call-overload]
        type=str(first["type"]),
        number=int(first["number"]),  # type: ignore[call-overload]
        state=RecordState.ACTIVE,
        title=first.get("title"),  # type: ignore[arg-type]
        created_at=_parse_time(first["record_created_at"]),
        created_by=str(first["record_created_by"]),
        retain_from=date.fromisoformat(str(first["retain_from"])) if first.get("retain_from") else None,
    )
    for number in sorted(chosen):
        found = chosen[number]
        meta = found.meta
        following = chosen.get(min((n for n in chosen if n > number), default=0))
        record.versions.append(
            Version(
                version=number,
                state=VersionState.CURRENT if number == newest else VersionState.ARCHIVED,
                object_key=found.stored.key,
                s3_version_id=found.stored.version_id,
                nonce=found.opened.nonce,
                key_id=found.opened.header.key_id,
                size=int(meta["size"]),  # type: ignore[call-overload]
                stored_size=found.stored.size,
                sha256=str(meta["sha256"]),
                filed_at=_parse_time(meta["filed_at"]),
                filed_by=str(meta["filed_by"]),
                filename=meta.get("filename"),  # type: ignore[arg-type]
                comment=meta.get("comment"),  # type: ignore[arg-type]
                archived_at=_parse_time(following.meta["filed_at"]) if following and number != newest else None,
            )
        )
        report.versions += 1
    return record
