"""Backups against real targets: a bucket on the suite's SeaweedFS and a directory.

Full cycle (file → back up → lose bucket and catalog → restore → byte-identical, audit
verified), deduplication, corruption found by verify, interrupted and killed runs
resumed, the lock, prune, and bringing back one record.
"""

from __future__ import annotations

import io
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

import backup.snapshot as snapshot_module
from accounts.users import add_user
from archive.filing import file_record, file_version
from archive.numbers import find_marker
from archive.reading import read_version, stored_versions
from archive.rotation import rotate
from archive.service import Archive
from audit.actor import Actor
from audit.checkpoints import list_checkpoints, write_checkpoint
from audit.trail import record
from audit.verify import verify_audit
from backup.escrow import install_keyring
from backup.hash_cache import FILE_NAME as HASH_CACHE
from backup.layout import blob_key, snapshot_key
from backup.lock import backup_lock
from backup.manifest import Manifest
from backup.prune import prune
from backup.repository import blob_sizes, load_manifest, snapshot_ids
from backup.restore import RestoreReport, restore_archive, restore_record
from backup.sealing import keys_of
from backup.snapshot import RunReport, run_backup
from backup.target_config import ConfiguredTarget, add_target, open_target
from backup.targets import Target
from backup.verify import verify_snapshots
from catalog.schema import Version
from config.settings import Settings
from encryption.keyring import KeyEntry
from errors import Conflict, IntegrityError, StrongroomError
from tests.conftest import REPO, make_home
from tests.helpers import put_bytes, replace_stored_bytes
from tests.test_filing import _Failing

OPERATOR = Actor("operator:tester", None)


def contents(archive: Archive) -> dict[tuple[str, int], bytes]:
    """Every stored version, read back through the archive's integrity checks."""
    return {(r.name, r.version): b"".join(read_version(archive, r)) for r in stored_versions(archive)}


def fill(archive: Archive) -> None:
    """Records with several versions, one larger than the in-memory copy limit, users and audited events."""
    first = put_bytes(archive, b"lease, branch 3 " * 500, title="Lease").name
    file_version(archive, first, io.BytesIO(b"lease, signed " * 700), actor="tester", comment="signed")
    file_version(archive, first, io.BytesIO(b"lease, amended " * 800), actor="tester", comment="amended")
    put_bytes(archive, os.urandom(300_000), record_type="minutes", title="Board minutes")
    put_bytes(archive, b"short letter", record_type="letter")
    add_user(archive, "dora", "director", "a long enough password", actor=OPERATOR)
    for _ in range(3):
        record(archive, OPERATOR, "record.read", record=first)
    write_checkpoint(archive)
    record(archive, OPERATOR, "record.view", record=first)
    write_checkpoint(archive)


def target_url(kind: str, tmp_path: Path, server: Settings) -> str:
    if kind == "directory":
        return str(tmp_path / f"nas-{uuid.uuid4().hex[:8]}")
    return f"{server.storage.endpoint}/bk-{uuid.uuid4().hex[:16]}"


@pytest.fixture(params=["directory", "s3"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def offsite(archive: Archive, kind: str, tmp_path: Path, s3_server: Settings) -> Iterator[tuple[ConfiguredTarget, Target]]:
    configured = add_target(archive.settings, "offsite", target_url(kind, tmp_path, s3_server))
    yield configured, open_target(archive.settings, configured)


@pytest.fixture(autouse=True)
def without_object_lock(archive: Archive) -> None:
    """These tests lose the bucket and delete superseded versions under a running backup: no Object Lock."""
    archive.settings.retention.object_lock = False


@pytest.fixture(autouse=True)
def small_memory_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    """Objects above 100 kB go through the on-disk spool, as objects above 16 MiB do in production."""
    monkeypatch.setattr(snapshot_module, "MEMORY_LIMIT", 100_000)


def backup_now(archive: Archive, offsite: tuple[ConfiguredTarget, Target]) -> RunReport:
    configured, target = offsite
    with backup_lock(archive.settings):
        return run_backup(archive, configured.name, target)


def delete_bucket_contents(archive: Archive) -> None:
    """Lose the bucket: every record object version is deleted (locked checkpoints may stay)."""
    store = archive.store
    for stored in store.list_versions("current/") + store.list_versions("archive/"):
        store.delete_version(stored.key, stored.version_id)
    assert not store.list_versions("current/")


# --- the full cycle ---------------------------------------------------------------------------


def test_full_cycle_restores_byte_identical_archive_with_verified_audit_trail(
    archive: Archive, offsite: tuple[ConfiguredTarget, Target], tmp_path: Path, s3_server: Settings
) -> None:
    fill(archive)
    before = contents(archive)
    old_ids = {(v.object_key, v.s3_version_id) for v in _versions(archive)}
    checkpoints_before = [(c.seq, c.hash) for c in list_checkpoints(archive)]
    assert len(checkpoints_before) == 2
    report = backup_now(archive, offsite)
    assert report.versions == len(before) == 5 and report.checkpoints == 2 and report.records == 3
    configured, _ = offsite

    # Disaster: the bucket's records and the whole home (catalog, keyring) are gone.
    keyring_entries = archive.keyring.entries
    delete_bucket_contents(archive)
    archive.close()
    shutil.rmtree(archive.settings.home)

    new_home = tmp_path / "new-home"
    manifest, restored_report = restore_into(new_home, keyring_entries, configured, s3_server)
    assert restored_report.restored == 7

    restored = Archive.open(new_home)
    try:
        assert contents(restored) == before, "every record and version reads back byte-identical"
        new_ids = {(v.object_key, v.s3_version_id) for v in _versions(restored)}
        assert not new_ids & old_ids, "the catalog points at the new bucket's version ids"
        assert {key for key, _ in new_ids} == {key for key, _ in old_ids}
        assert [(c.seq, c.hash) for c in list_checkpoints(restored)] == checkpoints_before
        trail = verify_audit(restored, probe_lock=False)
        assert trail.ok, trail.problem
        assert trail.head_seq == manifest.audit_head and trail.checkpoints == 2
        assert restored.settings.storage.bucket != s3_server.storage.bucket
    finally:
        restored.close()


def restore_into(
    new_home: Path, keyring_entries: list[KeyEntry], configured: ConfiguredTarget, s3_server: Settings
) -> tuple[Manifest, RestoreReport]:
    """Restore the newest snapshot into a new home with its own bucket (keys imported before init)."""
    install_keyring(new_home / "secrets" / "keyring.json", keyring_entries)
    make_home(new_home, s3_server)
    fresh = Archive.open(new_home)
    try:
        new_target = open_target(fresh.settings, ConfiguredTarget("offsite", configured.url, configured.location))
        manifest = load_manifest(new_target, snapshot_ids(new_target)[-1], keys_of(fresh.keyring))
        return manifest, restore_archive(fresh, new_target, manifest)
    finally:
        fresh.close()


def test_number_markers_travel_with_the_snapshot(
    archive: Archive, offsite: tuple[ConfiguredTarget, Target], tmp_path: Path, s3_server: Settings
) -> None:
    with pytest.raises(StrongroomError):
        file_record(archive, _Failing(), record_type="letter", year=2026, actor="tester")  # type: ignore[arg-type]
    put_bytes(archive, b"kept", record_type="letter")
    assert backup_now(archive, offsite).numbers == 1
    new_home = tmp_path / "new-home"
    manifest, report = restore_into(new_home, archive.keyring.entries, offsite[0], s3_server)
    assert (manifest.counts["numbers"], report.numbers, report.restored) == (1, 1, 2)
    restored = Archive.open(new_home)
    try:
        marker = find_marker(restored, "2026-0001-letter")
        assert marker is not None and marker.kind == "void" and marker.reason.startswith("upload failed")
        assert restored.store.list_versions("numbers/")[0].key == "numbers/2026-0001-letter"
    finally:
        restored.close()


def _versions(archive: Archive) -> list[Version]:
    with archive.catalog.read() as session:
        return list(session.scalars(select(Version)))


def test_restore_refuses_a_home_that_is_not_empty(
    archive: Archive, offsite: tuple[ConfiguredTarget, Target]
) -> None:
    put_bytes(archive, b"something")
    backup_now(archive, offsite)
    _, target = offsite
    manifest = load_manifest(target, snapshot_ids(target)[-1], keys_of(archive.keyring))
    with pytest.raises(Conflict, match="not empty"):
        restore_archive(archive, target, manifest)


# --- deduplication ----------------------------------------------------------------------------


def test_a_second_run_copies_only_what_changed(archive: Archive, offsite: tuple[ConfiguredTarget, Target]) -> None:
    fill(archive)
    first = backup_now(archive, offsite)
    assert first.copied == first.objects == 7
    second = backup_now(archive, offsite)
    assert second.copied == 0 and second.reused == second.objects == 7 and second.read_bytes == 0
    assert second.copied_bytes < 200_000, "only the sealed catalog copy is new"

    name = stored_versions(archive)[0].name
    filed = file_version(archive, name, io.BytesIO(b"a fourth version"), actor="tester")
    third = backup_now(archive, offsite)
    assert third.copied == 1, "the new version; the superseded one moved to archive/ holds known bytes"
    assert third.versions == second.versions + 1
    _, target = offsite
    ids = snapshot_ids(target)
    assert len(ids) == 3 and ids == sorted(ids)
    manifest = load_manifest(target, ids[-1], keys_of(archive.keyring))
    assert (name, filed.version) in {(e.name, e.version) for e in manifest.entries}
    assert len(blob_sizes(target)) == 7 + 1 + 3, "objects, the new one, and one catalog copy per snapshot"


# --- verify -----------------------------------------------------------------------------------


def test_verify_reports_a_corrupt_and_a_missing_blob(archive: Archive, offsite: tuple[ConfiguredTarget, Target]) -> None:
    fill(archive)
    backup_now(archive, offsite)
    _, target = offsite
    keys = keys_of(archive.keyring)
    report = verify_snapshots(target, keys, None, read_fraction=1.0)
    assert report.ok and report.read == report.blobs == 8

    manifest = load_manifest(target, snapshot_ids(target)[-1], keys)
    victim, gone = [e for e in manifest.entries if e.is_record][:2]
    data = bytearray(target.read(blob_key(victim.blob)))
    data[len(data) // 2] ^= 0x40
    target.put_bytes(blob_key(victim.blob), bytes(data))
    target.delete(blob_key(gone.blob))

    structure = verify_snapshots(target, keys, None)
    assert [(p.blob, p.problem) for p in structure.problems] == [(gone.blob, "missing from the target")], (
        "without reading data only the missing blob shows (the corrupt one has the right size)"
    )
    full = verify_snapshots(target, keys, [manifest.snapshot], read_fraction=1.0)
    found = {p.blob: p for p in full.problems}
    assert set(found) == {victim.blob, gone.blob}
    assert "corrupt" in found[victim.blob].problem
    assert found[victim.blob].what == f"{victim.name} v{victim.version} ({victim.key})"
    assert found[victim.blob].snapshots == [manifest.snapshot]


def test_verify_reads_a_subset(archive: Archive, offsite: tuple[ConfiguredTarget, Target]) -> None:
    fill(archive)
    backup_now(archive, offsite)
    _, target = offsite
    report = verify_snapshots(target, keys_of(archive.keyring), None, read_fraction=0.25)
    assert report.ok and report.read == 2 and report.blobs == 8


# --- interrupted runs -------------------------------------------------------------------------


def test_an_interrupted_run_leaves_no_snapshot_and_the_next_resumes(
    archive: Archive, offsite: tuple[ConfiguredTarget, Target], monkeypatch: pytest.MonkeyPatch
) -> None:
    fill(archive)
    monkeypatch.setenv("STRONGROOM_BACKUP_THREADS", "1")
    archive.settings.backup.threads = 1
    _, target = offsite
    real_put = target.put_bytes
    calls: list[str] = []

    def failing_put(key: str, data: bytes) -> None:
        if len(calls) == 3:
            raise OSError("disk full")
        calls.append(key)
        real_put(key, data)

    monkeypatch.setattr(target, "put_bytes", failing_put)
    with pytest.raises(OSError):
        backup_now(archive, offsite)
    assert snapshot_ids(target) == [], "no complete-looking snapshot"
    copied_before = len((archive.settings.run_dir / HASH_CACHE).read_text().splitlines())
    assert copied_before >= 3
    monkeypatch.setattr(target, "put_bytes", real_put)

    resumed = backup_now(archive, offsite)
    assert resumed.reused == copied_before and resumed.copied == 7 - copied_before, "nothing copied twice"
    assert snapshot_ids(target) == [resumed.snapshot]
    assert verify_snapshots(target, keys_of(archive.keyring), None, read_fraction=1.0).ok


CHILD = """
import sys, time
from pathlib import Path
import backup.snapshot as snapshot
from archive.service import Archive
from backup.lock import backup_lock
from backup.target_config import choose_target, open_target

real = snapshot._Copier._store_bytes
def slow(self, data):
    time.sleep(0.4)
    return real(self, data)
snapshot._Copier._store_bytes = slow
archive = Archive.open(Path(sys.argv[1]))
configured = choose_target(archive.settings, "offsite")
with backup_lock(archive.settings):
    snapshot.run_backup(archive, "offsite", open_target(archive.settings, configured))
print("finished")
"""


def test_a_killed_run_leaves_no_snapshot_and_the_next_resumes_without_recopying(
    archive: Archive, offsite: tuple[ConfiguredTarget, Target]
) -> None:
    for number in range(8):
        put_bytes(archive, f"record {number}".encode() * 50)
    cache = archive.settings.run_dir / HASH_CACHE
    env = {**os.environ, "STRONGROOM_BACKUP_THREADS": "1"}
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(archive.settings.home)], cwd=REPO, env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while not (cache.exists() and len(cache.read_text().splitlines()) >= 3):
            assert child.poll() is None, child.stderr.read().decode() if child.stderr else ""
            assert time.monotonic() < deadline, "the child made no progress"
            time.sleep(0.05)
        child.send_signal(signal.SIGKILL)
    finally:
        child.wait(timeout=30)
    done = len(cache.read_text().splitlines())
    assert 3 <= done < 8
    _, target = offsite
    assert snapshot_ids(target) == [], "a killed run leaves no complete-looking snapshot"
    resumed = backup_now(archive, offsite)  # the lock died with the child
    assert resumed.reused == done and resumed.copied == 8 - done


def test_two_runs_at_once_are_refused(archive: Archive, offsite: tuple[ConfiguredTarget, Target]) -> None:
    other = Archive.open(archive.settings.home)
    try:
        with backup_lock(other.settings), pytest.raises(Conflict, match="another backup operation"):
            backup_now(archive, offsite)
    finally:
        other.close()
    backup_now(archive, offsite)


def test_a_version_superseded_during_the_run_is_caught_by_a_second_pass(
    archive: Archive, offsite: tuple[ConfiguredTarget, Target], monkeypatch: pytest.MonkeyPatch
) -> None:
    name = put_bytes(archive, b"first version").name
    real = snapshot_module.read_contents
    passes: list[int] = []

    def supersede_after_copy(path: Path) -> object:
        found = real(path)
        if not passes:  # between the catalog copy and the object copy, a new version replaces current/NAME
            file_version(archive, name, io.BytesIO(b"second version"), actor="tester")
        passes.append(1)
        return found

    monkeypatch.setattr(snapshot_module, "read_contents", supersede_after_copy)
    report = backup_now(archive, offsite)
    assert len(passes) == 2 and report.versions == 2
    _, target = offsite
    manifest = load_manifest(target, report.snapshot, keys_of(archive.keyring))
    assert sorted((e.name, e.version) for e in manifest.entries) == [(name, 1), (name, 2)]


# --- one record into the live archive ---------------------------------------------------------


def test_restore_one_damaged_record_version_into_the_live_archive(
    archive: Archive, offsite: tuple[ConfiguredTarget, Target]
) -> None:
    fill(archive)
    before = contents(archive)
    backup_now(archive, offsite)
    name = stored_versions(archive)[0].name
    replace_stored_bytes(archive, name, 2, b"garbage")
    with pytest.raises(IntegrityError):
        contents(archive)
    _, target = offsite
    manifest = load_manifest(target, snapshot_ids(target)[-1], keys_of(archive.keyring))
    results = restore_record(archive, target, manifest, name)
    assert [(r.version, r.action) for r in results] == [(1, "intact"), (2, "restored"), (3, "intact")]
    assert contents(archive) == before


# --- prune ------------------------------------------------------------------------------------


def test_prune_keeps_what_kept_snapshots_need(
    archive: Archive, offsite: tuple[ConfiguredTarget, Target], monkeypatch: pytest.MonkeyPatch
) -> None:
    fill(archive)
    clock = [datetime(2026, 1, 5, 3, tzinfo=UTC)]
    monkeypatch.setattr(snapshot_module, "utcnow", lambda: clock[0])

    def weekly_backup() -> str:
        clock[0] += timedelta(weeks=1)
        return backup_now(archive, offsite).snapshot

    _, target = offsite
    ids = [weekly_backup()]
    rotate(archive)  # every object re-encrypted: the first snapshot's object blobs are its own
    ids += [weekly_backup() for _ in range(3)]
    keys = keys_of(archive.keyring)
    first_only = set(load_manifest(target, ids[0], keys).blobs()) - set(load_manifest(target, ids[1], keys).blobs())
    assert len(first_only) == 5 + 1, "its five record objects and its catalog copy (checkpoints are shared)"

    dry = prune(target, keys, 2, 0, dry_run=True)
    assert dry.dropped == ids[:2] and snapshot_ids(target) == ids
    report = prune(target, keys, 2, 0)
    assert report.kept == ids[2:] and report.dropped == ids[:2]
    assert report.blobs_deleted == 5 + 2, "the first snapshot's objects and two catalog copies"
    remaining = blob_sizes(target)
    assert not first_only & set(remaining)
    assert verify_snapshots(target, keys, None, read_fraction=1.0).ok, "kept snapshots are whole"
    assert prune(target, keys, 0, 0).kept == [ids[-1]], "the newest snapshot always stays"


def test_prune_refuses_a_target_with_snapshots_it_cannot_open(
    archive: Archive, offsite: tuple[ConfiguredTarget, Target], tmp_path: Path
) -> None:
    put_bytes(archive, b"x")
    report = backup_now(archive, offsite)
    _, target = offsite
    target.put_bytes(snapshot_key("29990101T000000Z-00000000"), target.read(snapshot_key(report.snapshot)))
    with pytest.raises(Conflict, match="do not open"):
        prune(target, keys_of(archive.keyring), 1, 1)


def test_a_known_version_id_with_another_nonce_is_read_again(
    archive: Archive, offsite: tuple[ConfiguredTarget, Target]
) -> None:
    """A version id seen before but holding another object (a reused id) is not trusted: it is read and hashed."""
    import json

    put_bytes(archive, b"first record")
    backup_now(archive, offsite)
    cache = archive.settings.run_dir / HASH_CACHE
    lines = [json.loads(line) for line in cache.read_text().splitlines()]
    cache.write_text("".join(json.dumps({**line, "nonce": "0" * 32}) + "\n" for line in lines) + '{"key": "cut sh')
    report = backup_now(archive, offsite)
    assert report.reused == 0 and report.read_bytes > 0 and report.copied == 0
