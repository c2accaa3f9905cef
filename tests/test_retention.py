"""Retention against real S3 (SeaweedFS): write-once versions, holds, approved disposal, the daily upkeep."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from minio.error import S3Error

from archive.objects import record_objects
from archive.service import Archive
from errors import StorageUnavailable
from tests.conftest import cli
from tests.helpers import write_file

PASSWORD = "a-long-secret-pw"
SHANGHAI = ZoneInfo("Asia/Shanghai")


def _users(home: Path) -> None:
    for user, role in [("dora", "director"), ("mark", "manager"), ("sam", "staff"), ("alice", "auditor")]:
        assert cli(home, "user", "add", user, "--role", role, "--password", PASSWORD).exit_code == 0


def _put(home: Path, path: Path, *args: str) -> str:
    result = cli(home, "put", str(path), *args)
    assert result.exit_code == 0, result.output
    return result.output.strip()


def _catalog(home: Path) -> sqlite3.Connection:
    return sqlite3.connect(home / "catalog.sqlite3")


def _end_of_day(day: date) -> datetime:
    return datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=SHANGHAI).astimezone(UTC)


def test_each_version_is_write_once_until_its_retention_date(home: Path, tmp_path: Path) -> None:
    doc = write_file(tmp_path / "minutes.txt", b"weekly meeting minutes")
    name = _put(home, doc, "--type", "minutes", "--title", "weekly")
    _put(home, write_file(tmp_path / "m2.txt", b"weekly meeting minutes, corrected"), "--to", name)
    filed_on = datetime.now(UTC).astimezone(SHANGHAI).date()
    until = filed_on.replace(year=filed_on.year + 5) if (filed_on.month, filed_on.day) != (2, 29) else date(
        filed_on.year + 5, 2, 28)

    shown = json.loads(cli(home, "retention", "show", name, "--json").output)
    assert shown["retain_until"] == until.isoformat()
    assert shown["locked_until"] == _end_of_day(until).isoformat()
    assert shown["disposable"] is False and "must be kept until" in shown["blocked_by"]

    archive = Archive.open(home)
    try:
        assert archive.locks_versions
        versions = [v for v in record_objects(archive.store, name) if not v.is_delete_marker]
        assert len(versions) == 3  # v2 at current/, v1 archived, and v1's superseded copy kept by its lock
        for item in versions:
            stored = archive.store.read_object(item.key, item.version_id)
            assert stored.lock_mode == "COMPLIANCE"
            assert stored.retain_until == _end_of_day(until)
            with pytest.raises(StorageUnavailable, match="AccessDenied"):
                archive.store.delete_version(item.key, item.version_id)
            assert not archive.store.delete_unless_retained(item.key, item.version_id)
    finally:
        archive.close()

    refused = cli(home, "retention", "dispose", name, "--reason", "tidy up")
    assert refused.exit_code == 1
    assert refused.output.strip() == f"strongroom: error: not disposable: {name} must be kept until {until.isoformat()} " \
        f"(filed {filed_on.isoformat()} + 5 years)"
    assert cli(home, "get", name, "--version", "1", "-o", "-").output == "weekly meeting minutes"


def test_retention_counts_from_the_date_given_at_filing(home: Path, tmp_path: Path) -> None:
    doc = write_file(tmp_path / "lease.txt", b"lease")
    ends = _put(home, doc, "--type", "contract", "--retain-from", "2030-06-30")
    shown = json.loads(cli(home, "retention", "show", ends, "--json").output)
    assert shown["retain_until"] == "2040-06-30"
    assert shown["basis"] == "end 2030-06-30 + 10 years"

    open_ended = _put(home, doc, "--type", "contract")
    shown = json.loads(cli(home, "retention", "show", open_ended, "--json").output)
    assert shown["retain_until"] is None
    assert "end date not given yet" in shown["basis"]
    assert shown["locked_until"] is not None  # locked at least for the period counted from filing

    wrong = cli(home, "put", str(doc), "--type", "minutes", "--retain-from", "2030-01-01")
    assert wrong.exit_code == 2
    assert "a retention start date does not apply" in wrong.output
    assert cli(home, "put", str(doc), "--to", ends, "--retain-from", "2030-01-01").exit_code == 2
    assert cli(home, "put", str(doc), "--type", "contract", "--retain-from", "30/06/2030").exit_code == 2


def test_approved_disposal_deletes_every_version_and_leaves_a_certificate(home: Path, tmp_path: Path) -> None:
    old = _put(home, write_file(tmp_path / "old.txt", b"old contract v1"), "--type", "contract",
               "--retain-from", "2001-03-31", "--as", "setup")
    _put(home, write_file(tmp_path / "old2.txt", b"old contract v2"), "--to", old, "--as", "setup")
    kept = _put(home, write_file(tmp_path / "new.txt", b"new contract"), "--type", "contract",
                "--retain-from", "2030-01-01", "--as", "setup")
    _users(home)

    due = json.loads(cli(home, "retention", "due", "--json", "--as", "mark").output)
    assert [v["name"] for v in due] == [old]
    assert due[0]["retain_until"] == "2011-03-31" and due[0]["disposable"] is True

    assert cli(home, "retention", "dispose", old, "--reason", "over", "--as", "sam").exit_code == 3
    assert cli(home, "retention", "dispose", kept, "--reason", "early", "--as", "mark").exit_code == 1
    asked = cli(home, "retention", "dispose", old, "--reason", "retention ended", "--as", "mark", "--json")
    assert asked.exit_code == 0, asked.output
    request_id = json.loads(asked.output)["id"]
    again = cli(home, "retention", "dispose", old, "--reason", "twice", "--as", "mark")
    assert again.exit_code == 1 and f"already in disposal request {request_id}" in again.output
    assert cli(home, "retention", "approve", str(request_id), "--as", "mark").exit_code == 3
    assert cli(home, "get", old, "-o", "-", "--as", "dora").output == "old contract v2", "nothing goes unapproved"
    archive = Archive.open(home)
    try:
        assert len(record_objects(archive.store, old)) == 2  # past retention: no lock kept the superseded copy
    finally:
        archive.close()

    def found(word: str) -> list[str]:
        result = cli(home, "search", word, "--json", "--as", "dora")
        assert result.exit_code == 0, result.output
        return [hit["name"] for hit in json.loads(result.output)["hits"]]

    assert old in found("old")
    with _catalog(home) as db:
        hashes = [row[0] for row in db.execute(
            "SELECT sha256 FROM versions JOIN records ON records.id = record_id WHERE name = ? ORDER BY version",
            (old,))]
    approved = cli(home, "retention", "approve", str(request_id), "--as", "dora", "--json")
    assert approved.exit_code == 0, approved.output
    assert json.loads(approved.output)["state"] == "done"

    archive = Archive.open(home)
    try:
        assert record_objects(archive.store, old) == []
        assert record_objects(archive.store, kept) != []
    finally:
        archive.close()
    assert found("old") == [], "a disposed record leaves the search index"
    gone = cli(home, "get", old, "-o", "-", "--as", "dora")
    assert gone.exit_code == 1 and "was disposed of on" in gone.output

    assert "has not been disposed of" in cli(home, "retention", "certificate", kept, "--as", "alice").output
    assert "no record named 2026-0099-contract" in cli(home, "retention", "certificate", "2026-0099-contract",
                                                      "--as", "alice").output
    cert = json.loads(cli(home, "retention", "certificate", old, "--json", "--as", "alice").output)
    detail = cert["detail"]
    assert [v["sha256"] for v in detail["versions"]] == hashes and len(hashes) == 2
    assert (detail["requested_by"], detail["approved_by"], detail["reason"]) == ("mark", "dora", "retention ended")
    assert detail["retain_until"] == "2011-03-31"
    printed = cli(home, "retention", "certificate", old, "--as", "alice").output
    assert "DISPOSAL CERTIFICATE" in printed and hashes[0] in printed and f"audit event {cert['seq']}" in printed
    assert cli(home, "audit", "verify", "--as", "alice").exit_code == 0

    listed = json.loads(cli(home, "ls", "--all", "--json", "--as", "dora").output)
    assert {v["name"]: v["state"] for v in listed}[old] == "disposed"
    newest = _put(home, write_file(tmp_path / "next.txt", b"next"), "--type", "contract", "--as", "mark")
    assert newest not in (old, kept)


def test_a_held_record_cannot_be_disposed_of(home: Path, tmp_path: Path) -> None:
    name = _put(home, write_file(tmp_path / "c.txt", b"disputed"), "--type", "contract",
                "--retain-from", "2005-01-01", "--as", "setup")
    _users(home)
    assert cli(home, "hold", "place", name, "--reason", "litigation", "--as", "mark").exit_code == 3
    placed = cli(home, "hold", "place", name, "--reason", "litigation 2026-17", "--as", "dora")
    assert placed.exit_code == 0, placed.output
    assert "S3 legal hold on for 1 object version(s)" in placed.output
    assert cli(home, "hold", "place", name, "--reason", "again", "--as", "dora").exit_code == 1

    _put(home, write_file(tmp_path / "c2.txt", b"disputed, v2"), "--to", name, "--as", "dora")  # reads contracts
    archive = Archive.open(home)
    try:
        held_objects = record_objects(archive.store, name)
        assert len(held_objects) == 3, "v1 archived, v2 current, and v1 at current/ kept by its legal hold"
        for item in held_objects:  # a version filed while held is held too
            assert archive.store.client.is_object_legal_hold_enabled(archive.store.bucket, item.key, item.version_id)
    finally:
        archive.close()
    assert json.loads(cli(home, "retention", "due", "--json", "--as", "mark").output) == []
    refused = cli(home, "retention", "dispose", name, "--reason", "over", "--as", "mark")
    assert refused.exit_code == 1 and "on legal hold" in refused.output
    holds = json.loads(cli(home, "hold", "list", "--json", "--as", "alice").output)
    assert [(h["record"], h["reason"]) for h in holds] == [(name, "litigation 2026-17")]

    assert cli(home, "hold", "release", name, "--reason", "settled", "--as", "dora").exit_code == 0
    pending = json.loads(cli(home, "retention", "dispose", name, "--reason", "over", "--as", "mark", "--json").output)
    assert cli(home, "hold", "place", name, "--reason", "new claim", "--as", "dora").exit_code == 0
    blocked = cli(home, "retention", "approve", str(pending["id"]), "--as", "dora")
    assert blocked.exit_code == 1 and "on legal hold" in blocked.output, "a hold placed after the request still wins"
    assert cli(home, "retention", "deny", str(pending["id"]), "--reason", "held", "--as", "dora").exit_code == 0
    assert cli(home, "hold", "release", name, "--as", "dora").exit_code == 0
    archive = Archive.open(home)
    try:
        for item in held_objects:
            assert not archive.store.client.is_object_legal_hold_enabled(
                archive.store.bucket, item.key, item.version_id)
    finally:
        archive.close()
    asked = json.loads(cli(home, "retention", "dispose", name, "--reason", "over", "--as", "mark", "--json").output)
    assert cli(home, "retention", "approve", str(asked["id"]), "--as", "dora").exit_code == 0
    log = json.loads(cli(home, "audit", "log", "--record", name, "--json", "--as", "alice").output)
    assert [e["action"] for e in log if e["outcome"] == "ok"][-4:] == [
        "hold.release", "retention.dispose-request", "retention.dispose-approve", "retention.dispose"]


def test_there_is_no_rm_and_the_attempt_is_recorded(home: Path, tmp_path: Path) -> None:
    name = _put(home, write_file(tmp_path / "c.txt", b"keep me"), "--type", "minutes", "--as", "setup")
    _users(home)
    refused = cli(home, "rm", name, "--as", "dora")
    assert refused.exit_code == 3
    assert "records are never deleted directly" in refused.output
    log = json.loads(cli(home, "audit", "log", "--action", "record.delete", "--json", "--as", "alice").output)
    assert [(e["actor"], e["record"], e["outcome"]) for e in log] == [("dora", name, "denied")]
    assert cli(home, "get", name, "-o", "-", "--as", "dora").output == "keep me"


def test_an_interrupted_disposal_is_finished_by_apply(home: Path, tmp_path: Path, monkeypatch) -> None:
    from retention import disposal

    name = _put(home, write_file(tmp_path / "c.txt", b"old"), "--type", "contract", "--retain-from", "2001-01-01",
                "--as", "setup")
    _users(home)
    request_id = json.loads(cli(home, "retention", "dispose", name, "--reason", "over", "--as", "mark",
                                "--json").output)["id"]
    real_certify = disposal._certify

    def crash(*args: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(disposal, "_certify", crash)
    assert cli(home, "retention", "approve", str(request_id), "--as", "dora").exit_code == 130
    monkeypatch.setattr(disposal, "_certify", real_certify)
    shown = json.loads(cli(home, "retention", "show", name, "--json", "--as", "dora").output)
    assert shown["state"] == "disposing"
    assert cli(home, "get", name, "-o", "-", "--as", "dora").exit_code == 1

    applied = cli(home, "retention", "apply", "--json")
    assert applied.exit_code == 0, applied.output
    assert json.loads(applied.output)["disposals_finished"] == 1
    assert json.loads(cli(home, "retention", "show", name, "--json", "--as", "dora").output)["state"] == "disposed"
    assert json.loads(cli(home, "retention", "certificate", name, "--json", "--as", "dora").output)["seq"] > 0


def test_apply_moves_old_superseded_versions_to_the_archive_class(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STRONGROOM_RETENTION_ARCHIVE_AFTER_DAYS", "30")
    name = _put(home, write_file(tmp_path / "r1.txt", b"report one"), "--type", "report")
    _put(home, write_file(tmp_path / "r2.txt", b"report two"), "--to", name)
    first = cli(home, "retention", "apply")
    assert first.exit_code == 0
    assert "0 version(s) moved to the archive tier" in first.output
    with _catalog(home) as db:
        db.execute("UPDATE versions SET archived_at = ? WHERE state = 'archived'",
                   ((datetime.now(UTC) - timedelta(days=31)).isoformat(),))
    moved = json.loads(cli(home, "retention", "apply", "--json").output)
    assert moved["moved_to_archive_tier"] == 1
    assert moved["old_copies_locked"] == 1  # the copy in the standard class stays until its lock ends
    archive = Archive.open(home)
    try:
        with _catalog(home) as db:
            key, s3_id, storage_class = db.execute(
                "SELECT object_key, s3_version_id, storage_class FROM versions WHERE version = 1").fetchone()
        assert storage_class == "STANDARD_IA"
        stat = archive.store.client.stat_object(archive.store.bucket, key, version_id=s3_id)
        assert stat.metadata.get("x-amz-storage-class") == "STANDARD_IA"
        assert archive.store.read_object(key, s3_id).lock_mode == "COMPLIANCE"
    finally:
        archive.close()
    assert cli(home, "get", name, "--version", "1", "-o", "-").output == "report one"
    assert cli(home, "verify").exit_code == 0
    again = json.loads(cli(home, "retention", "apply", "--json").output)
    assert again["moved_to_archive_tier"] == 0


def test_apply_lengthens_locks_when_a_schedule_grows(home: Path, tmp_path: Path, monkeypatch) -> None:
    name = _put(home, write_file(tmp_path / "m.txt", b"minutes"), "--type", "minutes")
    before = json.loads(cli(home, "retention", "show", name, "--json").output)["locked_until"]
    schedules = "contract = 10 years from end,minutes = 7 years from filing,report = 3 years from filing," \
                "letter = 5 years from filing,other = 5 years from filing"
    monkeypatch.setenv("STRONGROOM_RETENTION_SCHEDULES", schedules)
    applied = json.loads(cli(home, "retention", "apply", "--json").output)
    assert applied["locks_extended"] == 1
    after = json.loads(cli(home, "retention", "show", name, "--json").output)["locked_until"]
    assert datetime.fromisoformat(after) > datetime.fromisoformat(before) + timedelta(days=365)
    archive = Archive.open(home)
    try:
        (item,) = [v for v in record_objects(archive.store, name)]
        assert archive.store.read_object(item.key, item.version_id).retain_until == datetime.fromisoformat(after)
    finally:
        archive.close()
    assert json.loads(cli(home, "retention", "apply", "--json").output)["locks_extended"] == 0


def test_a_trigger_date_given_later_sets_retention_and_lengthens_locks(home: Path, tmp_path: Path) -> None:
    name = _put(home, write_file(tmp_path / "c.txt", b"open-ended"), "--type", "contract", "--as", "setup")
    _users(home)
    before = json.loads(cli(home, "retention", "show", name, "--json", "--as", "mark").output)
    assert before["retain_until"] is None and "not known yet" in cli(home, "retention", "show", name, "--as",
                                                                      "mark").output
    assert cli(home, "retention", "trigger", name, "--date", "2030-06-30", "--reason", "ended",
               "--as", "sam").exit_code == 3
    set_later = cli(home, "retention", "trigger", name, "--date", "2030-06-30", "--reason", "contract ended",
                    "--as", "mark", "--json")
    assert set_later.exit_code == 0, set_later.output
    after = json.loads(set_later.output)
    assert after["retain_until"] == "2040-06-30"
    assert after["locked_until"] == _end_of_day(date(2040, 6, 30)).isoformat()
    archive = Archive.open(home)
    try:
        (item,) = record_objects(archive.store, name)
        assert archive.store.read_object(item.key, item.version_id).retain_until == _end_of_day(date(2040, 6, 30))
    finally:
        archive.close()

    corrected = json.loads(cli(home, "retention", "trigger", name, "--date", "2001-01-01", "--reason", "typo",
                               "--as", "mark", "--json").output)
    assert corrected["retain_until"] == "2011-01-01"
    assert corrected["locked_until"] == after["locked_until"], "a lock is never shortened"
    refused = cli(home, "retention", "dispose", name, "--reason", "over", "--as", "mark")
    assert refused.exit_code == 1 and "write-once in storage until 2040-06-30" in refused.output
    log = json.loads(cli(home, "audit", "log", "--action", "retention.trigger", "--json", "--as", "alice").output)
    assert [(e["actor"], e["outcome"], e["detail"].get("to")) for e in log] == [
        ("sam", "denied", None), ("mark", "ok", "2030-06-30"), ("mark", "ok", "2001-01-01")]
    wrong = cli(home, "retention", "trigger", name, "--date", "2030-13-01", "--reason", "x", "--as", "mark")
    assert wrong.exit_code == 2
    minutes = _put(home, write_file(tmp_path / "m.txt", b"m"), "--type", "minutes", "--as", "mark")
    assert cli(home, "retention", "trigger", minutes, "--date", "2030-01-01", "--reason", "x",
               "--as", "mark").exit_code == 2


def test_disposal_frees_keys_and_a_stuck_one_does_not_break_backups_or_rotation(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from retention import disposal

    stuck = _put(home, write_file(tmp_path / "a.txt", b"old a"), "--type", "contract", "--retain-from", "2001-01-01",
                 "--as", "setup")
    kept = _put(home, write_file(tmp_path / "b.txt", b"kept"), "--type", "minutes", "--as", "setup")
    _users(home)
    request_id = json.loads(cli(home, "retention", "dispose", stuck, "--reason", "over", "--as", "mark",
                                "--json").output)["id"]

    def crash(*args: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(disposal, "_certify", crash)
    assert cli(home, "retention", "approve", str(request_id), "--as", "dora").exit_code == 130
    monkeypatch.undo()
    backed_up = cli(home, "backup", "run", "--json")
    assert backed_up.exit_code == 0, backed_up.output
    assert json.loads(backed_up.output)["versions"] == 1, "the record being disposed of is left out"
    rotated = cli(home, "keys", "rotate", "--json")
    assert rotated.exit_code == 0, rotated.output
    assert json.loads(rotated.output)["reencrypted"] == 1
    assert cli(home, "retention", "apply").exit_code == 0
    retired = cli(home, "keys", "retire", "--json")
    assert retired.exit_code == 0 and len(json.loads(retired.output)) == 1, "disposed versions hold no key"
    assert cli(home, "get", kept, "-o", "-", "--as", "dora").output == "kept"


def test_a_type_without_a_schedule_is_kept_and_named(home: Path, tmp_path: Path, monkeypatch) -> None:
    letter = _put(home, write_file(tmp_path / "l.txt", b"letter"), "--type", "letter")
    monkeypatch.setenv("STRONGROOM_RECORDS_TYPES", "contract,minutes,report,other")
    monkeypatch.setenv("STRONGROOM_RETENTION_SCHEDULES", "contract = 10 years from end,minutes = 5 years from filing,"
                       "report = 3 years from filing,other = 5 years from filing")
    assert cli(home, "retention", "due", "--json").exit_code == 0
    assert cli(home, "retention", "apply").exit_code == 0
    shown = cli(home, "retention", "show", letter)
    assert shown.exit_code == 2 and "no retention schedule for record type 'letter'" in shown.output


def test_a_hold_whose_storage_part_failed_is_repaired_by_apply(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from storage.s3 import ObjectStore

    name = _put(home, write_file(tmp_path / "c.txt", b"disputed"), "--type", "contract",
                "--retain-from", "2005-01-01", "--as", "setup")
    _users(home)

    def storage_down(*args: object) -> None:
        raise StorageUnavailable("S3 storage unreachable: ConnectionRefusedError")

    monkeypatch.setattr(ObjectStore, "set_legal_hold", storage_down)
    failed = cli(home, "hold", "place", name, "--reason", "litigation", "--as", "dora")
    assert failed.exit_code == 1 and failed.output.count("\n") == 1
    monkeypatch.undo()
    held = json.loads(cli(home, "hold", "list", "--json", "--as", "dora").output)
    assert [h["record"] for h in held] == [name], "the catalog holds it even though storage failed"
    archive = Archive.open(home)
    try:
        (item,) = record_objects(archive.store, name)
        def legal_hold(bucket: str, key: str, version_id: str) -> bool:
            try:
                return bool(archive.store.client.is_object_legal_hold_enabled(bucket, key, version_id))
            except S3Error as exc:
                assert exc.code == "NoSuchObjectLegalHold"
                return False

        assert not legal_hold(archive.store.bucket, item.key, item.version_id)
        assert json.loads(cli(home, "retention", "apply", "--json").output)["holds_reasserted"] == 1
        assert legal_hold(archive.store.bucket, item.key, item.version_id)

        monkeypatch.setattr(ObjectStore, "set_legal_hold", storage_down)
        assert cli(home, "hold", "release", name, "--as", "dora").exit_code == 1
        monkeypatch.undo()
        assert legal_hold(archive.store.bucket, item.key, item.version_id), "storage still holds it"
    finally:
        archive.close()
    asked = json.loads(cli(home, "retention", "dispose", name, "--reason", "over", "--as", "mark", "--json").output)
    done = cli(home, "retention", "approve", str(asked["id"]), "--as", "dora")
    assert done.exit_code == 0, done.output
    archive = Archive.open(home)
    try:
        assert record_objects(archive.store, name) == []
    finally:
        archive.close()


def test_storage_refusing_a_deletion_leaves_the_record_disposing_and_apply_says_so(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from storage.s3 import ObjectStore

    name = _put(home, write_file(tmp_path / "c.txt", b"old"), "--type", "contract", "--retain-from", "2001-01-01",
                "--as", "setup")
    _users(home)
    request_id = json.loads(cli(home, "retention", "dispose", name, "--reason", "over", "--as", "mark",
                                "--json").output)["id"]
    monkeypatch.setattr(ObjectStore, "delete_unless_retained", lambda self, key, version_id: False)
    refused = cli(home, "retention", "approve", str(request_id), "--as", "dora")
    assert refused.exit_code == 1
    assert f"storage refuses to delete 1 object version(s) of {name}" in refused.output
    assert json.loads(cli(home, "retention", "show", name, "--json", "--as", "dora").output)["state"] == "disposing"
    stuck = cli(home, "retention", "apply")
    assert stuck.exit_code == 1
    assert f"disposal request {request_id}: storage refuses" in stuck.output
    monkeypatch.undo()
    assert cli(home, "retention", "apply").exit_code == 0
    assert json.loads(cli(home, "retention", "show", name, "--json", "--as", "dora").output)["state"] == "disposed"
    log = json.loads(cli(home, "audit", "log", "--action", "retention.apply", "--json", "--as", "alice").output)
    assert [e["outcome"] for e in log] == ["failed", "ok"]
