"""Bringing a home's index in line with its archive: which versions exist, their text, the writes.

Every change goes through :func:`sync`: read the catalog's view of some records and the index's,
:func:`search.documents.plan` the difference, read and extract the new versions' text (outside the
lock: that is the slow part), then take the one writer, plan again against what the index holds now,
and apply. A filing, the catch-up after a crash and the end of a rebuild are all this comparison,
so doing one twice, or out of order, is harmless.

A version whose bytes cannot be fetched (storage unreachable, or this one object unreadable) is left
out, reported (``SyncReport.left_out``), and stays missing until the next sync of its record, the
service's catch-up at start, or ``search reindex``: each compares the catalog with the index, so
they try it again. A rebuild leaves out an unreadable version the same way, but stops when the
storage cannot be reached at all (keeping the old index): a rebuild missing everything would look
complete.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from archive.reading import VersionRef, read_version
from archive.service import Archive, as_utc
from catalog.schema import Record, RecordState, VersionState
from errors import IntegrityError, KeyMissing, ObjectUnreadable, StrongroomError
from search.documents import Plan, VersionInfo, document, plan, restamped
from search.extract import Extracted, extract, skip_reason
from search.index import WRITE_TIMEOUT, SearchIndex, Writer, state, stored_by_key

log = logging.getLogger("strongroom.search")
READERS = 4  # versions fetched and extracted at once
CHUNK = 100  # records per commit when syncing many

def index_for(archive: Archive) -> SearchIndex:
    """The index of the archive's home (one object per open archive, kept by it, so searchers are reused)."""
    return archive.part(SearchIndex, _open_index)


def _open_index(archive: Archive) -> SearchIndex:
    settings = archive.settings
    return SearchIndex(settings.home / "index", settings.run_dir / "search-index.lock")


def catalog_versions(archive: Archive, names: Iterable[str] | None = None) -> list[VersionInfo]:
    """Every stored version of the active records (or of the named ones), as the index should see them."""
    query = (
        select(Record)
        .where(Record.state == RecordState.ACTIVE)
        .options(selectinload(Record.versions))
        .order_by(Record.id)
    )
    if names is not None:
        query = query.where(Record.name.in_(list(names)))
    with archive.catalog.read() as session:
        return [
            VersionInfo(
                name=record.name, type=record.type, year=record.year, title=record.title,
                version=version.version, current=version.state == VersionState.CURRENT,
                filed_at=as_utc(version.filed_at), filed_by=version.filed_by, filename=version.filename,
                size=version.size or 0, ref=VersionRef.of(record, version),
            )
            for record in session.scalars(query)
            for version in record.versions
            if version.state in (VersionState.CURRENT, VersionState.ARCHIVED)
        ]


def content(archive: Archive, info: VersionInfo) -> Extracted:
    """The text of one version (decrypted and checked); StorageUnavailable and the like propagate."""
    reason = skip_reason(info.filename, info.size)
    if reason:
        return Extracted("", reason)
    try:
        data = b"".join(read_version(archive, info.ref))
    except (IntegrityError, KeyMissing) as exc:
        return Extracted("", f"content could not be read ({exc}); metadata only")
    return extract(data, info.filename)


@dataclass(frozen=True)
class NotRead:
    """A version whose bytes could not be fetched now: left out of the index, tried again by the next sync."""

    name: str
    version: int
    reason: str

    def __str__(self) -> str:
        return f"{self.name} v{self.version}: {self.reason}"


def contents(
    archive: Archive, infos: list[VersionInfo], *, skip: tuple[type[StrongroomError], ...]
) -> Iterator[tuple[VersionInfo, Extracted | NotRead]]:
    """Each version with its text, fetched a few at a time; :class:`NotRead` for one that failed with ``skip``."""
    def one(info: VersionInfo) -> Extracted | NotRead:
        try:
            return content(archive, info)
        except skip as exc:
            log.warning("search: %s v%d not indexed now: %s", info.name, info.version, exc)
            return NotRead(info.name, info.version, str(exc))

    with ThreadPoolExecutor(max_workers=READERS, thread_name_prefix="search-read") as pool:
        for start in range(0, len(infos), READERS * 8):
            window = infos[start:start + READERS * 8]
            yield from zip(window, pool.map(one, window), strict=True)


def _read_one(archive: Archive) -> Callable[[VersionInfo], Extracted | NotRead]:
    """Read one version's text as a sync does (any failure of the archive leaves it out)."""
    return lambda info: next(contents(archive, [info], skip=(StrongroomError,)))[1]


@dataclass
class SyncReport:
    """What a sync or rebuild wrote, and the versions it left out (to be tried again)."""

    added: int = 0
    restamped: int = 0
    deleted: int = 0
    left_out: list[NotRead] = field(default_factory=list)

    def merge(self, other: SyncReport) -> None:
        self.added += other.added
        self.restamped += other.restamped
        self.deleted += other.deleted
        self.left_out.extend(other.left_out)


def apply(writer: Writer, todo: Plan, texts: dict[str, Extracted | NotRead],
          read: Callable[[VersionInfo], Extracted | NotRead]) -> SyncReport:
    """Write a plan: new versions from ``texts`` (else ``read``), re-stamped ones from their stored fields."""
    report = SyncReport()
    for info in todo.add:
        extracted = texts[info.key] if info.key in texts else read(info)
        if isinstance(extracted, NotRead):
            report.left_out.append(extracted)
            continue
        writer.put(document(info, extracted))
        report.added += 1
    searcher = writer.searcher()
    for info in todo.restamp:
        stored = stored_by_key(searcher, info.key)
        if stored is not None:
            writer.put(restamped(stored, info.current))
            report.restamped += 1
    for key in todo.delete:
        writer.delete(key)
        report.deleted += 1
    return report


def sync(archive: Archive, index: SearchIndex, names: Iterable[str],
         timeout: float | None = WRITE_TIMEOUT) -> SyncReport:
    """Make the index hold exactly the catalog's stored versions of the named records."""
    report = SyncReport()
    ordered = sorted(set(names))
    for start in range(0, len(ordered), CHUNK):
        report.merge(_sync_chunk(archive, index, ordered[start:start + CHUNK], timeout))
    return report


def _sync_chunk(archive: Archive, index: SearchIndex, names: list[str], timeout: float | None) -> SyncReport:
    infos = catalog_versions(archive, names)
    opened = index.reading() if index.exists() else None
    first = plan(infos, state(opened.searcher, names) if opened else {})
    texts = {info.key: text for info, text in contents(archive, first.add, skip=(StrongroomError,))}
    with index.writing(timeout) as writer:
        now = plan(infos, state(writer.searcher(), names))
        return apply(writer, now, texts, _read_one(archive))


def catch_up(archive: Archive, index: SearchIndex) -> SyncReport:
    """Index what was filed but not indexed (a crash, an unreachable store), drop what is gone."""
    if not index.exists():
        return rebuild(archive, index)
    opened = index.reading()
    indexed = state(opened.searcher) if opened else {}
    todo = plan(catalog_versions(archive), indexed)
    names = {info.name for info in (*todo.add, *todo.restamp)} | {key.rsplit("@", 1)[0] for key in todo.delete}
    return sync(archive, index, names, timeout=None)


def rebuild(archive: Archive, index: SearchIndex,
            on_progress: Callable[[int, int], None] | None = None) -> SyncReport:
    """A new index from every stored version (decrypting each), swapped in when complete.

    A version the storage cannot deliver (``ObjectUnreadable``) is left out and reported; the
    storage failing altogether aborts the rebuild and keeps the old index: a rebuild missing
    text would look complete.
    """
    infos = catalog_versions(archive)
    report = SyncReport()
    unread: dict[str, Extracted | NotRead] = {}

    def fill(writer: Writer) -> None:
        for done, (info, extracted) in enumerate(contents(archive, infos, skip=(ObjectUnreadable,)), start=1):
            if isinstance(extracted, NotRead):
                unread[info.key] = extracted
            else:
                writer.put(document(info, extracted))
                report.added += 1
            if on_progress is not None:
                on_progress(done, len(infos))

    def finish(writer: Writer) -> None:
        """Holding the lock: what was filed while the bulk of the index was being built (and what was left out)."""
        todo = plan(catalog_versions(archive), state(writer.searcher()))
        report.merge(apply(writer, todo, unread, _read_one(archive)))

    index.rebuild(fill, finish)
    return report
