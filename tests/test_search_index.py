"""The index files: private modes, one writer at a time, damage detected, rebuilt and swapped in."""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

import pytest

from search.documents import VersionInfo, document
from search.extract import Extracted
from search.index import (
    MANIFEST,
    IndexBusy,
    IndexDamaged,
    SearchIndex,
    Writer,
    _flock,
    state,
)
from search.query import FULL, Filters, run
from tests.test_search_query import info


def make_index(tmp_path: Path) -> SearchIndex:
    return SearchIndex(tmp_path / "home" / "index", tmp_path / "home" / "run" / "search-index.lock")


def put(index: SearchIndex, *docs: tuple[VersionInfo, str]) -> None:
    with index.writing() as writer:
        for version, text in docs:
            writer.put(document(version, Extracted(text)))


def found(index: SearchIndex, text: str) -> list[str]:
    return [hit.name for hit in run(index, text, Filters(all_versions=True), None, 50, lambda *_: FULL)]


def segment_files(index: SearchIndex) -> list[Path]:
    return sorted(index.path.glob("MAIN_*.seg"))


def test_index_files_are_private(tmp_path: Path) -> None:
    index = make_index(tmp_path)
    put(index, (info("2026-0001-letter"), "备份 policy"))
    assert stat.S_IMODE(index.path.stat().st_mode) == 0o700
    files = [p for p in index.path.rglob("*") if p.is_file()]
    assert files and {stat.S_IMODE(p.stat().st_mode) for p in files} == {0o600}
    assert stat.S_IMODE(index.lock_path.stat().st_mode) == 0o600


def test_readers_see_each_commit(tmp_path: Path) -> None:
    index = make_index(tmp_path)
    put(index, (info("2026-0001-letter"), "first backup"))
    assert found(index, "backup") == ["2026-0001-letter"]
    put(index, (info("2026-0002-letter"), "second backup"))
    assert sorted(found(index, "backup")) == ["2026-0001-letter", "2026-0002-letter"]
    with index.writing() as writer:
        writer.delete("2026-0001-letter@1")
    assert found(index, "backup") == ["2026-0002-letter"]


def test_one_writer_at_a_time_and_no_update_is_lost(tmp_path: Path) -> None:
    index = make_index(tmp_path)
    errors: list[BaseException] = []

    def file_one(number: int) -> None:
        try:
            put(index, (info(f"2026-{number:04d}-letter"), f"concurrent 备份 number{number}"))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=file_one, args=(n,)) for n in range(1, 9)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(found(index, "备份")) == 8


def test_a_writer_waits_for_the_lock_and_gives_up_after_its_timeout(tmp_path: Path) -> None:
    index = make_index(tmp_path)
    put(index, (info("2026-0001-letter"), "text"))
    with _flock(index.lock_path, exclusive=True, timeout=1), pytest.raises(IndexBusy), index.writing(timeout=0.2):
        pass


def test_a_truncated_segment_is_detected(tmp_path: Path) -> None:
    index = make_index(tmp_path)
    put(index, (info("2026-0001-letter"), "备份 " * 200))
    [segment] = segment_files(index)
    with open(segment, "r+b") as handle:
        handle.truncate(segment.stat().st_size // 2)
    fresh = make_index(tmp_path)  # another process
    with pytest.raises(IndexDamaged, match="bytes"):
        fresh.reading()
    with pytest.raises(IndexDamaged):
        put(fresh, (info("2026-0002-letter"), "more"))


def test_a_garbled_segment_is_detected_on_opening_and_by_verify(tmp_path: Path) -> None:
    index = make_index(tmp_path)
    put(index, *[(info(f"2026-{n:04d}-letter"), f"customer report number {n} 备份") for n in range(1, 40)])
    assert len(found(index, "备份")) == 39  # this thread's searcher is open (and cached) now
    [segment] = segment_files(index)
    data = bytearray(segment.read_bytes())
    data[len(data) // 3: len(data) // 3 + 64] = os.urandom(64)
    segment.write_bytes(bytes(data))
    with pytest.raises(IndexDamaged, match="altered"):
        make_index(tmp_path).reading()
    assert "altered" in (index.verify() or "")


def test_a_commit_that_did_not_finish_is_detected(tmp_path: Path) -> None:
    index = make_index(tmp_path)
    put(index, (info("2026-0001-letter"), "text"))
    manifest = (index.path / MANIFEST).read_bytes()
    put(index, (info("2026-0002-letter"), "text"))
    (index.path / MANIFEST).write_bytes(manifest)  # as if the process died after Whoosh's commit
    with pytest.raises(IndexDamaged, match="did not finish"):
        make_index(tmp_path).reading()


def test_a_rebuild_replaces_a_damaged_index_and_catches_up(tmp_path: Path) -> None:
    index = make_index(tmp_path)
    put(index, (info("2026-0001-letter"), "old text"))
    [segment] = segment_files(index)
    segment.write_bytes(b"garbage")

    def fill(writer: Writer) -> None:
        writer.put(document(info("2026-0001-letter"), Extracted("rebuilt text")))

    def finish(writer: Writer) -> None:
        assert state(writer.searcher()) == {"2026-0001-letter@1": True}
        writer.put(document(info("2026-0002-letter"), Extracted("filed during the rebuild")))

    index.rebuild(fill, finish)
    assert found(index, "rebuilt") == ["2026-0001-letter"] and found(index, "during") == ["2026-0002-letter"]
    assert found(index, "old") == []
    assert [p.name for p in index.path.parent.iterdir() if p.name.startswith("index")] == ["index"]
    assert stat.S_IMODE(index.path.stat().st_mode) == 0o700


def test_state_of_an_empty_index_is_empty(tmp_path) -> None:
    from whoosh import fields
    from whoosh.index import create_in

    from search.index import state

    empty = create_in(str(tmp_path), fields.Schema(key=fields.ID(stored=True), current=fields.BOOLEAN))
    with empty.searcher() as searcher:
        assert state(searcher) == {}
