"""The ``backup`` and ``keys export|import`` commands as an operator (and cron) meets them.

The commands are attached to the real ``strongroom`` group for these tests, so exit
statuses and one-line errors are exactly what the installed command produces.
"""

from __future__ import annotations

import json
import stat
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import Result

import archive.service as service_module
from archive.reading import stored_versions
from archive.service import Archive, utcnow
from audit.log import query
from audit.trail import Event
from backup.layout import blob_key
from backup.repository import load_manifest, snapshot_ids
from backup.sealing import keys_of
from backup.target_config import TARGETS_FILE, choose_target, open_target
from bootstrap.home import init_home
from config.settings import Settings, load_settings
from tests.conftest import cli, make_home
from tests.helpers import put_bytes, replace_stored_bytes

PASSPHRASE = "correct horse battery staple"


def run_ok(home: Path, *args: str, input: bytes | None = None) -> Result:
    result = cli(home, *args, input=input)
    assert result.exit_code == 0, result.output
    return result


def one_line_error(result: Result, code: int) -> str:
    assert result.exit_code == code, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.output, result.output
    return lines[0]


def events(home: Path, action: str) -> list[Event]:
    archive = Archive.open(home)
    try:
        return query(archive, action=action)
    finally:
        archive.close()


def filed_home(home: Path) -> Path:
    archive = Archive.open(home)
    try:
        put_bytes(archive, b"lease " * 1000, title="Lease")
        put_bytes(archive, b"minutes " * 500, record_type="minutes")
    finally:
        archive.close()
    return home


# --- init and targets -------------------------------------------------------------------------


def test_init_configures_a_local_target_with_a_warning_and_stays_idempotent(tmp_path: Path, s3_server: Settings) -> None:
    home = tmp_path / "home"
    make_home(home, s3_server)
    assert (home / TARGETS_FILE).exists()
    report = init_home(home)
    assert TARGETS_FILE in report.kept and not report.warnings
    fresh = init_home(tmp_path / "other")
    assert TARGETS_FILE in fresh.created
    assert len(fresh.warnings) == 1 and "same disk" in fresh.warnings[0] and "not a disaster-recovery" in fresh.warnings[0]
    listed = run_ok(home, "backup", "target", "list")
    assert "local" in listed.stdout and "(default)" in listed.stdout and "same disk" in listed.stdout
    assert json.loads(run_ok(home, "backup", "target", "list", "--json").stdout)[0]["location"] == str(home / "backups")


def test_backup_run_works_out_of_the_box(home: Path) -> None:
    filed_home(home)
    result = run_ok(home, "backup", "run")
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1, "one summary line for cron"
    assert lines[0].startswith("backup: snapshot ") and "target 'local'" in lines[0] and "2 object(s)" in lines[0]
    assert (home / "backups" / "strongroom-backup.json").exists()
    [event] = events(home, "backup.run")
    assert event.outcome == "ok" and event.detail["copied"] == 2


def test_target_add_checks_and_records_the_target(home: Path, s3_server: Settings, tmp_path: Path) -> None:
    url = f"{s3_server.storage.endpoint}/bk-{uuid.uuid4().hex[:12]}"
    result = run_ok(home, "backup", "target", "add", "offsite", url)
    assert "offsite" in result.stdout and "own S3 server" in result.stderr
    settings = load_settings(home)
    assert choose_target(settings, "offsite").url == url
    assert "'offsite' exists" in one_line_error(cli(home, "backup", "target", "add", "offsite", url), 1)
    assert "own bucket" in one_line_error(
        cli(home, "backup", "target", "add", "self", f"{s3_server.storage.endpoint}/{settings.storage.bucket}"), 2
    )
    assert "invalid target name" in one_line_error(cli(home, "backup", "target", "add", "Off Site", "/tmp/x"), 2)
    assert "goes with --access-key" in one_line_error(
        cli(home, "backup", "target", "add", "x", url, "--secret-key", "s"), 2
    )
    busy = tmp_path / "not-empty"
    busy.mkdir()
    (busy / "photo.jpg").write_bytes(b"x")
    assert "not empty" in one_line_error(cli(home, "backup", "target", "add", "nas", str(busy)), 1)
    listed = json.loads(run_ok(home, "backup", "target", "list", "--json").stdout)
    assert [t["name"] for t in listed] == ["local", "offsite"], "a target that failed its check is not saved"


def test_target_with_its_own_credentials_keeps_them_private(home: Path, s3_server: Settings) -> None:
    credentials = s3_server.credentials()
    url = f"{s3_server.storage.endpoint}/bk-{uuid.uuid4().hex[:12]}"
    run_ok(home, "backup", "target", "add", "offsite", url, "--access-key", credentials.access_key,
           input=f"{credentials.secret_key}\n".encode())
    secrets = home / "secrets" / "backup-credentials.json"
    assert stat.S_IMODE(secrets.stat().st_mode) == 0o600
    assert credentials.secret_key not in (home / TARGETS_FILE).read_text()
    filed_home(home)
    run_ok(home, "backup", "run", "--target", "offsite")


# --- run: --if-due, --json, failures, lock ----------------------------------------------------


def test_if_due_runs_once_a_week(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    filed_home(home)
    first = json.loads(run_ok(home, "backup", "run", "--if-due", "--json").stdout)
    assert first["due"] is True and first["objects"] == 2
    skipped = run_ok(home, "backup", "run", "--if-due")
    assert skipped.stdout.startswith("backup: not due") and len(skipped.stdout.strip().splitlines()) == 1
    assert json.loads(run_ok(home, "backup", "run", "--if-due", "--json").stdout)["due"] is False
    later = utcnow() + timedelta(days=8)
    monkeypatch.setattr(service_module, "utcnow", lambda: later)
    again = json.loads(run_ok(home, "backup", "run", "--if-due", "--json").stdout)
    assert again["due"] is True and again["copied"] == 0
    assert len(events(home, "backup.run")) == 2, "a not-due call leaves no trace"


def test_a_failed_run_exits_non_zero_with_one_line_and_is_audited(home: Path) -> None:
    filed_home(home)
    run_ok(home, "backup", "target", "add", "nas", str(home.parent / "nas"))
    (home.parent / "nas" / "blobs").write_bytes(b"")  # a file where a directory should be: writes fail
    line = one_line_error(cli(home, "backup", "run", "--target", "nas"), 1)
    assert "cannot write" in line
    [event] = events(home, "backup.run")
    assert event.outcome == "failed" and "cannot write" in event.detail["error"]
    assert "no backup target 'nope'" in one_line_error(cli(home, "backup", "run", "--target", "nope"), 1)


def test_a_second_run_is_refused_while_one_holds_the_lock(home: Path) -> None:
    from backup.lock import backup_lock

    with backup_lock(load_settings(home)):
        assert "another backup operation" in one_line_error(cli(home, "backup", "run"), 1)
    run_ok(home, "backup", "run")


# --- list, verify, prune ----------------------------------------------------------------------


def test_list_verify_and_prune(home: Path) -> None:
    filed_home(home)
    run_ok(home, "backup", "run")
    run_ok(home, "backup", "run")
    listing = json.loads(run_ok(home, "backup", "list", "--json").stdout)
    ids = [s["id"] for s in listing["snapshots"]]
    assert len(ids) == 2 and listing["snapshots"][0]["versions"] == 2 and listing["unreadable"] == []
    assert ids[0] in run_ok(home, "backup", "list").stdout
    assert "checked 4 blobs: ok 4, damaged 0, unreadable 0 (of 2 snapshot(s)" in run_ok(
        home, "backup", "verify", "--read-data").stdout
    assert json.loads(run_ok(home, "backup", "verify", ids[0][:-4], "--read-data-subset", "50%", "--json").stdout)["ok"]
    assert "ambiguous" in one_line_error(cli(home, "backup", "verify", ids[0][:4]), 2)
    assert "alternatives" in one_line_error(cli(home, "backup", "verify", "--read-data", "--read-data-subset", "5%"), 2)
    assert "percentage" in one_line_error(cli(home, "backup", "verify", "--read-data-subset", "lots"), 2)

    settings = load_settings(home)
    target = open_target(settings, choose_target(settings, None))
    archive = Archive.open(home)
    try:
        manifest = load_manifest(target, ids[-1], keys_of(archive.keyring))
    finally:
        archive.close()
    victim = manifest.entries[0]
    corrupt = bytearray(target.read(blob_key(victim.blob)))
    corrupt[-20] ^= 1
    target.put_bytes(blob_key(victim.blob), bytes(corrupt))
    result = cli(home, "backup", "verify", "--read-data")
    assert result.exit_code == 1 and "corrupt" in result.stdout and str(victim.name) in result.stdout
    assert events(home, "backup.verify")[-1].outcome == "failed"

    dry = json.loads(run_ok(home, "backup", "prune", "--keep-weekly", "1", "--keep-monthly", "0",
                            "--dry-run", "--json").stdout)
    assert dry["dropped"] == [ids[0]] and snapshot_ids(target) == ids
    pruned = run_ok(home, "backup", "prune", "--keep-weekly", "1", "--keep-monthly", "0")
    assert f"dropped {ids[0]}" in pruned.stdout and snapshot_ids(target) == ids[1:]
    assert events(home, "backup.prune")[0].detail["dropped"] == [ids[0]]
    assert "Missing option" in one_line_error(cli(home, "backup", "prune", "--keep-weekly", "1"), 2)


# --- keys export / import and restore ---------------------------------------------------------


def test_keys_export_is_private_and_protected(home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    escrow = tmp_path / "escrow.json"
    result = run_ok(home, "keys", "export", str(escrow), input=f"{PASSPHRASE}\n{PASSPHRASE}\n".encode())
    assert "passphrase-protected" in result.stdout
    assert stat.S_IMODE(escrow.stat().st_mode) == 0o600
    keyring = json.loads((home / "secrets" / "keyring.json").read_text())
    assert keyring["keys"][0]["key"] not in escrow.read_text()
    assert "exists" in one_line_error(cli(home, "keys", "export", str(escrow)), 2)
    plain = tmp_path / "plain.json"
    run_ok(home, "keys", "export", str(plain), "--plain")
    assert keyring["keys"][0]["key"] in plain.read_text()
    assert [e.detail["protected"] for e in events(home, "keys.export")] == [True, False]

    new_home = tmp_path / "new"
    monkeypatch.setenv("STRONGROOM_KEYS_PASSPHRASE", "not the passphrase")
    assert "wrong passphrase" in one_line_error(cli(new_home, "keys", "import", str(escrow)), 2)
    monkeypatch.setenv("STRONGROOM_KEYS_PASSPHRASE", PASSPHRASE)
    assert "imported 1 key(s)" in run_ok(new_home, "keys", "import", str(escrow)).stdout
    assert json.loads((new_home / "secrets" / "keyring.json").read_text())["keys"] == keyring["keys"]
    assert stat.S_IMODE(new_home.stat().st_mode) == 0o700
    assert "already holds this keyring" in run_ok(new_home, "keys", "import", str(plain)).stdout
    other = tmp_path / "other"
    run_ok(other, "init")  # a home with a keyring of its own
    assert "different keyring" in one_line_error(cli(other, "keys", "import", str(escrow)), 1)


def _storage_options(server: Settings) -> list[str]:
    """``init``'s options for a new home with a bucket of its own on the suite's S3 server."""
    credentials = server.credentials()
    return ["--s3-endpoint", server.storage.endpoint, "--bucket", f"t-{uuid.uuid4().hex[:20]}",
            "--s3-access-key", credentials.access_key, "--s3-secret-key", credentials.secret_key]


def test_restore_with_keys_makes_the_new_home_in_one_step(home: Path, tmp_path: Path, s3_server: Settings,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """The issue's drill: 'backup restore ID --home NEW' failed without 'init' and after it."""
    filed_home(home)
    before = _contents(home)
    run_ok(home, "backup", "run")
    escrow = tmp_path / "escrow.json"
    run_ok(home, "keys", "export", str(escrow), input=f"{PASSPHRASE}\n{PASSPHRASE}\n".encode())
    drill = tmp_path / "drill"
    backups = str(home / "backups")
    assert "--from" in one_line_error(
        cli(home, "backup", "restore", "latest", "--home", str(drill), "--keys", str(escrow)), 2)
    assert "go with --keys" in one_line_error(
        cli(home, "backup", "restore", "latest", "--from", backups, *_storage_options(s3_server)), 2)
    assert not drill.exists()

    monkeypatch.setenv("STRONGROOM_KEYS_PASSPHRASE", PASSPHRASE)
    result = run_ok(home, "backup", "restore", "latest", "--home", str(drill), "--from", backups,
                    "--keys", str(escrow), *_storage_options(s3_server))
    assert f"imported 1 key(s) from {escrow} and initialised {drill}" in result.stdout
    assert "read back 2 version(s): 0 problem(s); audit trail verified" in result.stdout
    assert "(2 write-once again)" in result.stdout
    assert "search index rebuilt: 2 version(s)" in result.stdout
    assert _contents(drill) == before
    assert (drill / "secrets" / "keyring.json").read_text() == (home / "secrets" / "keyring.json").read_text()
    restored = Archive.open(drill)
    try:
        for ref in stored_versions(restored):
            assert restored.store.read_object(ref.object_key, ref.s3_version_id).lock_mode == "COMPLIANCE"
    finally:
        restored.close()
    assert events(drill, "backup.restore")[0].outcome == "ok"
    assert "2026-0001-contract" in run_ok(drill, "search", "lease").stdout  # the index of the new home
    again = ("backup", "restore", "latest", "--home", str(drill), "--from", backups)
    assert "not empty" in one_line_error(cli(home, *again), 1)
    assert "not empty" in one_line_error(cli(home, *again, "--keys", str(escrow)), 1)
    assert "goes with --record" in one_line_error(cli(home, "backup", "restore", "latest", "--version", "2"), 2)


def test_restore_with_keys_refuses_a_directory_in_use_and_another_keyring(home: Path, tmp_path: Path) -> None:
    filed_home(home)
    run_ok(home, "backup", "run")
    escrow = tmp_path / "escrow.json"
    run_ok(home, "keys", "export", str(escrow), "--plain")
    backups = str(home / "backups")
    used = tmp_path / "used"
    used.mkdir()
    (used / "notes.txt").write_text("someone's files")
    restore = ("backup", "restore", "latest", "--from", backups, "--keys", str(escrow))
    assert "is not empty (it holds notes.txt)" in one_line_error(cli(home, *restore, "--home", str(used)), 1)
    other = tmp_path / "other"
    run_ok(other, "init")  # a home with a keyring of its own
    assert "holds another keyring" in one_line_error(cli(home, *restore, "--home", str(other)), 1)
    assert "give the keyring export with --keys FILE" in one_line_error(
        cli(home, "backup", "restore", "latest", "--from", backups, "--home", str(tmp_path / "new")), 2)
    assert "there is no backup directory" in one_line_error(
        cli(home, "backup", "restore", "latest", "--from", str(tmp_path / "nowhere")), 1)


def test_a_new_home_for_a_restore_resumes_its_own_attempt_and_refuses_another_keyring(tmp_path: Path) -> None:
    from backup.escrow import install_keyring
    from bootstrap.home import prepare_home
    from encryption.keyring import Keyring
    from errors import Conflict

    keys = Keyring.create(tmp_path / "escrowed.json").entries
    home = tmp_path / "new"
    install_keyring(home / "secrets" / "keyring.json", keys)  # an attempt that stopped before 'init'
    (home / "secrets" / "keyring.json.lock").touch()
    assert prepare_home(home, keys, None) is True
    assert (home / "strongroom.toml").exists()
    assert prepare_home(home, keys, None) is False  # initialised with these keys: the restore resumes
    with pytest.raises(Conflict, match="holds another keyring"):
        prepare_home(home, Keyring.create(tmp_path / "other.json").entries, None)


def test_restore_names_pending_filings_for_repair(home: Path, tmp_path: Path, s3_server: Settings) -> None:
    """A filing in progress when the snapshot was taken comes back pending; its writer ran on the old host."""
    from archive.filing import _allocate
    from catalog.schema import Version

    filed_home(home)
    archive = Archive.open(home)
    try:
        _, version = _allocate(archive, "contract", 2026, "being filed", "tester", "a.pdf", None)
        with archive.catalog.write() as session:
            session.get(Version, version.id).writer = "old-host:4242"  # type: ignore[union-attr]
    finally:
        archive.close()
    run_ok(home, "backup", "run")
    escrow = tmp_path / "escrow.json"
    run_ok(home, "keys", "export", str(escrow), "--plain")
    drill = tmp_path / "drill"
    result = run_ok(home, "backup", "restore", "latest", "--home", str(drill), "--from", str(home / "backups"),
                    "--keys", str(escrow), *_storage_options(s3_server), "--json")
    assert json.loads(result.stdout)["pending"] == ["2026-0002-contract v1"]
    assert "2026-0002-contract v1" in result.stderr and "strongroom repair --force" in result.stderr
    repaired = json.loads(run_ok(drill, "repair", "--force", "--json").stdout)
    assert [(a["name"], a["action"]) for a in repaired] == [("2026-0002-contract", "voided")]


def test_restore_one_record_into_the_live_archive(home: Path) -> None:
    filed_home(home)
    before = _contents(home)
    run_ok(home, "backup", "run")
    archive = Archive.open(home)
    try:
        replace_stored_bytes(archive, "2026-0001-contract", 1, b"damaged")
    finally:
        archive.close()
    assert cli(home, "verify").exit_code == 1
    result = run_ok(home, "backup", "restore", "latest", "--record", "2026-0001-contract")
    assert "2026-0001-contract v1: restored" in result.stdout
    assert _contents(home) == before
    run_ok(home, "verify")
    [event] = events(home, "backup.restore")
    assert event.record == "2026-0001-contract" and event.version == 1
    assert "holds no 2026-0009-contract" in one_line_error(
        cli(home, "backup", "restore", "latest", "--record", "2026-0009-contract"), 1
    )


def _contents(home: Path) -> dict[tuple[str, int], bytes]:
    from archive.reading import read_version, stored_versions

    archive = Archive.open(home)
    try:
        return {(r.name, r.version): b"".join(read_version(archive, r)) for r in stored_versions(archive)}
    finally:
        archive.close()


def test_disaster_recovery_into_an_initialised_empty_home(home: Path, tmp_path: Path, s3_server: Settings) -> None:
    """Without --keys: keys import, init, target add, restore latest — after losing home and bucket."""
    import shutil

    filed_home(home)
    before = _contents(home)
    nas = tmp_path / "nas"
    run_ok(home, "backup", "target", "add", "nas", str(nas))
    run_ok(home, "backup", "run", "--target", "nas")
    escrow = tmp_path / "escrow.json"
    run_ok(home, "keys", "export", str(escrow), input=f"{PASSPHRASE}\n{PASSPHRASE}\n".encode())
    shutil.rmtree(home)

    new_home = tmp_path / "new-host"
    run_ok(new_home, "keys", "import", str(escrow), input=f"{PASSPHRASE}\n".encode())
    make_home(new_home, s3_server)
    run_ok(new_home, "backup", "target", "add", "nas", str(nas))
    result = run_ok(new_home, "backup", "restore", "latest", "--target", "nas", "--json")
    report = json.loads(result.stdout)
    assert report["problems"] == [] and report["audit"]["ok"] and report["verified"] == 2
    assert report["search_indexed"] == 2 and report["pending"] == []
    assert _contents(new_home) == before
    run_ok(new_home, "audit", "verify")
    run_ok(new_home, "backup", "run", "--target", "nas")  # and the restored archive backs up again
