"""Bringing a snapshot back: a whole archive into an empty home, or one record into the live archive.

Into a new home, a disaster recovery starts with :func:`bootstrap.home.prepare_home`: the escrowed
keyring is installed first (``init`` keeps an existing keyring), then the home is initialised. A whole
restore writes every object version of the snapshot into the new home's
(empty) bucket under its original key — each blob's SHA-256 is checked on the way —
and restores the audit checkpoints and number markers (under Object Lock until their
original retention date, where the new bucket takes it). The new bucket gives every
version a new S3 version id, so the catalog copy is opened, checked (SQLite integrity
check, SHA-256 from the manifest) and repointed at the new ids before it replaces the
new home's empty catalog, last. Progress is journalled in the new home, so an
interrupted restore resumes.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections import defaultdict
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, select, update

from archive.objects import IteratorReader
from archive.reading import VersionRef, read_version
from archive.records import lookup
from archive.service import Archive
from audit.checkpoints import PREFIX as CHECKPOINT_PREFIX
from backup.catalog_copy import check_integrity, repoint, sqlite_path
from backup.layout import blob_key
from backup.manifest import Entry, Manifest
from backup.sealing import KeyLookup, SealError, keys_of, unseal_file
from backup.targets import MissingBlob, Target
from catalog.schema import AuditEvent, Record, User, Version, VersionState
from errors import (
    Conflict,
    IntegrityError,
    KeyMissing,
    NotFound,
    ObjectUnreadable,
    StrongroomError,
)

PROBE_PREFIX = "probe/"


@dataclass
class RestoreReport:
    snapshot: str
    home: str
    objects: int = 0
    restored: int = 0
    resumed: int = 0
    bytes: int = 0
    records: int = 0
    versions: int = 0
    checkpoints: int = 0
    checkpoints_locked: int = 0
    numbers: int = 0

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


class _DigestReader:
    """A stream over a blob that hashes what it hands on."""

    def __init__(self, blocks: Iterator[bytes]) -> None:
        self._reader = IteratorReader(blocks)
        self.digest = hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        data = self._reader.read(size)
        self.digest.update(data)
        return data


def check_keys(archive: Archive, manifest: Manifest) -> None:
    """Fail early, naming them, if the keyring lacks keys the snapshot's objects were encrypted with."""
    missing = manifest.key_ids - {entry.id for entry in archive.keyring.entries}
    if missing:
        raise KeyMissing(
            f"the keyring lacks key(s) {', '.join(sorted(missing))} that snapshot {manifest.snapshot} needs; "
            "import the keyring exported when it was made ('strongroom keys import FILE')"
        )


# --- a whole archive into an empty home -------------------------------------------------------


def pending_filings(archive: Archive) -> list[str]:
    """Versions a restored catalog holds as pending: filings in progress when the snapshot was taken."""
    with archive.catalog.read() as session:
        rows = session.execute(
            select(Record.name, Version.version).join(Version.record).where(Version.state == VersionState.PENDING)
        )
        return [f"{name} v{version}" for name, version in rows]


class _Journal:
    """``HOME/run/restore-SNAPSHOT.jsonl``: the new version id of each object already restored."""

    def __init__(self, archive: Archive, snapshot: str) -> None:
        self.path = archive.settings.run_dir / f"restore-{snapshot}.jsonl"
        self.done: dict[tuple[str, str], str] = {}
        self._lock = threading.Lock()
        if self.path.exists():
            for line in self.path.read_text(encoding="utf-8").splitlines():
                try:
                    item = json.loads(line)
                    self.done[(item["key"], item["old"])] = item["new"]
                except (ValueError, KeyError, TypeError):
                    continue

    def add(self, key: str, old: str, new: str) -> None:
        with self._lock:
            self.done[(key, old)] = new
            with open(self.path, "a", encoding="utf-8") as out:
                out.write(json.dumps({"key": key, "old": old, "new": new}) + "\n")


def _check_empty(archive: Archive, journal: _Journal) -> None:
    with archive.catalog.read() as session:
        used = any(session.scalar(select(func.count()).select_from(table)) for table in (Record, AuditEvent, User))
    if used:
        raise Conflict(f"the catalog of {archive.settings.home} is not empty: restore into a new home")
    if not journal.done and any(
        not v.key.startswith(PROBE_PREFIX) for v in archive.store.list_versions("")
    ):
        raise Conflict(f"bucket {archive.settings.storage.bucket} is not empty: restore into an empty bucket")


def restore_archive(
    archive: Archive,
    target: Target,
    manifest: Manifest,
    *,
    on_start: Callable[[int], None] | None = None,
    on_progress: Callable[[object], None] | None = None,
) -> RestoreReport:
    """Restore ``manifest``'s snapshot into ``archive`` (empty catalog and bucket); closes ``archive``.

    Afterwards open the home anew: its catalog is the snapshot's, pointing at the new
    bucket's version ids.
    """
    check_keys(archive, manifest)
    keys = keys_of(archive.keyring)
    catalog_path = sqlite_path(archive.catalog.url)
    journal = _Journal(archive, manifest.snapshot)
    _check_empty(archive, journal)
    report = RestoreReport(manifest.snapshot, str(archive.settings.home), objects=len(manifest.entries),
                           resumed=len(journal.done), numbers=manifest.counts.get("numbers", 0),
                           **{k: manifest.counts[k] for k in ("records", "versions", "checkpoints")})
    lock = archive.store.lock_probe()
    tmp = catalog_path.with_name(f".{catalog_path.name}.restore")
    try:
        _open_catalog(target, manifest, keys, tmp)
        if on_start is not None:
            on_start(len(manifest.entries))
        _copy_objects(archive, target, manifest, journal, lock.available, report, on_progress)
        repoint(tmp, ((e.key, e.version_id, journal.done[(e.key, e.version_id)]) for e in manifest.entries if e.is_record))
        archive.close()
        _install(tmp, catalog_path)
    finally:
        tmp.unlink(missing_ok=True)
    journal.path.unlink(missing_ok=True)
    return report


def _open_catalog(target: Target, manifest: Manifest, keys: KeyLookup, dest: Path) -> None:
    """Download, authenticate and check the snapshot's catalog copy into ``dest``."""
    spool = dest.with_name(dest.name + ".sealed")
    digest = hashlib.sha256()
    try:
        with open(spool, "w+b") as sealed:
            try:
                for block in target.stream(blob_key(manifest.catalog.blob)):
                    digest.update(block)
                    sealed.write(block)
            except MissingBlob:
                raise IntegrityError(f"the catalog copy of snapshot {manifest.snapshot} is missing from the target") from None
            if digest.hexdigest() != manifest.catalog.blob:
                raise IntegrityError(f"the catalog copy of snapshot {manifest.snapshot} is corrupt in the target")
            plain = hashlib.sha256()
            try:
                meta, chunks = unseal_file(sealed, manifest.catalog.size, keys)
                with open(dest, "wb") as out:
                    for chunk in chunks:
                        plain.update(chunk)
                        out.write(chunk)
                    out.flush()
                    os.fsync(out.fileno())
            except SealError as exc:
                raise IntegrityError(f"the catalog copy of snapshot {manifest.snapshot} does not open: {exc}") from None
    finally:
        spool.unlink(missing_ok=True)
    if meta.get("snapshot") != manifest.snapshot or plain.hexdigest() != manifest.catalog.sha256:
        raise IntegrityError(f"the catalog copy of snapshot {manifest.snapshot} is not the one its manifest lists")
    check_integrity(dest)


def _copy_objects(
    archive: Archive, target: Target, manifest: Manifest, journal: _Journal, lock_available: bool,
    report: RestoreReport, on_progress: Callable[[object], None] | None,
) -> None:
    """Write every version into the bucket; versions of one key in order, keys in parallel."""
    by_key: dict[str, list[Entry]] = defaultdict(list)
    for entry in manifest.entries:
        by_key[entry.key].append(entry)
    counter = threading.Lock()

    def restore_key(entries: list[Entry]) -> None:
        for entry in sorted(entries, key=lambda e: (e.version or 0, e.version_id)):
            if (entry.key, entry.version_id) not in journal.done:
                new_id, locked = _put(archive, target, entry, lock_available)
                journal.add(entry.key, entry.version_id, new_id)
                with counter:
                    report.restored += 1
                    report.bytes += entry.size
                    if locked and entry.key.startswith(CHECKPOINT_PREFIX):
                        report.checkpoints_locked += 1
            if on_progress is not None:
                on_progress(entry.key)

    with ThreadPoolExecutor(max_workers=archive.settings.backup.threads) as pool:
        futures = [pool.submit(restore_key, entries) for entries in by_key.values()]
        try:
            for future in as_completed(futures):
                future.result()
        except BaseException:
            for future in futures:
                future.cancel()
            raise


def _put(archive: Archive, target: Target, entry: Entry, lock_available: bool) -> tuple[str, bool]:
    """Store one blob as a new version of ``entry.key``; return its version id and whether it is locked."""
    store = archive.store
    try:
        if not entry.is_record:
            data = target.read(blob_key(entry.blob))
            if hashlib.sha256(data).hexdigest() != entry.blob:
                raise IntegrityError(f"{entry.key}: blob {entry.blob[:16]} is corrupt in the backup target")
            until = datetime.fromisoformat(entry.retain_until) if entry.retain_until else None
            keep = lock_available and until is not None and until > datetime.now(UTC)
            return store.put_locked(entry.key, data, until if keep else None), keep
        reader = _DigestReader(target.stream(blob_key(entry.blob)))
        version_id = store.put_stream(entry.key, reader)  # type: ignore[arg-type]
    except MissingBlob:
        raise IntegrityError(f"{entry.key}: blob {entry.blob[:16]} is missing from the backup target") from None
    if reader.digest.hexdigest() != entry.blob:
        store.delete_version(entry.key, version_id)
        raise IntegrityError(f"{entry.name} v{entry.version}: blob {entry.blob[:16]} is corrupt in the backup target")
    return version_id, False


def _install(restored: Path, catalog_path: Path) -> None:
    """Replace the (empty, closed) catalog file with the restored one."""
    for suffix in ("-wal", "-shm"):
        catalog_path.with_name(catalog_path.name + suffix).unlink(missing_ok=True)
    os.replace(restored, catalog_path)
    fd = os.open(catalog_path.parent, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# --- one record into the live archive ---------------------------------------------------------


@dataclass
class RecordRestore:
    """What ``--record`` did with one version; ``replaced``: the S3 version id it stopped pointing at."""

    name: str
    version: int
    action: str
    detail: str = ""
    replaced: str = ""

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def restore_record(
    archive: Archive, target: Target, manifest: Manifest, name: str, version: int | None = None
) -> list[RecordRestore]:
    """Bring back the snapshot's copy of versions of ``name`` whose stored object is lost or damaged.

    Only versions the live catalog still knows, with the same content (SHA-256), are
    restored; a version that reads back intact is left alone, one that is damaged or that
    the storage cannot deliver is restored. The restored object is read back and checked
    before the catalog points at it. The replaced object version stays in the bucket (it is
    usually under Object Lock, and it is evidence); its id is returned for the audit trail,
    where ``verify`` finds it.
    """
    entries = [e for e in manifest.entries if e.name == name and (version is None or e.version == version)]
    if not entries:
        what = f"{name} v{version}" if version else name
        raise NotFound(f"snapshot {manifest.snapshot} holds no {what}")
    return [_restore_version(archive, target, entry) for entry in sorted(entries, key=lambda e: e.version or 0)]


def _restore_version(archive: Archive, target: Target, entry: Entry) -> RecordRestore:
    assert entry.name is not None and entry.version is not None
    with archive.catalog.read() as session:
        record, row = lookup(session, entry.name, entry.version)
        live = VersionRef.of(record, row)
        row_id = row.id
    if live.sha256 != entry.sha256:
        raise Conflict(f"{live.label} in the live archive differs from the snapshot's; not replaced")
    try:
        for _ in read_version(archive, live):
            pass
        return RecordRestore(entry.name, entry.version, "intact", "the live copy reads back correctly")
    except (IntegrityError, KeyMissing, ObjectUnreadable):
        pass
    store = archive.store
    reader = _DigestReader(_blob_stream(target, entry))
    new_id = store.put_stream(live.object_key, reader)  # type: ignore[arg-type]
    candidate = VersionRef(**{**asdict(live), "s3_version_id": new_id, "stored_size": entry.size,
                              "nonce": entry.nonce or ""})
    try:
        if reader.digest.hexdigest() != entry.blob:
            raise IntegrityError(f"{live.label}: blob {entry.blob[:16]} is corrupt in the backup target")
        for _ in read_version(archive, candidate):
            pass
    except StrongroomError:
        store.delete_version(live.object_key, new_id)
        raise
    with archive.catalog.write() as session:
        switched = session.execute(
            update(Version)
            .where(Version.id == row_id, Version.s3_version_id == live.s3_version_id)
            .values(s3_version_id=new_id, stored_size=entry.size, nonce=entry.nonce, key_id=entry.key_id)
        ).rowcount
    if not switched:
        store.delete_version(live.object_key, new_id)
        raise Conflict(f"{live.label} changed while it was being restored; try again")
    return RecordRestore(entry.name, entry.version, "restored", f"from blob {entry.blob[:16]}", live.s3_version_id)


def _blob_stream(target: Target, entry: Entry) -> Iterator[bytes]:
    try:
        yield from target.stream(blob_key(entry.blob))
    except MissingBlob:
        raise IntegrityError(f"{entry.name} v{entry.version}: blob {entry.blob[:16]} is missing from the backup target") from None
