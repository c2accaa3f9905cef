"""``verify`` and ``backup verify`` report every problem and go on: damaged, unreadable, foreign.

A byte flipped in SeaweedFS's volume file is one unreadable version, not an unreachable
storage; bytes appended after an object's footer are damage; delete markers and object
versions the archive did not write under the record keys are reported, while the
archive's own leftovers (superseded copies and old ciphertexts kept by Object Lock, a
filing in flight) are not. Every void or disposed record's number marker is checked:
missing, damaged, and versions under ``numbers/`` the archive did not write.
"""

from __future__ import annotations

import io
import json
import os
import time
from pathlib import Path

import pytest
from minio.commonconfig import CopySource

from archive.filing import _allocate, _meta, file_record, file_version
from archive.objects import write_object
from archive.service import Archive
from backup.layout import BLOBS
from backup.target_config import choose_target, open_target
from catalog.schema import Record, Version
from config.settings import Settings, load_settings
from errors import StrongroomError
from tests.conftest import cli
from tests.helpers import flip_byte_in_volume, put_bytes, raw_object
from tests.test_filing import _Failing

SEAWEEDFS_OWN_RETRIES_S = 13  # SeaweedFS retries a failing volume read for about 13 s before it answers 500


def run_ok(home: Path, *args: str) -> str:
    result = cli(home, *args)
    assert result.exit_code == 0, result.output
    return result.output


def repoint(archive: Archive, name: str, version: int, data: bytes) -> None:
    """Store ``data`` as a new version of the object and point the catalog at it, keeping the catalog's size."""
    with archive.catalog.write() as session:
        row = session.query(Version).join(Record).filter(Record.name == name, Version.version == version).one()
        result = archive.store.client.put_object(archive.store.bucket, row.object_key, io.BytesIO(data), len(data))
        row.s3_version_id = result.version_id


def summary(checked: int, ok: int, *, markers: int = 0, damaged: int = 0, unreadable: int = 0, missing: int = 0,
            foreign: int = 0) -> str:
    """verify's last line."""
    return (f"checked {checked} version{'' if checked == 1 else 's'} and {markers} number "
            f"marker{'' if markers == 1 else 's'}: ok {ok}, damaged {damaged}, unreadable {unreadable}, "
            f"missing {missing}, foreign {foreign}")


# --- item 5: a damaged volume needle ----------------------------------------------------------


def test_a_flipped_byte_in_the_volume_is_one_unreadable_version_and_verify_goes_on(
    home: Path, s3_server: Settings
) -> None:
    archive = Archive.open(home)
    try:
        names = [put_bytes(archive, os.urandom(20_000)).name for _ in range(3)]
        _, stored = raw_object(archive, names[1], 1)
        bucket = archive.store.bucket
    finally:
        archive.close()
    run_ok(home, "backup", "run")
    flip_byte_in_volume(s3_server, bucket, stored)

    started = time.monotonic()
    result = cli(home, "verify")
    elapsed = time.monotonic() - started
    assert result.exit_code == 1
    assert f"{names[1]} v1 is unreadable: the storage cannot deliver current/{names[1]} version" in result.output
    assert "InternalError" in result.output
    assert "unreachable" not in result.output
    assert summary(3, 2, unreadable=1) in result.output
    assert elapsed < 2.5 * SEAWEEDFS_OWN_RETRIES_S, f"{elapsed:.0f} s: a 500 is not retried on top of SeaweedFS's own retries"
    report = json.loads(cli(home, "verify", names[2], "--json").output)
    assert (report["checked"], report["ok"], report["unreadable"]) == (1, 1, 0)

    damaged = cli(home, "get", names[1], "-o", "-")
    assert damaged.exit_code == 1 and f"error: {names[1]} v1 is unreadable" in damaged.output
    assert "Traceback" not in damaged.output
    assert cli(home, "get", names[2], "-o", "-").exit_code == 0

    # The documented way out: bring the version back from a backup. The damaged original is
    # under Object Lock and stays, recorded in the audit trail as replaced, so verify is clean.
    restored = run_ok(home, "backup", "restore", "latest", "--record", names[1])
    assert f"{names[1]} v1: restored" in restored
    clean = summary(3, 3)
    assert clean in run_ok(home, "verify")


def test_a_damaged_chunk_inside_a_large_object_cuts_the_stream_and_is_unreadable_too(
    home: Path, s3_server: Settings
) -> None:
    """SeaweedFS keeps a 10 MiB object as several needles: the body streams, then breaks off at the damaged one."""
    archive = Archive.open(home)
    try:
        large = put_bytes(archive, os.urandom(10 * 1024 * 1024)).name
        small = put_bytes(archive, b"a small record").name
        _, stored = raw_object(archive, large, 1)
        bucket = archive.store.bucket
    finally:
        archive.close()
    middle = len(stored) // 2
    flip_byte_in_volume(s3_server, bucket, stored[middle - 500: middle + 500])
    result = cli(home, "verify")
    assert result.exit_code == 1
    assert f"{large} v1 is unreadable: the storage cannot deliver current/{large} version" in result.output
    assert "the connection broke while it was read" in result.output
    assert small not in result.output
    assert summary(2, 1, unreadable=1) in result.output


def test_backup_verify_reports_an_unreadable_blob_of_an_s3_target_and_goes_on(
    home: Path, s3_server: Settings
) -> None:
    target_bucket = f"bk-{os.urandom(8).hex()}"
    archive = Archive.open(home)
    try:
        first = put_bytes(archive, os.urandom(30_000)).name
        file_version(archive, first, io.BytesIO(os.urandom(30_000)), actor="tester")
    finally:
        archive.close()
    run_ok(home, "backup", "target", "add", "offsite", f"{s3_server.storage.endpoint}/{target_bucket}")
    run_ok(home, "backup", "run", "--target", "offsite")
    settings = load_settings(home)
    target = open_target(settings, choose_target(settings, "offsite"))
    victim, _ = min(target.list(BLOBS).items(), key=lambda item: abs(item[1] - 30_000))  # a record version
    flip_byte_in_volume(s3_server, target_bucket, target.read(victim))

    result = cli(home, "backup", "verify", "--target", "offsite", "--read-data")
    assert result.exit_code == 1
    assert f"{first} v" in result.output
    assert f"is unreadable: backup target {target.location} cannot deliver {victim}: InternalError" in result.output
    assert "unreachable" not in result.output
    assert "checked 3 blobs: ok 2, damaged 0, unreadable 1 (of 1 snapshot(s); read back 3" in result.output
    report = json.loads(cli(home, "backup", "verify", "--target", "offsite", "--read-data", "--json").output)
    assert (report["ok"], report["blobs_ok"], report["damaged"], report["unreadable"]) == (False, 2, 0, 1)
    assert [p["kind"] for p in report["problems"]] == ["unreadable"]


def test_backup_verify_of_a_directory_target_counts_damaged_blobs(home: Path) -> None:
    archive = Archive.open(home)
    try:
        put_bytes(archive, b"one record")
        put_bytes(archive, b"another record")
    finally:
        archive.close()
    run_ok(home, "backup", "run")
    settings = load_settings(home)
    target = open_target(settings, choose_target(settings, None))
    blob, _ = min(target.list(BLOBS).items(), key=lambda item: item[1])
    path = Path(str(target.location)) / blob
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    result = cli(home, "backup", "verify", "--read-data")
    assert result.exit_code == 1 and "is corrupt" in result.output
    assert "checked 3 blobs: ok 2, damaged 1, unreadable 0" in result.output


def test_an_unreachable_storage_stops_verify(home: Path) -> None:
    archive = Archive.open(home)
    try:
        put_bytes(archive, b"a record")
    finally:
        archive.close()
    config = home / "strongroom.toml"
    endpoint = load_settings(home).storage.endpoint
    config.write_text(config.read_text().replace(endpoint, "http://127.0.0.1:9"))
    result = cli(home, "verify")
    assert result.exit_code == 1
    assert "error: S3 storage unreachable" in result.output
    assert "checked" not in result.output


# --- item 6: delete markers and foreign versions ----------------------------------------------


def test_verify_reports_delete_markers_and_foreign_versions_not_the_archives_own_leftovers(home: Path) -> None:
    archive = Archive.open(home)
    try:
        first = put_bytes(archive, b"lease, first version " * 50).name
        file_version(archive, first, io.BytesIO(b"lease, signed " * 50), actor="tester")
        second = put_bytes(archive, b"minutes of the board " * 50, record_type="minutes").name
    finally:
        archive.close()
    run_ok(home, "keys", "rotate")  # the old ciphertexts are under Object Lock and stay ...
    run_ok(home, "keys", "retire")  # ... while their key leaves the keyring
    archive = Archive.open(home)
    try:
        record, version = _allocate(archive, "contract", 2026, "in flight", "tester", None, None)
        write_object(archive, version.object_key, io.BytesIO(b"a filing still running"),
                     bytes.fromhex(version.nonce), _meta(record, version))
        store = archive.store
        listed = store.list_versions("current/") + store.list_versions("archive/")
        assert len(listed) == 3 + 1 + 3 + 1, "pinned, the superseded copy, the rotated ciphertexts, one in flight"
        clean = cli(home, "verify")
        assert clean.exit_code == 0, clean.output
        assert summary(3, 3) in clean.output

        client, bucket = store.client, store.bucket
        client.remove_object(bucket, f"current/{second}")  # a delete without a version id
        client.put_object(bucket, f"current/{first}", io.BytesIO(b"forged"), 6)
        client.copy_object(bucket, f"archive/{first}/v000001", CopySource(bucket, f"current/{second}",
                           version_id=raw_object(archive, second, 1)[0].s3_version_id))
        client.put_object(bucket, "current/notes.txt", io.BytesIO(b"x"), 1)
        client.put_object(bucket, "current/2026-0099-contract", io.BytesIO(b"y"), 1)
    finally:
        archive.close()

    assert cli(home, "get", second, "-o", "-").exit_code == 0, "reads ask for the pinned version, marker or not"
    result = cli(home, "verify")
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert any(line.startswith("delete marker ") and f" at current/{second}: " in line
               and "deleted with the S3 credentials" in line for line in lines), result.output
    assert any(f"at current/{first}: it is not an object of this archive" in line for line in lines)
    assert any(f"at archive/{first}/v000001: it holds the object of {second}" in line for line in lines)
    assert any("at current/notes.txt: the archive never writes this key" in line for line in lines)
    assert any("at current/2026-0099-contract: the catalog has no record 2026-0099-contract" in line for line in lines)
    assert lines[-1] == summary(3, 3, foreign=5)
    report = json.loads(cli(home, "verify", "--json").output)
    assert sorted(f["kind"] for f in report["foreign_versions"]) == ["delete-marker"] + ["foreign"] * 4
    one = cli(home, "verify", second)
    assert one.exit_code == 1
    assert one.output.splitlines()[-1] == summary(1, 1, foreign=1)


# --- item 7: bytes after the footer -----------------------------------------------------------


def test_bytes_appended_after_the_footer_are_damage(home: Path, archive: Archive) -> None:
    small = put_bytes(archive, b"a short record " * 50).name
    large = put_bytes(archive, os.urandom(5 * 1024 * 1024)).name  # read by ranges, not in one request
    for name in (small, large):
        _, stored = raw_object(archive, name, 1)
        repoint(archive, name, 1, stored + b"\0")
    for name in (small, large):
        result = cli(home, "get", name, "-o", "-")
        assert result.exit_code == 1
        assert f"error: integrity error in {name} v1: the stored object is " in result.output
        assert "1 more than written (bytes were added after its end)" in result.output
    result = cli(home, "verify")
    assert result.exit_code == 1
    assert summary(2, 0, damaged=2) in result.output


# --- number markers ---------------------------------------------------------------------------


def _failed_filing(archive: Archive) -> str:
    """A letter whose upload fails: a void number, with its marker written."""
    with pytest.raises(StrongroomError, match="unreadable source"):
        file_record(archive, _Failing(), record_type="letter", year=2026, actor="tester")  # type: ignore[arg-type]
    with archive.catalog.read() as session:
        return str(session.query(Record.name).filter(Record.state == "void").order_by(Record.id.desc()).first()[0])


def test_verify_checks_the_number_marker_of_every_void_and_disposed_record(home: Path) -> None:
    archive = Archive.open(home)
    archive.settings.retention.object_lock = False  # so a marker can be deleted, as with an S3 server without it
    try:
        kept, lost, spoilt = (_failed_filing(archive) for _ in range(3))
        active = put_bytes(archive, b"a letter that was filed", record_type="letter").name
        store = archive.store
        client, bucket = store.client, store.bucket
        [lost_marker] = store.list_versions(f"numbers/{lost}")
        store.delete_version(lost_marker.key, lost_marker.version_id)  # as if its write had failed
        [spoilt_marker] = store.list_versions(f"numbers/{spoilt}")
        store.delete_version(spoilt_marker.key, spoilt_marker.version_id)
        garbage = client.put_object(bucket, f"numbers/{spoilt}", io.BytesIO(b"SRMOBJ01 damaged"), 16).version_id
        assert cli(home, "verify").output.splitlines()[-1] == summary(1, 2, markers=3, damaged=1, missing=1)

        forged = client.put_object(bucket, f"numbers/{kept}", io.BytesIO(b"forged"), 6).version_id
        client.remove_object(bucket, f"numbers/{kept}")  # a delete marker: a later rebuild must not lose the name
        client.put_object(bucket, f"numbers/{active}", io.BytesIO(b"x"), 1)
        client.put_object(bucket, "numbers/2026-0099-letter", io.BytesIO(b"y"), 1)
    finally:
        archive.close()

    result = cli(home, "verify")
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert f"number marker of {lost} (void) is missing: run 'strongroom repair' (without it a catalog rebuild " \
           f"could issue {lost} again)" in lines
    assert any(line.startswith(f"number marker of {spoilt} is damaged: version {garbage}: it does not authenticate")
               and line.endswith("run 'strongroom repair' to write it again") for line in lines), result.output
    assert any(line.startswith("delete marker ") and f" at numbers/{kept}: " in line
               and "the marker's versions beneath it still keep the number" in line for line in lines), result.output
    assert any(f"foreign version {forged} at numbers/{kept}: it does not authenticate" in line
               and "a catalog rebuild ignores it" in line for line in lines), result.output
    assert any(f"at numbers/{active}: {active} is active: the archive writes a number marker only for a void or "
               "disposed record" in line for line in lines), result.output
    assert any("at numbers/2026-0099-letter: the catalog has no record 2026-0099-letter" in line for line in lines)
    assert kept not in "".join(line for line in lines if "number marker of" in line), "its marker is authentic"
    assert lines[-1] == summary(1, 2, markers=3, damaged=1, missing=1, foreign=4)
    report = json.loads(cli(home, "verify", "--json").output)
    assert (report["checked"], report["markers"], report["ok"], report["missing"], report["foreign"]) == (1, 3, 2, 1, 4)
    assert sorted((p["name"], p["version"], p["kind"]) for p in report["problems"]) == [
        (lost, None, "missing"), (spoilt, None, "damaged")]
    one = cli(home, "verify", lost)
    assert one.exit_code == 1 and one.output.splitlines()[-1] == summary(0, 0, markers=1, missing=1)
    assert cli(home, "verify", active).output.splitlines()[-1] == summary(1, 1, foreign=1)

    repaired = run_ok(home, "repair")
    assert "2 number marker(s) written" in repaired
    result = cli(home, "verify")
    assert result.exit_code == 1, "the foreign versions stay, for investigation"
    assert "number marker of" not in result.output
    assert f"foreign version {garbage} at numbers/{spoilt}: it does not authenticate" in result.output, \
        "once the record has its marker again, the damaged version is just not the archive's"
    assert result.output.splitlines()[-1] == summary(1, 4, markers=3, foreign=5)
