"""Taking a snapshot: every stored object version the catalog references, as stored, plus the catalog.

Order of a run, which is what makes it consistent and crash-safe:

1. list the audit checkpoints in the bucket, *then* copy the catalog (SQLite backup
   API): a checkpoint is written after the event it names is committed, so every
   listed checkpoint names an event inside the copy; then list the number markers
   (``numbers/``): a marker is written after its void or disposal is committed, so
   listing them after the copy finds the marker of nearly every void number in it
   (one written in between is written again by ``repair`` after a restore);
2. copy each object version the copy references (current and archived versions),
   each checkpoint version and each number marker version into a blob named by its
   SHA-256, unless the target holds it already (known from the hash cache or the newest
   manifest, or found by digest); each copy is noted in the hash cache as soon as its
   blob is stored;
3. if a referenced version vanished meanwhile (a concurrent new version or key
   rotation deletes the superseded S3 version after switching the catalog), start
   again from step 1 — cheap, since everything copied is known by then;
4. seal the catalog copy into a blob; flush the target; write the sealed manifest.

Only step 4's manifest makes a snapshot exist, so an interrupted run leaves no
complete-looking snapshot, and the next run finds its blobs through the hash cache.
"""

from __future__ import annotations

import hashlib
import secrets
import socket
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass
from pathlib import Path

from archive.service import Archive, utcnow
from audit.checkpoints import PREFIX as CHECKPOINT_PREFIX
from backup.catalog_copy import (
    CatalogContents,
    StoredRef,
    copy_catalog,
    read_contents,
    sqlite_path,
)
from backup.hash_cache import HashCache, Known
from backup.layout import blob_key, new_snapshot_id, snapshot_key
from backup.manifest import CatalogCopy, Entry, Manifest, encode
from backup.repository import blob_sizes, newest_manifest, snapshot_ids
from backup.sealing import keys_of, sealing_reader
from backup.targets import Target
from errors import IntegrityError
from naming import NUMBERS_PREFIX
from storage.s3 import MissingObject

MEMORY_LIMIT = 16 * 1024 * 1024
READ_BLOCK = 1024 * 1024
ATTEMPTS = 3
CATALOG_KIND = "strongroom-catalog"


@dataclass
class RunReport:
    """What a run did. ``copied_bytes`` were written to the target (objects and the sealed catalog)."""

    snapshot: str
    target: str
    objects: int = 0
    stored_bytes: int = 0
    copied: int = 0
    copied_bytes: int = 0
    read_bytes: int = 0
    reused: int = 0
    records: int = 0
    versions: int = 0
    checkpoints: int = 0
    numbers: int = 0
    catalog_bytes: int = 0
    seconds: float = 0.0

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass(frozen=True)
class _Item:
    """One object version to back up: a record version (``ref``), an audit checkpoint or a number marker."""

    key: str
    version_id: str
    size: int
    ref: StoredRef | None


class _Copier:
    """Copies object versions from the bucket into blobs of the target, from several threads."""

    def __init__(self, archive: Archive, target: Target, cache: HashCache, existing: dict[str, int],
                 report: RunReport, spool_dir: Path) -> None:
        self.archive = archive
        self.target = target
        self.cache = cache
        self.existing = existing
        self.report = report
        self.spool_dir = spool_dir
        self._lock = threading.Lock()

    def copy_all(self, items: list[_Item], on_progress: Callable[[object], None] | None) -> list[tuple[_Item, Entry | None]]:
        """Back up every item; an item whose version vanished from the bucket comes back with None."""
        results: list[tuple[_Item, Entry | None]] = []
        with ThreadPoolExecutor(max_workers=self.archive.settings.backup.threads) as pool:
            futures = {pool.submit(self.copy, item): item for item in items}
            try:
                for future in as_completed(futures):
                    results.append((futures[future], future.result()))
                    if on_progress is not None:
                        on_progress(futures[future].key)
            except BaseException:
                for future in futures:
                    future.cancel()
                raise
        return results

    def copy(self, item: _Item) -> Entry | None:
        known = self.cache.get(item.key, item.version_id)
        nonce = item.ref.nonce if item.ref else None
        if known and known.size == item.size and known.nonce == nonce and self.existing.get(known.blob) == known.size:
            self._count(reused=1)
            return _entry(item, known)
        try:
            known = self._copy_record(item, item.ref) if item.ref else self._copy_small(item)
        except MissingObject:
            return None
        self.cache.add(item.key, item.version_id, known)
        return _entry(item, known)

    def _copy_small(self, item: _Item) -> Known:
        """A checkpoint or number marker: read whole, kept with its retention date."""
        stored = self.archive.store.read_object(item.key, item.version_id)
        until = stored.retain_until.isoformat() if stored.lock_mode and stored.retain_until else None
        return Known(self._store_bytes(stored.data), len(stored.data), until)

    def _copy_record(self, item: _Item, ref: StoredRef) -> Known:
        blocks = self.archive.store.stream_range(item.key, item.version_id, 0, item.size, READ_BLOCK)
        if item.size <= MEMORY_LIMIT:
            data = b"".join(blocks)
            self._check_size(item, len(data))
            return Known(self._store_bytes(data), len(data), nonce=ref.nonce)
        digest = hashlib.sha256()
        with tempfile.NamedTemporaryFile(dir=self.spool_dir, prefix="spool-") as spool:
            size = 0
            for block in blocks:
                digest.update(block)
                spool.write(block)
                size += len(block)
            spool.flush()
            self._check_size(item, size)
            blob = digest.hexdigest()
            self._count(read_bytes=size)
            if self.existing.get(blob) != size:
                self.target.put_file(blob_key(blob), Path(spool.name))
                self._stored(blob, size)
        return Known(blob, size, nonce=ref.nonce)

    def _store_bytes(self, data: bytes) -> str:
        blob = hashlib.sha256(data).hexdigest()
        self._count(read_bytes=len(data))
        if self.existing.get(blob) != len(data):
            self.target.put_bytes(blob_key(blob), data)
            self._stored(blob, len(data))
        return blob

    def _stored(self, blob: str, size: int) -> None:
        self.existing[blob] = size
        self._count(copied=1, copied_bytes=size)

    @staticmethod
    def _check_size(item: _Item, size: int) -> None:
        if size != item.size:
            ref = item.ref
            what = f"{ref.name} v{ref.version}" if ref else item.key
            raise IntegrityError(f"{what}: the bucket returned {size} bytes, the catalog records {item.size}")

    def _count(self, **amounts: int) -> None:
        with self._lock:
            for name, amount in amounts.items():
                setattr(self.report, name, getattr(self.report, name) + amount)


def _known(entry: Entry) -> Known:
    return Known(entry.blob, entry.size, entry.retain_until, entry.nonce)


def _entry(item: _Item, known: Known) -> Entry:
    ref = item.ref
    if ref is None:
        return Entry(item.key, item.version_id, known.blob, known.size, retain_until=known.retain_until)
    return Entry(item.key, item.version_id, known.blob, known.size, name=ref.name, version=ref.version,
                 nonce=ref.nonce, key_id=ref.key_id, sha256=ref.sha256)


def run_backup(
    archive: Archive,
    target_name: str,
    target: Target,
    *,
    on_start: Callable[[int], None] | None = None,
    on_progress: Callable[[object], None] | None = None,
) -> RunReport:
    """Take one complete snapshot of ``archive`` into ``target`` (the caller holds the backup lock)."""
    clock = time.monotonic()
    settings = archive.settings
    live_catalog = sqlite_path(archive.catalog.url)
    started = utcnow()
    snapshot_id = new_snapshot_id(started, secrets.token_hex(4), snapshot_ids(target))
    report = RunReport(snapshot_id, target_name)
    work = settings.run_dir / "backup"
    work.mkdir(mode=0o700, parents=True, exist_ok=True)
    keys = keys_of(archive.keyring)
    cache = HashCache(settings.run_dir)
    newest = newest_manifest(target, keys)
    if newest is not None:
        cache.learn((e.key, e.version_id, _known(e)) for e in newest.entries)
    copier = _Copier(archive, target, cache, blob_sizes(target), report, work)
    catalog_file = work / f"catalog-{snapshot_id}.sqlite3"
    try:
        entries, contents = _copy_consistent(archive, copier, live_catalog, catalog_file, on_start, on_progress)
        catalog = _store_catalog(archive, copier, catalog_file, snapshot_id)
    finally:
        catalog_file.unlink(missing_ok=True)
    entries.sort(key=lambda e: (e.key, e.version_id))
    records = [e for e in entries if e.is_record]
    manifest = Manifest(
        snapshot=snapshot_id,
        started=started.isoformat(),
        completed=utcnow().isoformat(),
        source={"bucket": settings.storage.bucket, "endpoint": settings.storage.endpoint, "host": socket.gethostname()},
        catalog=catalog,
        audit_head=contents.audit_head,
        counts={"records": contents.records, "versions": len(records),
                "checkpoints": sum(e.key.startswith(CHECKPOINT_PREFIX) for e in entries),
                "numbers": sum(e.key.startswith(NUMBERS_PREFIX) for e in entries)},
        entries=entries,
    )
    target.sync()
    target.put_bytes(snapshot_key(snapshot_id), encode(manifest, archive.keyring.primary))
    target.sync()
    cache.replace((e.key, e.version_id, _known(e)) for e in entries)
    report.objects = len(entries)
    report.stored_bytes = manifest.stored_bytes
    report.records, report.versions, report.checkpoints, report.numbers = (
        manifest.counts["records"], manifest.counts["versions"], manifest.counts["checkpoints"],
        manifest.counts["numbers"],
    )
    report.catalog_bytes = catalog.plain_size
    report.seconds = time.monotonic() - clock
    return report


def _copy_consistent(
    archive: Archive,
    copier: _Copier,
    live_catalog: Path,
    catalog_file: Path,
    on_start: Callable[[int], None] | None,
    on_progress: Callable[[object], None] | None,
) -> tuple[list[Entry], CatalogContents]:
    """Copy the catalog and everything it references; retry when a referenced version vanished meanwhile."""
    vanished: list[_Item] = []
    for attempt in range(ATTEMPTS):
        checkpoints = [v for v in archive.store.list_versions(CHECKPOINT_PREFIX) if v.key.startswith(CHECKPOINT_PREFIX)]
        copy_catalog(live_catalog, catalog_file)
        markers = [v for v in archive.store.list_versions(NUMBERS_PREFIX) if v.key.startswith(NUMBERS_PREFIX)]
        contents = read_contents(catalog_file)
        items = [_Item(r.key, r.version_id, r.stored_size, r) for r in contents.refs]
        items += [_Item(c.key, c.version_id, c.size, None) for c in checkpoints + markers]
        if attempt == 0 and on_start is not None:
            on_start(len(items))
        copier.report.reused = 0  # counted for the pass that completes the snapshot
        results = copier.copy_all(items, on_progress)
        vanished = [item for item, entry in results if entry is None and item.ref is not None]
        if not vanished:
            return [entry for _, entry in results if entry is not None], contents
    first = vanished[0].ref
    assert first is not None
    raise IntegrityError(
        f"{len(vanished)} object version(s) the catalog references are missing from the bucket "
        f"(first: {first.name} v{first.version}); run 'strongroom verify'"
    )


def _store_catalog(archive: Archive, copier: _Copier, catalog_file: Path, snapshot_id: str) -> CatalogCopy:
    """Seal the catalog copy with the backup key and store it as a blob."""
    digest = hashlib.sha256()
    sealed_path = catalog_file.with_suffix(".sealed")
    try:
        with open(catalog_file, "rb") as plain, open(sealed_path, "wb") as sealed:
            reader = sealing_reader(archive.keyring.primary, plain, {"kind": CATALOG_KIND, "snapshot": snapshot_id})
            while block := reader.read(READ_BLOCK):
                digest.update(block)
                sealed.write(block)
        blob, size = digest.hexdigest(), sealed_path.stat().st_size
        if copier.existing.get(blob) != size:
            copier.target.put_file(blob_key(blob), sealed_path)
            copier.existing[blob] = size
            copier.report.copied_bytes += size
    finally:
        sealed_path.unlink(missing_ok=True)
    return CatalogCopy(blob=blob, size=size, sha256=reader.sha256, plain_size=reader.size)
