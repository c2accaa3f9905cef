"""The Whoosh index in ``HOME/index``: schema, private files, one writer at a time, damage detection, rebuild.

- **Private.** The directory is mode 0700 and every file 0600: the index holds the plaintext of
  every document (stored text and terms). It is derived data and never leaves the host.
- **One writer.** Whoosh allows one writer per index and its lock fails rather than waits, so
  writers (the service's queue thread, a local ``put``, ``search reindex``) first take an exclusive
  ``flock`` on ``HOME/run/search-index.lock``; a reader opening the index takes it shared, so it
  never sees half a commit.
- **Damage.** Whoosh is not crash-safe: it does not fsync, and a torn or altered segment is only
  noticed, if at all, as an odd exception in the middle of a search. After each commit the writer
  fsyncs the new files and records, in ``manifest.json``, the generation and every file's size,
  mtime and SHA-256 (new files only: segment files never change once written). Opening checks the
  generation and every file's size and mtime, and hashes a file whose mtime moved; so does every
  search, without the lock, on the files that are still there. A mismatch is :class:`IndexDamaged`:
  the caller rebuilds from the archive.
- **Rebuild** fills a fresh index beside the old one (searches go on meanwhile), then, holding the
  lock, lets the caller catch up with what was filed in the meantime and swaps the directories.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shutil
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from whoosh.fields import BOOLEAN, DATETIME, ID, NUMERIC, STORED, TEXT, Schema
from whoosh.filedb.filestore import FileStorage
from whoosh.filedb.structfile import StructFile
from whoosh.idsets import BitSet
from whoosh.query import Or, Query, Term
from whoosh.searching import Searcher
from whoosh.util.filelock import FileLock
from whoosh.writing import IndexWriter

from encryption.private_files import write_private_file
from errors import StrongroomError
from search.analysis import MixedAnalyzer

INDEX_NAME = "MAIN"
MANIFEST = "manifest.json"
MANIFEST_FORMAT = 1
TOC_FILE = re.compile(rf"^_{INDEX_NAME}_([0-9]+)\.toc$")
SEGMENT_FILE = re.compile(rf"^{INDEX_NAME}_[0-9a-z]+\.[A-Za-z0-9_.]+$")
WRITE_TIMEOUT = 30.0
READ_TIMEOUT = 30.0
BULK_WRITER_MB = 256
STALE_STAGING_SECONDS = 24 * 3600
FILTER_CACHE = 32
HASH_BLOCK = 1024 * 1024


def schema() -> Schema:
    analyzer = MixedAnalyzer()
    return Schema(
        key=ID(stored=True, unique=True, sortable=True),
        name=ID(stored=True),
        type=ID(stored=True),
        year=NUMERIC(int, stored=True),
        title=TEXT(analyzer=analyzer, stored=True, field_boost=2.0),
        body=TEXT(analyzer=analyzer, stored=True),
        filename=TEXT(analyzer=analyzer, stored=True),
        uploader=ID(stored=True),
        filed=DATETIME(stored=True),
        version=NUMERIC(int, stored=True),
        current=BOOLEAN(stored=True),
        content=ID(stored=True),
        note=STORED(),
    )


class IndexDamaged(StrongroomError):
    """The index files are not what the last commit left (a crash, a torn or altered file): rebuild it."""


class IndexBusy(StrongroomError):
    """Another writer held the index for longer than we may wait."""


class _PrivateStorage(FileStorage):  # type: ignore[misc]
    """Whoosh's file storage, creating every file 0600 and every directory 0700.

    It overrides only Whoosh's documented storage methods and keeps its directory itself,
    so it relies on no private part of ``FileStorage``.
    """

    def __init__(self, directory: Path) -> None:
        super().__init__(str(directory))
        self.directory = directory

    def create_file(self, name: str, excl: bool = False, mode: str = "wb", **kwargs: Any) -> Any:
        flags = os.O_CREAT | os.O_RDWR | (os.O_EXCL if excl else os.O_TRUNC)
        fd = os.open(self.directory / name, flags, 0o600)
        return StructFile(os.fdopen(fd, mode), name=name, **kwargs)

    def lock(self, name: str) -> Any:
        path = self.directory / name
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
        return FileLock(str(path))  # what FileStorage.lock returns, on a file made private first

    def temp_storage(self, name: str | None = None) -> Any:
        path = self.directory / (name or f"{uuid.uuid4().hex}.tmp")
        path.mkdir(mode=0o700, exist_ok=True)
        return _PrivateStorage(path)


@dataclass(frozen=True)
class Manifest:
    """What the last commit left: the index's identity, its generation and its files."""

    id: str
    generation: int
    files: dict[str, tuple[int, int, str]]  # name -> (size, mtime_ns, sha256)

    @property
    def stamp(self) -> tuple[str, int]:
        return self.id, self.generation


def _read_manifest(directory: Path) -> Manifest | None:
    try:
        data = json.loads((directory / MANIFEST).read_text(encoding="utf-8"))
        return Manifest(str(data["id"]), int(data["generation"]),
                        {name: (int(s), int(m), str(h)) for name, (s, m, h) in data["files"].items()})
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise IndexDamaged(f"search index manifest unreadable ({type(exc).__name__})") from None


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as source:
        while block := source.read(HASH_BLOCK):
            digest.update(block)
    return digest.hexdigest()


def _index_files(directory: Path) -> list[str]:
    try:
        names = os.listdir(directory)
    except FileNotFoundError:
        return []
    return sorted(name for name in names if TOC_FILE.match(name) or SEGMENT_FILE.match(name))


def _generation(files: Iterable[str]) -> int | None:
    found = [int(m.group(1)) for name in files if (m := TOC_FILE.match(name))]
    return max(found) if found else None


_rehashed: set[tuple[str, int, int]] = set()  # (path, size, mtime) found intact despite a new mtime


def _file_problem(directory: Path, name: str, entry: tuple[int, int, str], *, deep: bool) -> str | None:
    """Whether one file is as written (FileNotFoundError if it is gone)."""
    size, mtime_ns, sha256 = entry
    path = directory / name
    info = path.stat()
    if info.st_size != size:
        return f"{name} has {info.st_size} bytes, {size} were written"
    seen = (str(path), info.st_size, info.st_mtime_ns)
    if deep or (info.st_mtime_ns != mtime_ns and seen not in _rehashed):
        if _sha256(path) != sha256:
            return f"{name} was altered after it was written"
        _rehashed.add(seen)  # only touched (a copy, a restore): hash it once per process, not per search
    return None


def _problem(directory: Path, manifest: Manifest | None, *, deep: bool = False) -> str | None:
    """Why the files in ``directory`` are not what ``manifest`` recorded, or None (hold the lock)."""
    generation = _generation(_index_files(directory))
    if manifest is None:
        return None if generation is None else "index files without a manifest (a commit did not finish)"
    if generation != manifest.generation:
        return f"generation {generation} on disk, {manifest.generation} committed (a commit did not finish)"
    for name, entry in manifest.files.items():
        try:
            problem = _file_problem(directory, name, entry, deep=deep)
        except FileNotFoundError:
            return f"{name} is missing"
        if problem:
            return problem
    return None


def _altered(directory: Path, manifest: Manifest) -> str | None:
    """The lock-free check before each search: a commit in progress may delete files, never change one."""
    for name, entry in manifest.files.items():
        try:
            problem = _file_problem(directory, name, entry, deep=False)
        except FileNotFoundError:
            continue
        if problem:
            return problem
    return None


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _seal(directory: Path, previous: Manifest | None, index_id: str) -> Manifest:
    """Flush the files of the last commit and record them in the manifest."""
    files = _index_files(directory)
    known = previous.files if previous is not None else {}
    recorded: dict[str, tuple[int, int, str]] = {}
    for name in files:
        path = directory / name
        info = path.stat()
        if info.st_mode & 0o077:
            path.chmod(0o600)
        old = known.get(name)
        if old is not None and old[:2] == (info.st_size, info.st_mtime_ns):
            recorded[name] = old
            continue
        _fsync(path)
        recorded[name] = (info.st_size, info.st_mtime_ns, _sha256(path))
    manifest = Manifest(index_id, _generation(files) or 0, recorded)
    body = {"format": MANIFEST_FORMAT, "id": manifest.id, "generation": manifest.generation,
            "files": {name: list(entry) for name, entry in recorded.items()}}
    write_private_file(directory / MANIFEST, json.dumps(body, indent=1).encode())
    return manifest


@contextmanager
def _flock(path: Path, *, exclusive: bool, timeout: float | None) -> Iterator[None]:
    """An ``flock`` on ``path`` (shared or exclusive), waiting at most ``timeout`` seconds (None: forever)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        mode = fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH
        if timeout is None:
            fcntl.flock(fd, mode)
        else:
            deadline = time.monotonic() + timeout
            while True:
                try:
                    fcntl.flock(fd, mode | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        raise IndexBusy(f"the search index stayed locked for {timeout:.0f} s") from None
                    time.sleep(0.02)
        yield
    finally:
        os.close(fd)  # releases the lock


# -- reading what the index holds ------------------------------------------------------------------

def stored_by_key(searcher: Searcher, key: str) -> dict[str, Any] | None:
    docnum = searcher.document_number(key=key)
    return None if docnum is None else dict(searcher.stored_fields(docnum))


def state(searcher: Searcher, names: Iterable[str] | None = None) -> dict[str, bool]:
    """``key -> current`` of every document, or of the documents of the named records."""
    if names is None:
        if searcher.doc_count_all() == 0:  # an empty index has no columns to read
            return {}
        keys = searcher.reader().column_reader("key")
        current = set(searcher.docs_for_query(Term("current", True)))
        return {keys[docnum]: docnum in current for docnum in searcher.reader().all_doc_ids()}
    wanted = [Term("name", name) for name in names]
    if not wanted:
        return {}
    return {
        fields["key"]: bool(fields["current"])
        for fields in (searcher.stored_fields(docnum) for docnum in searcher.docs_for_query(Or(wanted)))
    }


@dataclass
class OpenIndex:
    """A searcher on one committed state of the index, with the filters already computed for it."""

    stamp: tuple[str, int]
    searcher: Searcher
    filters: dict[Any, BitSet] = field(default_factory=dict)

    def filter(self, cache_key: Any, query: Query) -> BitSet:
        """The documents matching ``query`` (cached: filters repeat from search to search)."""
        found = self.filters.get(cache_key)
        if found is None:
            if len(self.filters) >= FILTER_CACHE:
                self.filters.clear()
            found = BitSet(self.searcher.docs_for_query(query), size=self.searcher.doc_count_all())
            self.filters[cache_key] = found
        return found


class Writer:
    """The one writer, while the exclusive lock is held: add, replace and delete documents by key."""

    def __init__(self, writer: IndexWriter) -> None:
        self._writer = writer
        self.changes = 0

    def searcher(self) -> Searcher:
        """The index as it was when writing began (without this writer's changes)."""
        return self._writer.searcher()

    def put(self, fields: dict[str, Any]) -> None:
        self._writer.update_document(**fields)
        self.changes += 1

    def delete(self, key: str) -> None:
        self._writer.delete_by_term("key", key)
        self.changes += 1


class SearchIndex:
    """The index of one home (``path``), coordinated with other processes through ``lock_path``."""

    def __init__(self, path: Path, lock_path: Path) -> None:
        self.path = path
        self.lock_path = lock_path
        self._local = threading.local()

    def exists(self) -> bool:
        return (self.path / MANIFEST).exists() or bool(_index_files(self.path))

    # -- reading -----------------------------------------------------------------------------------

    def reading(self) -> OpenIndex | None:
        """This thread's searcher on the latest commit (None if there is no index yet); IndexDamaged."""
        try:
            manifest = _read_manifest(self.path)
        except IndexDamaged:
            manifest = None  # being replaced right now, or really damaged: decide under the lock
        cached: OpenIndex | None = getattr(self._local, "open", None)
        if cached is not None and manifest is not None and cached.stamp == manifest.stamp:
            problem = _altered(self.path, manifest)
            if problem:
                raise IndexDamaged(f"search index damaged: {problem}")
            return cached
        with _flock(self.lock_path, exclusive=False, timeout=READ_TIMEOUT):
            manifest = _read_manifest(self.path)
            problem = _problem(self.path, manifest)
            if problem:
                raise IndexDamaged(f"search index damaged: {problem}")
            if manifest is None:
                return None
            opened = OpenIndex(manifest.stamp, _PrivateStorage(self.path).open_index(INDEX_NAME).searcher())
        if cached is not None:
            cached.searcher.close()
        self._local.open = opened
        return opened

    def verify(self) -> str | None:
        """Hash every file against the manifest (after an unexpected error); the problem, or None."""
        with _flock(self.lock_path, exclusive=False, timeout=READ_TIMEOUT):
            return _problem(self.path, _read_manifest(self.path), deep=True)

    # -- writing -----------------------------------------------------------------------------------

    @contextmanager
    def writing(self, timeout: float | None = WRITE_TIMEOUT) -> Iterator[Writer]:
        """The one writer; its changes are committed and sealed when the block ends without an error."""
        with _flock(self.lock_path, exclusive=True, timeout=timeout):
            manifest = _read_manifest(self.path)
            problem = _problem(self.path, manifest)
            if problem:
                raise IndexDamaged(f"search index damaged: {problem}")
            if manifest is None:
                self.path.mkdir(mode=0o700, parents=True, exist_ok=True)
                _PrivateStorage(self.path).create_index(schema(), indexname=INDEX_NAME)
                manifest = _seal(self.path, None, uuid.uuid4().hex)
            ix = _PrivateStorage(self.path).open_index(INDEX_NAME)
            writer = Writer(ix.writer())
            try:
                yield writer
            except BaseException:
                writer._writer.cancel()
                raise
            if writer.changes:
                writer._writer.commit()
                _seal(self.path, manifest, manifest.id)
            else:
                writer._writer.cancel()

    def rebuild(self, fill: Callable[[Writer], None], finish: Callable[[Writer], None]) -> None:
        """Build a new index with ``fill`` (no lock held), then under the lock run ``finish`` and swap it in."""
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        self._remove_stale_staging()
        staging = self.path.with_name(f"{self.path.name}.rebuild-{uuid.uuid4().hex[:12]}")
        staging.mkdir(mode=0o700)
        try:
            storage = _PrivateStorage(staging)
            ix = storage.create_index(schema(), indexname=INDEX_NAME)
            bulk = ix.writer(limitmb=BULK_WRITER_MB)
            try:
                fill(Writer(bulk))
            except BaseException:
                bulk.cancel()
                raise
            bulk.commit(optimize=True)
            with _flock(self.lock_path, exclusive=True, timeout=None):
                last = Writer(ix.writer())
                finish(last)
                if last.changes:
                    last._writer.commit()
                else:
                    last._writer.cancel()
                _seal(staging, None, uuid.uuid4().hex)
                self._swap(staging)
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    def _swap(self, staging: Path) -> None:
        old = self.path.with_name(f"{self.path.name}.old-{uuid.uuid4().hex[:12]}")
        if self.path.exists():
            os.rename(self.path, old)
        os.rename(staging, self.path)
        _fsync(self.path.parent)
        shutil.rmtree(old, ignore_errors=True)

    def _remove_stale_staging(self) -> None:
        """Left-overs of rebuilds that died (a running rebuild's staging directory is younger)."""
        now = time.time()
        for leftover in self.path.parent.glob(f"{self.path.name}.rebuild-*"):
            if now - leftover.stat().st_mtime > STALE_STAGING_SECONDS:
                shutil.rmtree(leftover, ignore_errors=True)
        for leftover in self.path.parent.glob(f"{self.path.name}.old-*"):
            shutil.rmtree(leftover, ignore_errors=True)
