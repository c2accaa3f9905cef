"""The service's single index writer: a thread with a queue of index jobs, and the hook filings call.

Uploads finish in request threads, several at once; each only enqueues the name of the record it
filed. One thread drains the queue in batches (duplicates collapse) and syncs those records, so no
two writers ever meet and no filing waits for the index. Jobs live in memory: if the service dies
with jobs queued, the catch-up it runs at every start finds the versions the index lacks.

How the service gets its queue: :func:`start_indexing`, called from the app's lifespan, gives the
queue to that :class:`Archive` object (its :class:`Indexing` part), and the lifespan stops it;
:func:`filed` (called by ``operations.records`` after every filing) enqueues when the archive has a
running queue, and otherwise — the CLI in local mode — indexes at once under the same lock. A
failure is logged, never raised: a filing is complete once stored, and the record waits for the
next catch-up or ``search reindex``.
"""

from __future__ import annotations

import logging
import queue
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from archive.service import Archive

# The indexer (Whoosh, the analyzer) is imported on first use: every CLI command imports this
# module through operations.records, and most of them never index anything.

log = logging.getLogger("strongroom.search")
BATCH = 64
STOP_SECONDS = 60.0
CATCH_UP = "catch-up"
REBUILD = "rebuild"
_STOP = object()


class Indexing:
    """The index writer an archive has while the service runs one (kept by the archive: :meth:`Archive.part`)."""

    def __init__(self, _archive: Archive) -> None:
        self.running: IndexQueue | None = None


class IndexQueue:
    """One thread writing the index of one archive; jobs are record names, CATCH_UP or REBUILD."""

    def __init__(self, archive: Archive) -> None:
        from search.indexer import index_for

        self.archive = archive
        self.index = index_for(archive)
        self._rebuild_asked = threading.Event()
        self._jobs: queue.Queue[object] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="search-index-writer", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def submit(self, job: str) -> None:
        self._jobs.put(job)

    def request_rebuild(self) -> None:
        """Rebuild the index (once, however many searches found it damaged meanwhile)."""
        if not self._rebuild_asked.is_set():
            self._rebuild_asked.set()
            self._jobs.put(REBUILD)

    def stop(self, timeout: float = STOP_SECONDS) -> None:
        """Finish the jobs already queued (up to ``timeout``), then end the thread; filings index at once again."""
        indexing = self.archive.part(Indexing, Indexing)
        if indexing.running is self:
            indexing.running = None
        self._jobs.put(_STOP)
        self._thread.join(timeout)

    def _run(self) -> None:
        from search.analysis import preload

        preload()
        while True:
            batch = [self._jobs.get()]
            while len(batch) < BATCH:
                try:
                    batch.append(self._jobs.get_nowait())
                except queue.Empty:
                    break
            stopping = _STOP in batch
            self._work({job for job in batch if isinstance(job, str)})
            if stopping:
                return

    def _work(self, jobs: set[str]) -> None:
        from search.index import IndexDamaged
        from search.indexer import catch_up, sync

        try:
            if REBUILD in jobs:
                self._rebuild()
            elif CATCH_UP in jobs:
                catch_up(self.archive, self.index)
            elif jobs:
                sync(self.archive, self.index, jobs, timeout=None)
        except IndexDamaged as exc:
            log.warning("%s; rebuilding it from the archive", exc)
            self._rebuild()
        except Exception:  # the writer thread must outlive any one failure
            log.exception("search: indexing %s failed; left for the next catch-up", sorted(jobs))

    def _rebuild(self) -> None:
        from search.indexer import rebuild

        self._rebuild_asked.set()
        try:
            report = rebuild(self.archive, self.index)
            log.warning("search: index rebuilt (%d versions, %d left out for now)", report.added, len(report.left_out))
        except Exception:  # see _work
            log.exception("search: rebuilding the index failed")
        finally:
            self._rebuild_asked.clear()


def start_indexing(archive: Archive) -> IndexQueue:
    """Start the archive's index writer and catch up with anything filed while it was not running."""
    started = IndexQueue(archive)
    started.start()
    started.submit(CATCH_UP)
    archive.part(Indexing, Indexing).running = started
    return started


def queue_for(archive: Archive) -> IndexQueue | None:
    """The archive's running index writer, if the service started one."""
    return archive.part(Indexing, Indexing).running


def filed(archive: Archive, name: str) -> None:
    """A version of ``name`` was filed: index it (queued in the service, at once otherwise). Never raises."""
    running = queue_for(archive)
    if running is not None:
        running.submit(name)
        return
    try:
        from search.indexer import index_for, sync

        sync(archive, index_for(archive), [name])
    except Exception as exc:  # noqa: BLE001 - indexing must never fail or undo a filing
        log.warning("search: %s was filed but not indexed (%s: %s); run 'strongroom search reindex'",
                    name, type(exc).__name__, exc)
