"""A consistent copy of the SQLite catalog, what it references, and repointing a restored copy.

The copy is made with SQLite's online backup API in one step, which reads one
consistent state of the database (a read transaction over the WAL) while writers
carry on. It includes every table: records, versions, number series, users, tokens,
requests, grants and the audit trail.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import create_engine, func, select, update
from sqlalchemy.engine import Engine, make_url

from catalog.schema import AuditEvent, Record, RecordState, Version, VersionState
from errors import ConfigError, IntegrityError

BUSY_TIMEOUT_S = 60


@dataclass(frozen=True)
class StoredRef:
    """One stored object version a catalog version row points at."""

    key: str
    version_id: str
    stored_size: int
    name: str
    version: int
    nonce: str
    key_id: str
    sha256: str


@dataclass(frozen=True)
class CatalogContents:
    refs: list[StoredRef]
    records: int
    audit_head: int


def sqlite_path(catalog_url: str) -> Path:
    """The file of a SQLite catalog; ConfigError for any other database."""
    url = make_url(catalog_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        raise ConfigError(
            "backups copy a SQLite catalog; for another database (catalog.url) use its own backup tool"
        )
    return Path(url.database)


def copy_catalog(source: Path, dest: Path) -> None:
    """Copy the live catalog ``source`` to ``dest`` (a self-contained file, no WAL)."""
    dest.unlink(missing_ok=True)
    with closing(sqlite3.connect(source, timeout=BUSY_TIMEOUT_S)) as live, closing(sqlite3.connect(dest)) as copy:
        live.backup(copy)
        copy.execute("PRAGMA journal_mode=DELETE")
        copy.commit()


def _engine(path: Path) -> Engine:
    return create_engine(f"sqlite:///{path}")


def read_contents(path: Path) -> CatalogContents:
    """Every current and archived version of the copy's active records, the record count, the audit head.

    A record being disposed of is left out: its objects may already be gone.
    """
    engine = _engine(path)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                select(
                    Version.object_key, Version.s3_version_id, Version.stored_size, Record.name, Version.version,
                    Version.nonce, Version.key_id, Version.sha256,
                )
                .join(Record, Record.id == Version.record_id)
                .where(Version.state.in_((VersionState.CURRENT, VersionState.ARCHIVED)), Record.state == RecordState.ACTIVE)
                .order_by(Version.object_key, Version.version)
            ).all()
            records = connection.execute(select(func.count()).select_from(Record)).scalar_one()
            head = connection.execute(select(func.max(AuditEvent.seq))).scalar() or 0
    finally:
        engine.dispose()
    refs = []
    for key, version_id, stored_size, name, version, nonce, key_id, sha256 in rows:
        if not version_id or not stored_size:
            raise IntegrityError(f"the catalog has no stored object for {name} v{version}; run 'strongroom repair'")
        refs.append(StoredRef(key, version_id, stored_size, name, version, nonce, key_id, sha256 or ""))
    return CatalogContents(refs, records, head)


def repoint(path: Path, moves: Iterable[tuple[str, str, str]]) -> None:
    """In the catalog file ``path``, point versions at ``(key, old version id)`` to the new version id.

    The new objects carry no Object Lock yet, so their lock dates are cleared; the restore
    command then locks them again from the retention schedules.
    """
    engine = _engine(path)
    try:
        with engine.begin() as connection:
            for key, old, new in moves:
                connection.execute(
                    update(Version)
                    .where(Version.object_key == key, Version.s3_version_id == old)
                    .values(s3_version_id=new, locked_until=None)
                )
    finally:
        engine.dispose()


def check_integrity(path: Path) -> None:
    with closing(sqlite3.connect(path)) as connection:
        result = connection.execute("PRAGMA integrity_check").fetchone()
    if not result or result[0] != "ok":
        raise IntegrityError(f"the catalog copy failed SQLite's integrity check: {result[0] if result else '?'}")
