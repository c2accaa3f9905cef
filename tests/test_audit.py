"""The audit trail: tamper detection (chain and bucket checkpoints), concurrent appends, queries, export."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from archive.service import Archive
from audit import trail
from audit.actor import Actor
from audit.checkpoints import (
    PREFIX,
    checkpoint_if_due,
    checkpoint_key,
    list_checkpoints,
    write_checkpoint,
)
from audit.log import CSV_COLUMNS, query, to_json_rows, write_csv
from audit.trail import GENESIS, canonical, chain_hash, record
from audit.verify import verify_audit
from errors import StorageUnavailable
from storage.s3 import ObjectStore

REPO = Path(__file__).resolve().parent.parent
ALICE = Actor("alice", "staff", "cli")
BOB = Actor("bob", "director", "api:10.0.0.7")
RECORDS = ["2026-0001-contract", "2026-0002-minutes", None]


def fill(archive: Archive, count: int) -> list[trail.Event]:
    """``count`` events with alternating actors, records and actions."""
    events = []
    for i in range(count):
        actor = ALICE if i % 2 == 0 else BOB
        action = "record.read" if i % 3 else "record.file"
        events.append(record(archive, actor, action, record=RECORDS[i % 3], detail={"i": i}))
    return events


@pytest.fixture
def audited(home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Archive]:
    """An archive that checkpoints the chain head every 5 events."""
    monkeypatch.setenv("STRONGROOM_AUDIT_CHECKPOINT_EVERY", "5")
    opened = Archive.open(home)
    yield opened
    opened.close()


def tamper(home: Path, *statements: tuple[str, tuple[object, ...]]) -> None:
    """Change the catalog file directly, as someone with access to the database could."""
    connection = sqlite3.connect(home / "catalog.sqlite3")
    try:
        with connection:
            for sql, params in statements:
                connection.execute(sql, params)
    finally:
        connection.close()


def row(home: Path, seq: int) -> dict[str, object]:
    connection = sqlite3.connect(home / "catalog.sqlite3")
    connection.row_factory = sqlite3.Row
    try:
        found = connection.execute("SELECT * FROM audit_events WHERE seq = ?", (seq,)).fetchone()
        return dict(found)
    finally:
        connection.close()


def forged_hash(fields: dict[str, object]) -> str:
    """The hash a forger computes for a row: correct for its own content and its prev_hash."""
    event = trail.Event(**{**fields, "detail": json.loads(str(fields["detail"])), "hash": ""})  # type: ignore[arg-type]
    return chain_hash(str(fields["prev_hash"]), canonical(event, event.detail))


def rewrite_chain_from(home: Path, start: int) -> None:
    """Recompute every hash from ``start`` on, so the catalog's chain is internally valid again."""
    connection = sqlite3.connect(home / "catalog.sqlite3")
    connection.row_factory = sqlite3.Row
    try:
        with connection:
            prev = connection.execute("SELECT hash FROM audit_events WHERE seq = ?", (start - 1,)).fetchone()
            prev_hash = prev["hash"] if prev else GENESIS
            rows = connection.execute("SELECT * FROM audit_events WHERE seq >= ? ORDER BY seq", (start,)).fetchall()
            for found in rows:
                fields = {**dict(found), "prev_hash": prev_hash}
                digest = forged_hash(fields)
                connection.execute(
                    "UPDATE audit_events SET prev_hash = ?, hash = ? WHERE seq = ?", (prev_hash, digest, found["seq"])
                )
                prev_hash = digest
    finally:
        connection.close()


# --- a clean trail -------------------------------------------------------------------------------------------


def test_clean_trail_verifies_with_its_checkpoints(audited):
    events = fill(audited, 23)
    report = verify_audit(audited)
    assert report.ok, report.problem
    assert (report.checked, report.head_seq, report.head_hash) == (23, 23, events[-1].hash)
    assert report.first_bad is None and report.problem is None
    assert [c.seq for c in list_checkpoints(audited)] == [5, 10, 15, 20]
    assert report.checkpoints == 4
    assert report.lock is not None and report.lock.available
    assert report.as_dict()["lock"]["available"] is True
    assert json.loads(json.dumps(report.as_dict()))["head_seq"] == 23


def test_empty_trail_verifies_and_has_no_checkpoint(audited):
    assert write_checkpoint(audited) is None
    report = verify_audit(audited, probe_lock=False)
    assert report.ok and report.head_seq == 0 and report.head_hash == GENESIS and report.checked == 0
    assert report.lock is None


def test_progress_is_reported(audited, monkeypatch):
    monkeypatch.setattr(trail, "BATCH", 4)
    fill(audited, 10)
    seen: list[int] = []
    assert verify_audit(audited, seen.append, probe_lock=False).ok
    assert seen == [4, 8, 10]


def test_checkpoints_only_when_due_and_never_twice(audited):
    fill(audited, 4)
    assert list_checkpoints(audited) == []
    fill(audited, 1)
    (first,) = list_checkpoints(audited)
    assert first.seq == 5 and first.locked
    assert write_checkpoint(audited) is None, "the head is already checkpointed"
    assert checkpoint_if_due(audited, 4) is None
    fill(audited, 2)
    manual = write_checkpoint(audited)
    assert manual is not None and manual.seq == 7
    assert [c.seq for c in list_checkpoints(audited)] == [5, 7]


# --- tampering with the catalog ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("detail", '{"i":999}'),
        ("actor", "mallory"),
        ("at", "2020-01-01T00:00:00.000000+00:00"),
        ("record", "2026-0009-contract"),
        ("outcome", "denied"),
    ],
)
def test_edited_middle_event_is_found(audited, home, column, value):
    fill(audited, 12)
    assert verify_audit(audited, probe_lock=False).ok
    tamper(home, (f"UPDATE audit_events SET {column} = ? WHERE seq = 7", (value,)))
    report = verify_audit(audited, probe_lock=False)
    assert not report.ok
    assert report.first_bad == 7
    assert report.problem == "event 7 was altered (its hash does not match its content)"
    assert report.checked == 6 and report.head_seq == 12


def test_unreadable_detail_is_found(audited, home):
    fill(audited, 8)
    tamper(home, ("UPDATE audit_events SET detail = ? WHERE seq = 3", ("{not json",)))
    report = verify_audit(audited, probe_lock=False)
    assert (report.ok, report.first_bad) == (False, 3)
    assert "unreadable" in (report.problem or "")
    assert query(audited, limit=3)[2].detail == {"unreadable": "{not json"}


def test_deleted_middle_event_is_found(audited, home):
    fill(audited, 12)
    tamper(home, ("DELETE FROM audit_events WHERE seq = 8", ()))
    report = verify_audit(audited, probe_lock=False)
    assert (report.ok, report.first_bad) == (False, 8)
    assert report.problem == "event 8 is missing (next is 9)"


def test_forged_event_with_wrong_link_is_found(audited, home):
    """A forged row whose own hash is right but which does not follow its predecessor."""
    fill(audited, 12)
    tamper(home, ("DELETE FROM audit_events WHERE seq = 9", ()))
    forged = {
        **row(home, 8), "seq": 9, "actor": "mallory", "action": "record.read", "detail": "{}",
        "prev_hash": "f" * 64,
    }
    forged["hash"] = forged_hash(forged)
    columns = ", ".join(forged)
    tamper(home, (f"INSERT INTO audit_events ({columns}) VALUES ({', '.join('?' * len(forged))})",
                  tuple(forged.values())))
    report = verify_audit(audited, probe_lock=False)
    assert (report.ok, report.first_bad) == (False, 9)
    assert report.problem == "event 9 does not follow event 8 (previous hash differs)"


def test_inserted_well_linked_event_is_found_at_the_next_one(audited, home):
    """Shift events 8.. up by one and insert a forged event 8 linked correctly to event 7."""
    fill(audited, 12)
    tamper(
        home,
        ("UPDATE audit_events SET seq = seq + 1000 WHERE seq >= 8", ()),
        ("UPDATE audit_events SET seq = seq - 999 WHERE seq >= 1000", ()),
    )
    forged = {**row(home, 7), "seq": 8, "actor": "mallory", "detail": '{"forged":true}'}
    forged["prev_hash"] = row(home, 7)["hash"]
    forged["hash"] = forged_hash(forged)
    tamper(home, (f"INSERT INTO audit_events ({', '.join(forged)}) VALUES ({', '.join('?' * len(forged))})",
                  tuple(forged.values())))
    report = verify_audit(audited, probe_lock=False)
    assert (report.ok, report.first_bad, report.head_seq) == (False, 9, 13)
    assert report.problem == "event 9 does not follow event 8 (previous hash differs)"


def test_reordered_events_are_found(audited, home):
    fill(audited, 12)
    tamper(
        home,
        ("UPDATE audit_events SET seq = -1 WHERE seq = 6", ()),
        ("UPDATE audit_events SET seq = 6 WHERE seq = 11", ()),
        ("UPDATE audit_events SET seq = 11 WHERE seq = -1", ()),
    )
    report = verify_audit(audited, probe_lock=False)
    assert (report.ok, report.first_bad) == (False, 6)
    assert report.problem == "event 6 does not follow event 5 (previous hash differs)"


def test_truncated_tail_is_found_only_through_a_checkpoint(audited, home):
    fill(audited, 12)  # checkpoints at 5 and 10
    tamper(home, ("DELETE FROM audit_events WHERE seq > 7", ()))
    report = verify_audit(audited, probe_lock=False)
    assert (report.checked, report.head_seq) == (7, 7), "the chain that is left is internally valid"
    assert not report.ok
    assert report.first_bad == 8
    assert report.problem == "the audit trail was truncated: checkpoint at event 10, trail ends at 7"


def test_truncated_tail_without_any_checkpoint_is_not_detectable(home, monkeypatch):
    """The chain alone cannot show a cut at its end: why checkpoints exist (baseline for the test above)."""
    monkeypatch.setenv("STRONGROOM_AUDIT_CHECKPOINT_EVERY", "1000")
    archive = Archive.open(home)
    try:
        fill(archive, 12)
        tamper(home, ("DELETE FROM audit_events WHERE seq > 7", ()))
        report = verify_audit(archive, probe_lock=False)
        assert report.ok and report.checkpoints == 0 and report.head_seq == 7
    finally:
        archive.close()


def test_rewritten_chain_is_found_through_its_checkpoint(audited, home):
    """Editing event 7 and recomputing every later hash fools the chain, not the checkpoint at 10."""
    fill(audited, 12)
    at_10 = next(c for c in list_checkpoints(audited) if c.seq == 10)
    tamper(home, ("UPDATE audit_events SET actor = 'mallory' WHERE seq = 7", ()))
    rewrite_chain_from(home, 7)
    report = verify_audit(audited, probe_lock=False)
    assert report.checked == 12, "the rewritten chain is internally consistent"
    assert (report.ok, report.first_bad) == (False, 10)
    assert report.problem == f"event 10 differs from its checkpoint of {at_10.at}"


def test_truncation_is_found_even_if_the_checkpoint_is_hidden(audited, home):
    """A delete marker over the checkpoint, or a forged newer version of it, does not hide the original."""
    fill(audited, 12)
    store = audited.store
    store.client.remove_object(store.bucket, checkpoint_key(10))  # delete marker, not a version delete
    assert checkpoint_key(10) not in store.list_keys(PREFIX)
    tamper(home, ("DELETE FROM audit_events WHERE seq > 7", ()))
    report = verify_audit(audited, probe_lock=False)
    assert (report.ok, report.first_bad) == (False, 8)
    assert "checkpoint at event 10, trail ends at 7" in (report.problem or "")


def test_forged_checkpoint_version_does_not_replace_the_original(audited, home):
    fill(audited, 12)
    tamper(home, ("UPDATE audit_events SET actor = 'mallory' WHERE seq = 9", ()))
    rewrite_chain_from(home, 9)
    forged_head = row(home, 10)["hash"]
    body = json.dumps({"seq": 10, "hash": forged_head, "at": "2026-01-01T00:00:00+00:00", "format": 1}).encode()
    audited.store.put_locked(checkpoint_key(10), body, None)
    assert json.loads(audited.store.get_bytes(checkpoint_key(10)))["hash"] == forged_head
    report = verify_audit(audited, probe_lock=False)
    assert (report.ok, report.first_bad) == (False, 10)
    assert report.problem is not None and report.problem.startswith("event 10 differs from its checkpoint of ")


def test_invalid_object_among_checkpoints_fails_verification(audited):
    fill(audited, 6)
    audited.store.put_locked(f"{PREFIX}000000000099.json", b"not a checkpoint", None)
    report = verify_audit(audited, probe_lock=False)
    assert not report.ok and report.first_bad is None
    assert report.problem == f"checkpoint object {PREFIX}000000000099.json is not valid JSON with seq, hash and at"
    assert [c.seq for c in list_checkpoints(audited)] == [5]


# --- checkpoints are best effort and carry no user data ------------------------------------------------------


def test_checkpoint_failure_does_not_lose_the_event(audited):
    fill(audited, 4)
    audited.__dict__["store"] = ObjectStore("127.0.0.1:9", "x", "y", audited.store.bucket, secure=False)
    with pytest.raises(StorageUnavailable):
        write_checkpoint(audited)
    event = record(audited, ALICE, "record.read", record="2026-0001-contract")  # seq 5: a checkpoint is due
    assert event.seq == 5
    assert [e.seq for e in query(audited)] == [1, 2, 3, 4, 5]


def test_checkpoint_objects_hold_no_user_data(audited):
    secret_actor = Actor("zhang.wei", "staff", "api:192.0.2.44")
    for _ in range(10):
        record(audited, secret_actor, "record.read", record="2026-0042-contract",
               detail={"title": "机密合同, Geheimvertrag", "reason": "audit of supplier X"})
    versions = audited.store.list_versions(PREFIX)
    assert len(versions) == 2
    for version in versions:
        raw = audited.store.get_bytes(version.key, version.version_id)
        assert json.loads(raw).keys() == {"seq", "hash", "at", "format"}
        for text in ("zhang", "192.0.2.44", "2026-0042", "contract", "record.read", "机密".encode(), "supplier"):
            needle = text if isinstance(text, bytes) else text.encode()
            assert needle not in raw
        assert raw.isascii()


# --- concurrent appends --------------------------------------------------------------------------------------

WRITER = """
import sys
from audit.actor import Actor
from archive.service import Archive
from audit.trail import record
archive = Archive.open(__import__("pathlib").Path(sys.argv[1]))
for i in range(int(sys.argv[3])):
    record(archive, Actor(sys.argv[2], "staff", "cli"), "record.read", record="2026-0001-contract",
           detail={"i": i, "who": sys.argv[2]})
archive.close()
"""


def test_concurrent_appends_from_processes_form_one_gapless_chain(audited, home):
    record(audited, ALICE, "audit.start")
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(home), f"writer{n}", "25"],
            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )
        for n in range(4)
    ]
    for writer in writers:
        _, err = writer.communicate(timeout=300)
        assert writer.returncode == 0, err.decode()[-2000:]
    events = query(audited)
    assert [e.seq for e in events] == list(range(1, 102))
    for n in range(4):
        mine = [e.detail["i"] for e in events if e.actor == f"writer{n}"]
        assert mine == list(range(25)), "each process's events appear once, in its own order"
    report = verify_audit(audited, probe_lock=False)
    assert report.ok, report.problem
    assert report.head_seq == 101
    assert [c.seq for c in list_checkpoints(audited)] == list(range(5, 101, 5))


# --- queries and export --------------------------------------------------------------------------------------


def test_query_filters(audited):
    fill(audited, 12)
    assert [e.seq for e in query(audited)] == list(range(1, 13))
    assert {e.record for e in query(audited, record="2026-0001-contract")} == {"2026-0001-contract"}
    assert [e.seq for e in query(audited, record="2026-0001-contract")] == [1, 4, 7, 10]
    assert [e.seq for e in query(audited, actor="bob")] == [2, 4, 6, 8, 10, 12]
    assert [e.seq for e in query(audited, action="record.file")] == [1, 4, 7, 10]
    assert [e.seq for e in query(audited, actor="bob", action="record.file")] == [4, 10]
    assert [e.seq for e in query(audited, actor="alice", record="2026-0002-minutes")] == [5, 11]
    assert [e.seq for e in query(audited, limit=3)] == [1, 2, 3]
    assert [e.seq for e in query(audited, actor="bob", limit=2)] == [2, 4]
    assert query(audited, actor="nobody") == []
    assert query(audited, limit=0) == []


def test_query_time_range(audited):
    base = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
    with audited.catalog.write() as session:
        for minute in range(6):
            trail.append(session, actor="alice", action="record.read", source="cli", at=base + timedelta(minutes=minute))
    assert [e.seq for e in query(audited, since=base + timedelta(minutes=2))] == [3, 4, 5, 6]
    assert [e.seq for e in query(audited, until=base + timedelta(minutes=2))] == [1, 2], "until is exclusive"
    window = query(audited, since=base + timedelta(minutes=1), until=base + timedelta(minutes=4))
    assert [e.seq for e in window] == [2, 3, 4]
    # the same moment in another zone, and a naive datetime taken as UTC
    plus_two = timezone(timedelta(hours=2))
    assert [e.seq for e in query(audited, since=datetime(2026, 3, 1, 11, 34, tzinfo=plus_two))] == [5, 6]
    assert [e.seq for e in query(audited, since=datetime(2026, 3, 1, 9, 35))] == [6]
    # microseconds count
    assert [e.seq for e in query(audited, since=base + timedelta(minutes=5, microseconds=1))] == []


def test_csv_round_trip_with_chinese_text_commas_quotes_and_newlines(audited):
    detail = {"title": "采购合同，第二版", "note": 'a, "quoted" word\nand a second line', "n": 3}
    record(audited, Actor("王芳", "staff", "api:10.0.0.1, proxy"), "record.read", record="2026-0001-contract",
           version=2, detail=detail)
    record(audited, BOB, "login.failed", outcome="denied")
    events = query(audited)
    out = io.StringIO(newline="")
    write_csv(events, out)
    rows = list(csv.reader(io.StringIO(out.getvalue(), newline="")))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert len(rows) == 3
    first = dict(zip(CSV_COLUMNS, rows[1], strict=True))
    assert first["actor"] == "王芳" and first["source"] == "api:10.0.0.1, proxy"
    assert json.loads(first["detail"]) == detail
    assert first["version"] == "2" and first["record"] == "2026-0001-contract"
    assert first["hash"] == events[0].hash and first["prev_hash"] == GENESIS
    assert first["detail"] == json.dumps(detail, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    second = dict(zip(CSV_COLUMNS, rows[2], strict=True))
    assert (second["record"], second["version"], second["outcome"]) == ("", "", "denied")
    assert int(second["seq"]) == 2


def test_csv_to_a_file(audited, tmp_path):
    record(audited, ALICE, "record.read", detail={"x": "逗号,"})
    path = tmp_path / "audit.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        write_csv(query(audited), handle)
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    assert json.loads(rows[1][CSV_COLUMNS.index("detail")]) == {"x": "逗号,"}


def test_json_rows(audited):
    fill(audited, 3)
    rows = to_json_rows(query(audited, actor="alice"))
    assert [r["seq"] for r in rows] == [1, 3]
    assert set(rows[0]) == set(CSV_COLUMNS)
    assert rows[0]["detail"] == {"i": 0}
    assert json.loads(json.dumps(rows, ensure_ascii=False)) == rows


def test_csv_cells_a_spreadsheet_would_run_as_formulas_are_quoted(archive):
    record(archive, Actor("=HYPERLINK(\"http://x\")", "staff", "http:10.0.0.1"), "auth.login", outcome="failed")
    out = io.StringIO()
    write_csv(query(archive, action="auth.login"), out)
    rows = list(csv.reader(io.StringIO(out.getvalue(), newline="")))
    assert rows[1][2] == "'=HYPERLINK(\"http://x\")"
    assert query(archive, action="auth.login")[0].actor.startswith("=")
