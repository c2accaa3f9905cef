"""S3 Object Lock as the suite's SeaweedFS really does it, and checkpoints with and without it."""

from __future__ import annotations

import io
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from minio.commonconfig import COMPLIANCE
from minio.retention import Retention
from minio.versioningconfig import ENABLED, VersioningConfig

from archive.service import Archive
from audit.actor import Actor
from audit.checkpoints import PREFIX, checkpoint_key, list_checkpoints, write_checkpoint
from audit.trail import record
from audit.verify import verify_audit
from errors import StorageUnavailable
from storage.s3 import PROBE_KEY, PROBE_RETENTION, MissingObject, ObjectStore, StoredVersion
from tests.conftest import cli, make_home
from tests.service_helpers import start_service

ALICE = Actor("alice", "staff", "cli")


def test_new_bucket_is_made_with_object_lock(archive):
    store = archive.store
    config = store.client.get_object_lock_config(store.bucket)  # raises on a bucket without Object Lock
    assert config.mode is None, "no default retention: only checkpoints are locked"
    assert store.client.get_bucket_versioning(store.bucket).status == ENABLED
    assert store.ensure_bucket() is False, "an existing bucket is left as it is"


def test_the_store_keeps_its_lock_probe(archive):
    """Measured once per store (no module-level map keyed by stores); ``refresh`` measures again and keeps that."""
    store = archive.store
    first = store.lock_probe()
    assert store.lock_probe() is first and first.available
    again = store.lock_probe(refresh=True)
    assert again is not first and store.lock_probe() is again
    other = Archive.open(archive.settings.home)
    try:
        assert other.store.lock_probe() is not again, "another open archive has its own store and probe"
    finally:
        other.close()


def test_probe_on_a_fresh_bucket_measures_enforcement(archive):
    """Measured on SeaweedFS 4.48 here: a COMPLIANCE-retained version cannot be deleted (AccessDenied)."""
    probe = archive.store.probe_object_lock()
    assert probe.available, probe.detail
    assert probe.enforced, probe.detail
    assert "AccessDenied" in probe.detail
    # the probe version is still there, under retention
    versions = [v for v in archive.store.list_versions(PROBE_KEY) if v.key == PROBE_KEY]
    assert len(versions) == 1
    retention = archive.store.client.get_object_retention(
        archive.store.bucket, PROBE_KEY, version_id=versions[0].version_id
    )
    assert retention.mode == COMPLIANCE
    assert retention.retain_until_date <= datetime.now(UTC) + timedelta(minutes=2)


def probe_versions(store: ObjectStore) -> list[StoredVersion]:
    return [v for v in store.list_versions("probe/", with_delete_markers=True)]


def test_service_starts_and_status_checks_leave_one_locked_probe_version(home: Path, archive: Archive) -> None:
    """Item 13 of issue 14: every start left one more locked probe object (15 after 15 starts)."""
    for _ in range(2):
        service = start_service(home)
        assert service.stop() == 0, service.stdout()
        assert "object lock: enforced" in service.stdout()
    for _ in range(3):
        status = cli(home, "storage", "status")
        assert status.exit_code == 0 and "object lock: enforced" in status.output, status.output
    assert archive.store.probe_object_lock().enforced
    (version,) = probe_versions(archive.store)
    retention = archive.store.client.get_object_retention(archive.store.bucket, PROBE_KEY, version_id=version.version_id)
    assert retention.mode == COMPLIANCE
    assert retention.retain_until_date <= datetime.now(UTC) + PROBE_RETENTION


def test_a_probe_deletes_the_earlier_probe_versions_whose_lock_is_over(archive: Archive) -> None:
    store = archive.store
    body = b"an earlier probe\n"
    expiring = store.client.put_object(store.bucket, PROBE_KEY, io.BytesIO(body), len(body),
                                       retention=Retention(COMPLIANCE, datetime.now(UTC) + timedelta(seconds=2)))
    unlocked = store.client.put_object(store.bucket, PROBE_KEY, io.BytesIO(body), len(body))
    store.client.remove_object(store.bucket, PROBE_KEY)  # a delete marker, as a careless cleanup would leave
    time.sleep(3)
    probe = store.probe_object_lock()
    assert probe.enforced, probe.detail
    (left,) = probe_versions(store)
    assert left.version_id not in (expiring.version_id, unlocked.version_id) and not left.is_delete_marker


def test_locked_checkpoint_cannot_be_deleted_by_version_id(archive):
    probe = archive.store.probe_object_lock()
    assert probe.enforced, probe.detail
    record(archive, ALICE, "record.read", record="2026-0001-contract")
    checkpoint = write_checkpoint(archive, probe)
    assert checkpoint is not None and checkpoint.locked and checkpoint.seq == 1
    key = checkpoint_key(1)
    (version,) = [v for v in archive.store.list_versions(key) if v.key == key]
    retention = archive.store.client.get_object_retention(archive.store.bucket, key, version_id=version.version_id)
    assert retention.mode == COMPLIANCE
    expected = datetime.now(UTC) + timedelta(days=archive.settings.audit.checkpoint_retention_days)
    assert abs(retention.retain_until_date - expected) < timedelta(minutes=5)

    with pytest.raises(StorageUnavailable, match="AccessDenied"):
        archive.store.delete_version(key, version.version_id)
    assert archive.store.read_object(key, version.version_id).lock_mode == COMPLIANCE
    assert list_checkpoints(archive) == [checkpoint]
    assert verify_audit(archive, probe_lock=False).ok


def test_put_locked_get_bytes_and_list_keys(archive):
    store = archive.store
    until = datetime.now(UTC) + timedelta(minutes=3)
    first = store.put_locked("audit/x/one", b"1", until)
    second = store.put_locked("audit/x/one", b"2", None)
    store.put_locked("audit/x/two", b"two", None)
    assert first != second
    assert store.get_bytes("audit/x/one") == b"2"
    assert store.get_bytes("audit/x/one", first) == b"1"
    stored = store.read_object("audit/x/one", first)
    assert stored.lock_mode == COMPLIANCE and stored.retain_until is not None
    assert abs(stored.retain_until - until) < timedelta(seconds=2)
    assert store.read_object("audit/x/one", second).lock_mode is None
    assert store.list_keys("audit/x/") == ["audit/x/one", "audit/x/two"]
    store.client.remove_object(store.bucket, "audit/x/two")  # delete marker: not a current object any more
    assert store.list_keys("audit/x/") == ["audit/x/one"]
    with pytest.raises(MissingObject):
        store.get_bytes("audit/x/missing")


@pytest.fixture
def plain_bucket_archive(tmp_path: Path, s3_server, archive):
    """An archive on a bucket that exists already, made without Object Lock (versioning on)."""
    name = f"plain-{uuid.uuid4().hex[:16]}"
    client = archive.store.client
    client.make_bucket(name)
    client.set_bucket_versioning(name, VersioningConfig(ENABLED))
    opened = Archive.open(make_home(tmp_path / "plain-home", s3_server, bucket=name))
    yield opened
    opened.close()


def test_bucket_without_object_lock_still_gets_plain_checkpoints(plain_bucket_archive):
    archive = plain_bucket_archive
    assert archive.store.ensure_bucket() is False
    probe = archive.store.probe_object_lock()
    assert not probe.available and not probe.enforced
    assert "no Object Lock" in probe.detail
    assert archive.store.list_keys(PROBE_KEY) == [], "a refused probe leaves nothing behind"

    for _ in range(3):
        record(archive, ALICE, "record.read", record="2026-0001-contract")
    checkpoint = write_checkpoint(archive)
    assert checkpoint is not None and checkpoint.seq == 3 and not checkpoint.locked
    assert list_checkpoints(archive) == [checkpoint]
    report = verify_audit(archive)
    assert report.ok and report.checkpoints == 1
    assert report.lock is not None and not report.lock.available

    # without the lock a checkpoint version can be deleted: the bucket's owner could remove the evidence
    (version,) = [v for v in archive.store.list_versions(PREFIX)]
    archive.store.delete_version(version.key, version.version_id)
    assert list_checkpoints(archive) == []


def test_probe_of_unreachable_storage_raises_storage_unavailable():
    store = ObjectStore("127.0.0.1:9", "x", "y", "some-bucket", secure=False)
    with pytest.raises(StorageUnavailable, match="unreachable"):
        store.probe_object_lock()


def test_bucket_without_object_lock_files_unlocked_versions_and_says_so(plain_bucket_archive):
    from click.testing import CliRunner

    from cli import main
    from tests.helpers import put_bytes

    archive = plain_bucket_archive
    assert archive.locks_versions is False
    name = put_bytes(archive, b"minutes", record_type="minutes").name
    (stored,) = archive.store.list_versions(f"current/{name}")
    assert archive.store.read_object(stored.key, stored.version_id).lock_mode is None
    status = CliRunner().invoke(main, ["--home", str(archive.settings.home), "storage", "status"])
    assert status.exit_code == 0
    assert ("object lock: NOT enforced (the bucket has no Object Lock (a put with retention was refused: "
            in status.output)
    assert "the archive still refuses to dispose of a record before its retention date" in status.output
