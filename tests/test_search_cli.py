"""Search in local mode against real S3: filing indexes, permissions, show's status, damage and reindex, audit sample."""

from __future__ import annotations

import json
import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result

from archive.service import Archive
from commands.common import State
from commands.search import audit_sample, search
from config.settings import Settings
from errors import Forbidden, UsageError
from operations.search import SearchUnavailable
from search.indexer import catch_up, index_for, sync
from search.queue import queue_for, start_indexing
from tests.conftest import cli, cli_process
from tests.helpers import flip_byte_in_volume, raw_object
from tests.test_search_analysis import SEED
from tests.test_search_extract import docx_bytes

POLICY = SEED.read_text(encoding="utf-8")
USERS = {"dora": "director", "sam": "staff", "alice": "auditor"}


def run(home: Path, command: click.Command, *args: str) -> Result:
    """One of this package's commands, as cli.py will register it, against ``home``."""
    state = State(home)
    try:
        return CliRunner().invoke(command, list(args), obj=state, catch_exceptions=False)
    finally:
        state.close()


def put(home: Path, tmp_path: Path, name: str, data: bytes, *args: str) -> str:
    path = tmp_path / name
    path.write_bytes(data)
    result = cli(home, "put", str(path), *args)
    assert result.exit_code == 0, result.output
    return result.output.strip().splitlines()[-1]


def hits(home: Path, *args: str) -> list[dict[str, object]]:
    result = run(home, search, *args, "--json")
    assert result.exit_code == 0, result.output
    return list(json.loads(result.output)["hits"])


@pytest.fixture
def filed(home: Path, tmp_path: Path) -> Iterator[dict[str, str]]:
    """A traditional-character policy (minutes), a simplified report, an English letter and a contract."""
    names = {
        "policy": put(home, tmp_path, "policy.txt", POLICY.encode("big5", errors="ignore"), "--type", "minutes",
                      "--title", "銀行客戶關係維護制度"),
        "report": put(home, tmp_path, "monthly.docx", docx_bytes(), "--type", "report", "--title", "月度客户报告"),
        "letter": put(home, tmp_path, "letter.md", b"Reporting the customer's complaint; card 6222020012345671.",
                      "--type", "letter", "--title", "Complaint"),
        "contract": put(home, tmp_path, "contract.txt", "保密合同: 備份 terms for loan 2026".encode(),
                        "--type", "contract", "--title", "Secret loan contract"),
        "scan": put(home, tmp_path, "scan.jpg", b"\xff\xd8\xff\xe0 not really a jpeg", "--type", "other",
                    "--title", "Scanned receipt"),
    }
    for user, role in USERS.items():
        assert cli(home, "user", "add", user, "--role", role, "--password", "a-long-secret-pw").exit_code == 0
    yield names


def test_filing_indexes_at_once_and_chinese_matches_both_ways(home: Path, filed: dict[str, str]) -> None:
    found = hits(home, "备份", "--as", "dora")
    assert {hit["name"] for hit in found} >= {filed["policy"], filed["contract"], filed["report"]}
    assert "備份" in next(str(h["snippet"]) for h in found if h["name"] == filed["policy"])  # Big5 text, decoded
    assert [h["name"] for h in hits(home, "會議", "--type", "report", "--as", "dora")] == [filed["report"]]
    assert [h["name"] for h in hits(home, "reports", "--as", "dora")] == [filed["letter"]]
    text = run(home, search, "complaint", "--as", "dora")
    assert text.exit_code == 0 and filed["letter"] in text.output
    assert "«Reporting»" not in text.output and "«complaint»" in text.output
    assert "6222 **** **** 5671" in text.output and "6222020012345671" not in text.output


def answer(home: Path, *args: str) -> dict[str, object]:
    """The whole ``--json`` answer of a search (hits and what the actor is told about the rest)."""
    result = run(home, search, *args, "--json")
    assert result.exit_code == 0, result.output
    return dict(json.loads(result.stdout))


def test_what_each_role_sees(home: Path, filed: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    staff = answer(home, "備份 OR loan", "--as", "sam")
    assert filed["contract"] not in {h["name"] for h in staff["hits"]}  # type: ignore[union-attr]
    assert (staff["restricted_count"], staff["restricted_skipped"]) == (None, False)  # staff are told nothing
    [full] = [h for h in hits(home, "loan", "--as", "dora") if h["name"] == filed["contract"]]
    assert full["title"] == "Secret loan contract" and "保密" in str(full["snippet"])

    # count (the default): the auditor sees the readable hits and how many more match, never which
    counted = answer(home, "備份 OR loan", "--as", "alice")
    assert filed["contract"] not in json.dumps(counted) and counted["restricted_count"] == 1
    assert {h["name"] for h in counted["hits"]} >= {filed["policy"], filed["report"]}  # type: ignore[union-attr]
    text = run(home, search, "loan", "--as", "alice")
    assert text.stdout == "" and filed["contract"] not in text.output and "Secret" not in text.output
    assert "1 more matching record you may not read, not listed" in text.stderr and "strongroom ls" in text.stderr

    # names: each as name and type
    monkeypatch.setenv("STRONGROOM_SEARCH_RESTRICTED_HITS", "names")
    audited = hits(home, "備份 OR loan", "--as", "alice")
    [restricted] = [h for h in audited if h["name"] == filed["contract"]]
    assert restricted == {"name": filed["contract"], "type": "contract", "restricted": True,
                          "note": "restricted — request access"}
    text = run(home, search, "loan", "--as", "alice").output
    assert "restricted — request access" in text and "Secret" not in text and "保密" not in text

    # none: no hint at all
    monkeypatch.setenv("STRONGROOM_SEARCH_RESTRICTED_HITS", "none")
    hidden = answer(home, "loan", "--as", "alice")
    assert hidden == {"query": "loan", "hits": [], "restricted_count": None, "restricted_skipped": False}

    # the audit entry records what the auditor was shown: a count, or the names
    events = json.loads(cli(home, "audit", "log", "--action", "search.query", "--json", "--as", "alice").output)
    by_alice = [e["detail"] for e in events if e["actor"] == "alice" and e["detail"]["query"] == "備份 OR loan"]
    assert [d.get("restricted_count") for d in by_alice] == [1, None]
    assert [filed["contract"] in d["results"] for d in by_alice] == [False, True]
    assert [d["restricted"] for d in by_alice] == [[], [filed["contract"]]]


# The oracle: with names shown, title:NEPTUNE hit and title:NEPTUNX did not, 1381234567* hit and
# 1381234568* did not, so a director-only title word or masked number came out one character at a time.
PROBES = [
    ("title:NEPTUNE", "title:NEPTUNX"),
    ("1381234567*", "1381234568*"),
    ("NEPTU*", "NEPTX*"),
    ("NEPTU?", "NEPTX?"),
    ("13812345678", "13812345679"),
    ("110105194912310*", "110105194912311*"),
    ('"project NEPTUNE"~2', '"project NEPTUNX"~2'),
    ("NEPTUNE^3", "NEPTUNX^3"),
    ("loan AND title:NEPTUNE", "loan AND title:NEPTUNX"),
    ("ＮＥＰＴＵＮＥ １３８１２３４５６７８", "ＮＥＰＴＵＮＥ １３８１２３４５６７９"),
]


@pytest.mark.parametrize("setting", ["count", "names", "none"])
def test_field_wildcard_prefix_and_number_probes_tell_an_auditor_nothing(
        home: Path, tmp_path: Path, filed: dict[str, str], monkeypatch: pytest.MonkeyPatch, setting: str) -> None:
    secret = put(home, tmp_path, "neptune.txt",
                 "Project NEPTUNE loan: 联系 13812345678, ID 11010519491231002X".encode(),
                 "--type", "contract", "--title", "Project NEPTUNE lease", "--as", "dora")
    monkeypatch.setenv("STRONGROOM_SEARCH_RESTRICTED_HITS", setting)
    for matching, other in PROBES:
        assert secret in {h["name"] for h in hits(home, matching, "--as", "dora")}, matching  # a real probe
        probe, control = answer(home, matching, "--as", "alice"), answer(home, other, "--as", "alice")
        assert {**probe, "query": ""} == {**control, "query": ""}, matching
        assert probe["hits"] == [] and probe["restricted_count"] is None
        assert probe["restricted_skipped"] is (setting != "none")
    text = run(home, search, "title:NEPTUNE", "--as", "alice")
    assert ("records you may not read were not searched" in text.stderr) is (setting != "none")
    # Plain words still reach those records where the setting says so: the documented trade-off.
    plain = answer(home, "NEPTUNE", "--as", "alice")
    assert plain["restricted_count"] == (1 if setting == "count" else None)
    assert (secret in {h["name"] for h in plain["hits"]}) is (setting == "names")  # type: ignore[union-attr]


def test_grants_open_hits_to_staff(home: Path, filed: dict[str, str]) -> None:
    request = json.loads(cli(home, "access", "request", filed["contract"], "--reason", "audit", "--as", "sam",
                             "--json").output)
    assert cli(home, "access", "approve", str(request["id"]), "--as", "dora").exit_code == 0
    [hit] = [h for h in hits(home, "loan", "--as", "sam") if h["name"] == filed["contract"]]
    assert hit["title"] == "Secret loan contract"


def test_show_says_how_a_record_is_indexed(home: Path, filed: dict[str, str]) -> None:
    state = State(home)
    try:
        backend = state.backend("dora")
        scan = backend.index_status(filed["scan"])
        assert (scan.indexed, scan.note) == ("metadata", ".jpg files are indexed by metadata only")
        assert scan.describe() == "metadata only: .jpg files are indexed by metadata only"
        assert backend.index_status(filed["report"]).describe() == "full text"
    finally:
        state.close()
    assert [h["name"] for h in hits(home, "scanned", "--as", "dora")] == [filed["scan"]]  # by its title


def test_a_new_version_replaces_the_old_text_in_search(home: Path, tmp_path: Path, filed: dict[str, str]) -> None:
    put(home, tmp_path, "letter-v2.md", b"Withdrawn: the customer settled.", "--to", filed["letter"], "--as", "sam")
    assert [h["name"] for h in hits(home, "settled", "--as", "sam")] == [filed["letter"]]
    assert hits(home, "reporting", "--as", "sam") == []
    archived = hits(home, "reporting", "--all-versions", "--as", "sam")
    assert [(h["name"], h["version"], h["current"]) for h in archived] == [(filed["letter"], 1, False)]


def damage(home: Path) -> None:
    for segment in (home / "index").glob("MAIN_*.seg"):
        with open(segment, "r+b") as handle:
            handle.truncate(segment.stat().st_size // 2)


def test_a_damaged_index_is_reported_rebuilt_by_reindex_and_filing_goes_on(
    home: Path, tmp_path: Path, filed: dict[str, str], caplog: pytest.LogCaptureFixture,
) -> None:
    damage(home)
    with pytest.raises(SearchUnavailable, match="damaged.*'strongroom search reindex'"):
        run(home, search, "备份", "--as", "dora")

    late = put(home, tmp_path, "late.txt", "檔案 filed while the index was damaged".encode(), "--type", "letter",
               "--as", "sam")
    assert "not indexed" in caplog.text and late in caplog.text

    rebuilt = run(home, search, "reindex")
    assert rebuilt.exit_code == 0 and "search index rebuilt: 6 version(s)" in rebuilt.output
    assert [h["name"] for h in hits(home, "档案", "--type", "letter", "--as", "dora")] == [late]
    events = json.loads(cli(home, "audit", "log", "--action", "search.reindex", "--json", "--as", "alice").output)
    assert events[-1]["detail"] == {"versions": 6, "left_out": []}


def test_an_unreadable_version_is_left_out_of_reindex_and_sync_and_tried_again(
    home: Path, tmp_path: Path, s3_server: Settings
) -> None:
    damaged = put(home, tmp_path, "lease.txt", b"warehouse lease " * 2000, "--type", "contract")
    intact = put(home, tmp_path, "letter.txt", b"a customer complaint about the branch", "--type", "letter")
    assert cli(home, "backup", "run").exit_code == 0
    archive = Archive.open(home)
    try:
        _, stored = raw_object(archive, damaged, 1)
        bucket = archive.store.bucket
    finally:
        archive.close()
    flip_byte_in_volume(s3_server, bucket, stored)

    rebuilt = run(home, search, "reindex")
    assert rebuilt.exit_code == 1
    lines = rebuilt.output.splitlines()
    assert lines[0].startswith(f"not indexed: {damaged} v1: {damaged} v1 is unreadable: the storage cannot deliver "
                               f"current/{damaged} version")
    assert lines[-1].startswith("search index rebuilt: 1 version(s) in ")
    assert lines[-1].endswith("; 1 left out, tried again by the next sync of their record or reindex")
    assert [h["name"] for h in hits(home, "complaint")] == [intact], "the rest is indexed"
    assert hits(home, "warehouse") == []
    events = json.loads(cli(home, "audit", "log", "--action", "search.reindex", "--json").output)
    assert events[-1]["detail"]["left_out"] == [lines[0].removeprefix("not indexed: ")]

    archive = Archive.open(home)
    try:
        again = catch_up(archive, index_for(archive))  # what the service runs at start: the catalog against the index
        assert [(item.name, item.version) for item in again.left_out] == [(damaged, 1)]
        assert again.added == 0
    finally:
        archive.close()
    assert cli(home, "backup", "restore", "latest", "--record", damaged).exit_code == 0
    archive = Archive.open(home)
    try:
        synced = sync(archive, index_for(archive), [damaged, intact])
        assert (synced.added, synced.left_out) == (1, [])
    finally:
        archive.close()
    assert [h["name"] for h in hits(home, "warehouse")] == [damaged]


def test_audit_sample_is_reproducible_per_seed_and_quarter(home: Path, tmp_path: Path) -> None:
    names = [put(home, tmp_path, f"c{n}.txt", f"contract {n}".encode(), "--type", "contract") for n in range(12)]
    cli(home, "user", "add", "alice", "--role", "auditor", "--password", "a-long-secret-pw")
    cli(home, "user", "add", "sam", "--role", "staff", "--password", "a-long-secret-pw")
    with sqlite3.connect(home / "catalog.sqlite3") as conn:  # ten filed in 2026Q4 (Shanghai time), two before
        conn.execute("UPDATE records SET created_at = '2026-10-15 08:00:00.000000'")
        conn.execute("UPDATE records SET created_at = '2026-09-30 15:59:59.000000' WHERE name = ?", (names[0],))
        conn.execute("UPDATE records SET created_at = '2026-09-30 16:00:00.000000' WHERE name = ?", (names[1],))

    def sample(*args: str) -> dict[str, object]:
        result = run(home, audit_sample, "--type", "contract", "--quarter", "2026Q4", *args, "--json", "--as", "alice")
        assert result.exit_code == 0, result.output
        return dict(json.loads(result.output))

    first, again = sample("--n", "4", "--seed", "s1"), sample("--n", "4", "--seed", "s1")
    assert first == again and first["population"] == 11  # 16:00 UTC on 30 September is 1 October in Shanghai
    chosen = [item["name"] for item in first["records"]]  # type: ignore[union-attr]
    assert len(chosen) == 4 and chosen == sorted(chosen) and names[0] not in chosen
    assert {tuple(item["name"] for item in sample("--n", "4", "--seed", s)["records"])  # type: ignore[union-attr]
            for s in ("s1", "s2", "s3", "s4")} != {tuple(chosen)}
    unseeded = sample("--n", "3")
    assert len(str(unseeded["seed"])) == 8
    assert sample("--n", "3", "--seed", str(unseeded["seed"]))["records"] == unseeded["records"]
    assert all(item["title"] is None for item in first["records"])  # type: ignore[union-attr]  # contracts

    text = run(home, audit_sample, "--type", "contract", "--quarter", "2026Q4", "--n", "2", "--seed", "s1",
               "--as", "alice").output
    assert "seed s1" in text and "2 of 11 contract record(s)" in text
    with pytest.raises(Forbidden):
        run(home, audit_sample, "--type", "contract", "--quarter", "2026Q4", "--as", "sam")
    events = json.loads(cli(home, "audit", "log", "--action", "audit.sample", "--json", "--as", "alice").output)
    assert events[0]["detail"]["seed"] == "s1" and events[0]["detail"]["records"] == chosen
    with pytest.raises(UsageError, match="2026Q5"):
        run(home, audit_sample, "--type", "contract", "--quarter", "2026Q5", "--as", "alice")


def test_the_archive_keeps_its_index_and_whoever_starts_a_writer_stops_it(home: Path) -> None:
    """One index per open archive, kept by it; a writer is the archive's while it runs, and stopping
    one writer never takes another's place (two lifespans of the service on one archive object)."""
    archive, other = Archive.open(home), Archive.open(home)
    try:
        assert index_for(archive) is index_for(archive)
        assert index_for(other) is not index_for(archive)
        first = start_indexing(archive)
        second = start_indexing(archive)
        assert queue_for(archive) is second and queue_for(other) is None
        first.stop()
        assert queue_for(archive) is second
        second.stop()
        assert queue_for(archive) is None
    finally:
        archive.close()
        other.close()


def test_local_search_before_any_index_exists(home: Path) -> None:
    assert hits(home, "anything") == []
    cli(home, "put", "-", "--type", "letter", input=b"hello")
    shutil.rmtree(home / "index")
    with pytest.raises(SearchUnavailable, match="no search index yet"):
        run(home, search, "hello")



def test_show_says_whether_text_or_metadata_only_is_indexed(home: Path, tmp_path: Path) -> None:
    text = put(home, tmp_path, "note.txt", b"customer complaint summary", "--type", "letter")
    binary = put(home, tmp_path, "scan.bin", bytes(range(256)) * 8, "--type", "letter")
    shown = json.loads(cli(home, "show", text, "--json").output)
    assert shown["search"]["indexed"] == "text"
    assert json.loads(cli(home, "show", binary, "--json").output)["search"]["indexed"] == "metadata"
    assert "search:   metadata only" in cli(home, "show", binary).output


@pytest.mark.parametrize("query", ["NOT NOT NOT", 'filed:"a b"'])
def test_a_query_that_cannot_be_run_is_a_usage_error_not_an_internal_error(home: Path, query: str) -> None:
    done = cli_process(home, "search", query)
    stderr = done.stderr.decode()
    assert done.returncode == 2, stderr
    assert stderr.count("\n") == 1 and "search query" in stderr and "internal error" not in stderr
    assert "Traceback" not in stderr and done.stdout == b""
