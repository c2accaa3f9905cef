"""Reconstructing the catalog from the bucket alone.

Every stored object carries its own authenticated metadata (record name, title,
type, year, number, version, who filed it and when, size and SHA-256), so the
catalog can be rebuilt from a listing of the bucket and the keyring. Numbers with
no object at all (void or failed filings) come back as void records, so there are
no silent gaps; a void number above the highest stored one cannot be known.
"""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import delete, func, make_url, select

from archive.errors import Conflict, KeyMissing
from archive.objects import OpenedObject, open_object
from archive.service import Archive, utcnow
from catalog.schema import Counter, Record, RecordState, Version, VersionState
from encryption.envelope import EnvelopeError
from naming import (
    ARCHIVE_PREFIX,
    CURRENT_PREFIX,
    InvalidName,
    format_name,
    parse_object_key,
)
from storage.s3 import MissingObject, StoredVersion

REBUILD_ACTOR = "catalog-rebuild"


@dataclass
class RebuildReport:
    records: int = 0
    versions: int = 0
    voids: int = 0
    objects: int = 0
    skipped: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Found:
    stored: StoredVersion
    area: str
    opened: OpenedObject

    @property
    def meta(self) -> dict[str, object]:
        return self.opened.meta


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
    stored = archive.store.list_versions(CURRENT_PREFIX) + archive.store.list_versions(ARCHIVE_PREFIX)
    report.objects = len(stored)
    if on_start is not None:
        on_start(len(stored))
    candidates: dict[tuple[str, int], list[_Found]] = defaultdict(list)
    for item in stored:
        found = _inspect(archive, item, report)
        if found is not None:
            candidates[(str(found.meta["name"]), int(found.meta["version"]))].append(found)  # type: ignore[call-overload]
        if on_progress is not None:
            on_progress(item.key)
    _clear(archive)
    _write(archive, candidates, report)
    return report


def _inspect(archive: Archive, item: StoredVersion, report: RebuildReport) -> _Found | None:
    try:
        key = parse_object_key(item.key)
        opened = open_object(archive, item.key, item.version_id, item.size)
    except (InvalidName, EnvelopeError, MissingObject, KeyMissing) as exc:
        report.skipped.append(f"{item.key} ({item.version_id}): {exc}")
        return None
    meta = opened.meta
    if meta.get("name") != str(key.name) or (key.version is not None and meta.get("version") != key.version):
        report.skipped.append(f"{item.key} ({item.version_id}): metadata names another record or version")
        return None
    return _Found(item, key.area, opened)


def _choose(found: list[_Found], is_latest: bool) -> _Found:
    """Prefer the current area for the newest version and the archive area otherwise; then the newest write."""
    preferred = "current" if is_latest else "archive"
    return max(
        found,
        key=lambda f: (f.area == preferred, f.stored.last_modified or datetime.min),
    )


def _write(archive: Archive, candidates: dict[tuple[str, int], list[_Found]], report: RebuildReport) -> None:
    by_name: dict[str, dict[int, list[_Found]]] = defaultdict(dict)
    for (name, version), found in candidates.items():
        by_name[name][version] = found
    highest: dict[tuple[int, str], int] = {}
    numbers: dict[tuple[int, str], set[int]] = defaultdict(set)
    now = utcnow()
    with archive.catalog.write() as session:
        for name in sorted(by_name):
            versions = by_name[name]
            newest = max(versions)
            chosen = {v: _choose(found, v == newest) for v, found in versions.items()}
            first = chosen[min(chosen)].meta
            record = Record(
                name=name,
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
                following = chosen.get(number + 1)
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
            session.add(record)
            report.records += 1
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
