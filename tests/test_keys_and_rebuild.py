"""Key rotation (with resume) and retirement; rebuilding the catalog from the bucket alone."""

from __future__ import annotations

import io
import json
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path

import pytest

from archive.filing import _allocate, file_record, file_version
from archive.numbers import find_marker
from archive.reading import read_version, stored_versions
from archive.rebuild import rebuild
from archive.repair import repair
from archive.rotation import retire, rotate
from archive.service import Archive
from catalog.schema import Record, Version
from config.settings import Settings
from encryption.envelope import HEADER, parse_header
from errors import StrongroomError
from storage.s3 import StoredObject
from tests.conftest import cli, cli_process
from tests.helpers import all_object_bytes, flip_byte_in_volume, put_bytes, raw_object, replace_stored_bytes
from tests.service_helpers import start_with_users
from tests.test_filing import _Failing


def _contents(archive: Archive) -> dict[tuple[str, int], bytes]:
    return {(r.name, r.version): b"".join(read_version(archive, r)) for r in stored_versions(archive)}


def _filed_archive(archive: Archive) -> None:
    name = put_bytes(archive, b"contract one", title="One").name
    file_version(archive, name, io.BytesIO(b"contract one, amended"), actor="tester", comment="amended")
    put_bytes(archive, b"minutes " * 3000, record_type="minutes")
    put_bytes(archive, b"third")


def test_rotation_reencrypts_everything_and_retire_drops_old_key(archive):
    archive.settings.retention.object_lock = False  # locked old ciphertexts stay: test_rotation_under_object_lock
    _filed_archive(archive)
    before = _contents(archive)
    old_key = archive.keyring.primary.id
    report = rotate(archive)
    assert report.added and report.reencrypted == len(before) == 4
    new_key = archive.keyring.primary.id
    assert new_key != old_key
    assert _contents(archive) == before
    headers = {key: parse_header(data).key_id for key, data, _ in all_object_bytes(archive)}
    assert set(headers.values()) == {new_key}, "no object in the bucket is left under the old key"
    assert [entry.id for entry in retire(archive)] == [old_key]
    assert [entry.id for entry in archive.keyring.entries] == [new_key]
    reopened = Archive.open(archive.settings.home)
    assert _contents(reopened) == before
    reopened.close()


def test_interrupted_rotation_resumes_without_adding_a_key(archive):
    _filed_archive(archive)
    before = _contents(archive)

    class Stop(Exception):
        pass

    def stop_after_first(_ref: object) -> None:
        raise Stop

    with pytest.raises(Stop):
        rotate(archive, on_progress=stop_after_first)
    assert len(archive.keyring.entries) == 2
    resumed = rotate(archive)
    assert not resumed.added and resumed.reencrypted == 3
    assert len(archive.keyring.entries) == 2
    assert _contents(archive) == before


def test_retire_keeps_keys_still_in_use(archive):
    put_bytes(archive, b"doc")
    archive.keyring.add_key()
    assert retire(archive) == []
    assert len(archive.keyring.entries) == 2


def test_rotation_under_object_lock_keeps_old_ciphertexts_until_their_date(archive):
    _filed_archive(archive)
    before = _contents(archive)
    old_key = archive.keyring.primary.id
    assert rotate(archive).reencrypted == 4
    new_key = archive.keyring.primary.id
    assert _contents(archive) == before
    with archive.catalog.read() as session:
        rows = session.query(Version).all()
        pinned = {(v.object_key, v.s3_version_id): v.locked_until for v in rows}
    assert {v.key_id for v in rows} == {new_key}
    headers = {(key, {k.lower(): v for k, v in meta.items()}["x-amz-version-id"]): parse_header(data).key_id
               for key, data, meta in all_object_bytes(archive)}
    assert all(headers[pin] == new_key for pin in pinned)
    stale = [pin for pin, key_id in headers.items() if key_id == old_key]
    assert stale, "the old ciphertexts are still under Object Lock"
    for key, vid in pinned:
        stored = archive.store.read_object(key, vid)
        assert stored.lock_mode == "COMPLIANCE" and stored.retain_until is not None
    assert [entry.id for entry in retire(archive)] == [old_key]  # the leftovers are unreadable from now on


def test_cli_keys_never_print_key_material(home: Path):
    cli(home, "put", "-", "--type", "letter", input=b"hello")
    archive = Archive.open(home)
    secrets = [entry.key.decode() for entry in archive.keyring.entries]
    archive.close()
    outputs = [cli(home, "keys", "list").output, cli(home, "keys", "rotate").output, cli(home, "keys", "list", "--json").output]
    for output in outputs:
        for secret in secrets:
            assert secret not in output
    listed = json.loads(outputs[2])
    assert [row["primary"] for row in listed] == [True, False] and listed[0]["versions"] == 1


def test_catalog_rebuild_restores_records_versions_and_gaps(home: Path):
    archive = Archive.open(home)
    _filed_archive(archive)
    with pytest.raises(StrongroomError):
        file_record(archive, _Failing(), record_type="contract", year=2026, actor="tester")  # type: ignore[arg-type]
    put_bytes(archive, b"after the void")
    ends = file_record(archive, io.BytesIO(b"ends 2030"), record_type="contract", year=2026, actor="tester",
                       retain_from=date(2030, 6, 30)).name
    before_ls = json.loads(cli(home, "ls", "--all", "--json").output)
    before = _contents(archive)
    archive.close()
    for path in home.glob("catalog.sqlite3*"):
        path.unlink()

    fresh = Archive.open(home)
    report = rebuild(fresh)
    assert (report.records, report.versions, report.voids, report.skipped) == (5, 6, 1, [])
    assert _contents(fresh) == before
    after_ls = json.loads(cli(home, "ls", "--all", "--json").output)
    keep = ("name", "state", "title", "current_version", "versions", "size", "created_by", "created_at")
    assert [{k: r[k] for k in keep} for r in after_ls if r["state"] == "active"] == [
        {k: r[k] for k in keep} for r in before_ls if r["state"] == "active"
    ]
    assert [r["name"] for r in after_ls if r["state"] == "void"] == ["2026-0003-contract"]
    versions = json.loads(cli(home, "versions", "2026-0001-contract", "--json").output)
    assert [(v["state"], v["comment"]) for v in versions] == [("archived", None), ("current", "amended")]
    assert json.loads(cli(home, "retention", "show", ends, "--json").output)["retain_until"] == "2040-06-30"
    assert put_bytes(fresh, b"next").name == "2026-0006-contract"
    fresh.close()


def test_rebuild_refuses_a_full_catalog_unless_replace(home: Path):
    cli(home, "put", "-", "--type", "letter", input=b"x")
    refused = cli(home, "catalog", "rebuild")
    assert refused.exit_code == 1 and "--replace" in refused.output
    replaced = cli(home, "catalog", "rebuild", "--replace", "--json")
    assert replaced.exit_code == 0, replaced.output
    data = json.loads(replaced.output)
    assert data["records"] == 1 and Path(data["previous_catalog"]).exists()
    assert cli(home, "get", "2026-0001-letter", "-o", "-").stdout_bytes == b"x"


def test_keys_rotated_and_retired_by_another_process_while_the_service_runs(home: Path):
    """The running service follows the keyring file: it reads what rotation re-encrypted and files under the new key."""
    service = start_with_users(home, {"sam": ("staff", "st4ff-rotation-pw")})
    try:
        with service.client("sam") as http:
            def file(data: bytes) -> str:
                response = http.post("/records", params={"type": "letter"}, content=data,
                                     headers={"Content-Type": "application/octet-stream"})
                assert response.status_code == 201, response.text
                return str(response.json()["name"])

            def read(name: str, version: int | None = None) -> bytes:
                response = http.get(f"/records/{name}/content", params={"version": version} if version else {})
                assert response.status_code == 200, response.text
                return response.content

            first = file(b"filed before the rotation")
            amended = file(b"version one")
            response = http.post(f"/records/{amended}/versions", content=b"version two",
                                 headers={"Content-Type": "application/octet-stream"})
            assert response.status_code == 201, response.text
            assert read(first) == b"filed before the rotation"  # the service has read the keyring by now
            old_key = json.loads(cli_process(home, "keys", "list", "--json").stdout)[0]["id"]

            rotated = cli_process(home, "keys", "rotate", "--json")
            assert rotated.returncode == 0, rotated.stderr
            new_key = json.loads(rotated.stdout)["key_id"]
            assert new_key != old_key

            with ThreadPoolExecutor(4) as pool:
                reads = [pool.submit(read, first), pool.submit(read, amended, 1), pool.submit(read, amended)]
                filing = pool.submit(file, b"filed after the rotation")
                assert [r.result() for r in reads] == [b"filed before the rotation", b"version one", b"version two"]
                new = filing.result()
            assert read(new) == b"filed after the rotation"
            listed = json.loads(cli_process(home, "keys", "list", "--json").stdout)
            assert [(k["id"], k["primary"], k["versions"]) for k in listed] == [(new_key, True, 4), (old_key, False, 0)]
            archive = Archive.open(home)
            try:
                with archive.catalog.read() as session:
                    row = session.query(Version).join(Record).filter(Record.name == new).one()
                    key, s3_id = row.object_key, row.s3_version_id
                assert parse_header(archive.store.read_range(key, s3_id, 0, HEADER.size)).key_id == new_key
            finally:
                archive.close()

            retired = cli_process(home, "keys", "retire", "--json")
            assert retired.returncode == 0 and json.loads(retired.stdout) == [old_key], retired.stderr
            assert read(first) == b"filed before the rotation"
            assert read(file(b"filed after the retirement")) == b"filed after the retirement"
    finally:
        assert service.stop() == 0, service.stdout()
    assert "the keyring has no key" not in service.stdout()


def _put_raw(archive: Archive, key: str, data: bytes) -> str:
    """Store bytes under a key with the S3 credentials, as someone bypassing Strongroom would."""
    return archive.store.client.put_object(archive.store.bucket, key, io.BytesIO(data), len(data)).version_id


def _pinned(archive: Archive) -> dict[tuple[str, int], tuple[str, str]]:
    with archive.catalog.read() as session:
        return {(v.record.name, v.version): (v.object_key, v.s3_version_id) for v in session.query(Version).all()}


def _drop_catalog(home: Path) -> None:
    for path in home.glob("catalog.sqlite3*"):
        path.unlink()


def test_rebuild_uses_only_versions_that_authenticate_and_name_themselves(home: Path):
    archive = Archive.open(home)
    contract = put_bytes(archive, b"the genuine contract, version one", title="Genuine").name
    file_version(archive, contract, io.BytesIO(b"the genuine contract, version two"), actor="tester")
    other = put_bytes(archive, b"another record entirely", title="Other").name
    before, pinned = _contents(archive), _pinned(archive)
    current, current_id = pinned[(contract, 2)]
    genuine = archive.store.get_bytes(current, current_id)
    tampered = bytearray(genuine)
    tampered[HEADER.size + 40] ^= 1  # inside the first data frame: the metadata frame still authenticates
    other_key, other_id = pinned[(other, 1)]
    tampered_id = _put_raw(archive, current, bytes(tampered))
    copied_id = archive.store.copy(other_key, other_id, current)  # authentic, but another record's
    forgeries = {
        (current, tampered_id),
        (current, copied_id),
        (f"archive/{contract}/v000001", _put_raw(archive, f"archive/{contract}/v000001", b"SRMOBJ01 garbage")),
        ("current/2026-9-contract", _put_raw(archive, "current/2026-9-contract", b"not even a name")),
    }
    archive.close()
    _drop_catalog(home)

    result = cli(home, "catalog", "rebuild", "--json")
    assert result.exit_code == 0, result.output
    rebuilt = Archive.open(home)
    assert _pinned(rebuilt) == pinned, "each version is tied to its genuine object, not the newest one"
    assert _contents(rebuilt) == before
    rebuilt.close()
    report = json.loads(result.stdout)
    assert {(f["key"], f["version_id"]) for f in report["forged"]} == forgeries
    assert (report["records"], report["versions"], report["skipped"]) == (2, 3, [])
    reasons = {f["version_id"]: f["reason"] for f in report["forged"]}
    assert reasons[tampered_id].startswith("does not authenticate: frame 0 failed authentication")
    assert reasons[copied_id] == f"authentic, but its sealed metadata names {other} (copied from elsewhere)"

    again = cli(home, "catalog", "rebuild", "--replace")
    assert again.exit_code == 0, again.output
    lines = [line for line in again.stderr.splitlines() if line.startswith("forged ")]
    assert sorted(lines) == sorted(f"forged {key} ({vid}): {reasons[vid]}" for key, vid in forgeries)
    assert "4 forged or foreign version(s) ignored" in again.stdout


def _markers(archive: Archive) -> dict[str, list[StoredObject]]:
    found: dict[str, list[StoredObject]] = {}
    for item in archive.store.list_versions("numbers/"):
        found.setdefault(item.key, []).append(archive.store.read_object(item.key, item.version_id))
    return found


def test_void_and_disposed_numbers_after_the_last_stored_one_are_never_issued_again(home: Path):
    archive = Archive.open(home)
    put_bytes(archive, b"contract one")
    with pytest.raises(StrongroomError, match="unreadable source"):
        file_record(archive, _Failing(), record_type="contract", year=2026, actor="tester")  # type: ignore[arg-type]
    old = put_bytes(archive, b"an old contract", retain_from=date(2001, 3, 31)).name
    put_bytes(archive, b"letter one", record_type="letter")
    put_bytes(archive, b"letter two", record_type="letter")
    _allocate(archive, "letter", 2026, "never uploaded", "tester", None, None)  # a filing whose process died
    assert [(a.name, a.action) for a in repair(archive, force=True)] == [("2026-0003-letter", "voided")]
    archive.close()
    for user, role in [("mark", "manager"), ("dora", "director")]:
        assert cli(home, "user", "add", user, "--role", role, "--password", "a-long-secret-pw").exit_code == 0
    asked = cli(home, "retention", "dispose", old, "--reason", "retention ended", "--as", "mark", "--json")
    assert asked.exit_code == 0, asked.output
    approved = cli(home, "retention", "approve", str(json.loads(asked.output)["id"]), "--as", "dora")
    assert approved.exit_code == 0, approved.output

    archive = Archive.open(home)
    markers = _markers(archive)
    assert sorted(markers) == ["numbers/2026-0002-contract", f"numbers/{old}", "numbers/2026-0003-letter"]
    for key, [stored] in markers.items():
        assert parse_header(stored.data).key_id == archive.keyring.primary.id
        assert b"unreadable" not in stored.data and b"died" not in stored.data and b"disposal" not in stored.data
    assert markers["numbers/2026-0002-contract"][0].lock_mode == "COMPLIANCE", "write-once like the record would be"
    assert markers[f"numbers/{old}"][0].lock_mode is None, "its retention is over"
    archive.close()
    _drop_catalog(home)

    result = cli(home, "catalog", "rebuild", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert (report["records"], report["voids"], report["disposed"], report["forged"]) == (3, 2, 1, [])
    listed = {r["name"]: r for r in json.loads(cli(home, "ls", "--all", "--json").output)}
    assert listed["2026-0002-contract"]["state"] == "void"
    assert "unreadable source" in listed["2026-0002-contract"]["void_reason"]
    assert listed[old]["state"] == "disposed"
    assert listed["2026-0003-letter"]["state"] == "void" and "died" in listed["2026-0003-letter"]["void_reason"]
    fresh = Archive.open(home)
    assert put_bytes(fresh, b"next contract").name == "2026-0004-contract"
    assert put_bytes(fresh, b"next letter", record_type="letter").name == "2026-0004-letter"
    fresh.close()


def test_repair_writes_the_markers_that_are_missing(home: Path):
    archive = Archive.open(home)
    archive.settings.retention.object_lock = False  # so the marker can be removed, as if it had never been written
    with pytest.raises(StrongroomError):
        file_record(archive, _Failing(), record_type="letter", year=2026, actor="tester")  # type: ignore[arg-type]
    put_bytes(archive, b"kept", record_type="letter")
    [marker] = archive.store.list_versions("numbers/")
    archive.store.delete_version(marker.key, marker.version_id)
    _put_raw(archive, marker.key, b"not a marker")  # a forged marker does not count
    archive.close()

    repaired = cli(home, "repair", "--json")
    assert repaired.exit_code == 0, repaired.output
    assert json.loads(repaired.stdout) == [{"name": "2026-0001-letter", "version": None, "action": "marked",
                                            "detail": "number marker written (void)"}]
    assert cli(home, "repair").output.strip() == "repair: 0 pending filing(s) examined, 0 number marker(s) written"
    _drop_catalog(home)
    report = json.loads(cli(home, "catalog", "rebuild", "--json").stdout)
    assert report["voids"] == 1 and [f["key"] for f in report["forged"]] == ["numbers/2026-0001-letter"]
    fresh = Archive.open(home)
    assert put_bytes(fresh, b"next", record_type="letter").name == "2026-0003-letter"
    fresh.close()


def test_rotation_reencrypts_number_markers_and_retire_keeps_a_key_that_still_seals_one(home: Path):
    archive = Archive.open(home)
    with pytest.raises(StrongroomError):
        file_record(archive, _Failing(), record_type="letter", year=2026, actor="tester")  # type: ignore[arg-type]
    put_bytes(archive, b"kept", record_type="letter")
    old_key = archive.keyring.primary.id
    new_key = archive.keyring.add_key().id  # a key added, nothing re-encrypted yet
    assert retire(archive) == [], "the void number's marker is sealed with the old key"
    rows = json.loads(cli(home, "keys", "list", "--json").output)
    listed = [(row["id"], row["versions"], row["markers"]) for row in rows]
    assert listed == [(new_key, 0, 0), (old_key, 1, 1)], "keys list says why the old key stays"
    assert cli(home, "keys", "list").output.splitlines()[1].endswith("1 version(s)     1 marker(s)")
    report = rotate(archive)
    assert (report.added, report.reencrypted, report.markers) == (False, 1, 1)
    marker = find_marker(archive, "2026-0001-letter")
    assert marker is not None and marker.key_id == new_key and marker.reason.startswith("upload failed")
    assert [entry.id for entry in retire(archive)] == [old_key]
    archive.close()
    _drop_catalog(home)

    report = json.loads(cli(home, "catalog", "rebuild", "--json").stdout)
    assert (report["records"], report["voids"], report["forged"]) == (1, 1, [])
    assert all("has no key " + old_key in item["reason"] for item in report["skipped"])  # the locked old ciphertexts
    fresh = Archive.open(home)
    assert put_bytes(fresh, b"next", record_type="letter").name == "2026-0003-letter"
    fresh.close()


def test_rebuild_reports_unreadable_versions_goes_on_and_keeps_every_number(home: Path, s3_server: Settings):
    archive = Archive.open(home)
    archive.settings.retention.object_lock = False  # superseded copies and old ciphertexts go: one copy per version
    try:
        amended = put_bytes(archive, b"a contract, first version " * 40).name
        file_version(archive, amended, io.BytesIO(b"a contract, signed " * 40), actor="tester")
        intact = put_bytes(archive, b"an intact contract " * 40).name
        last = put_bytes(archive, b"the last contract filed " * 40, title="Last").name
        rotate(archive)  # fresh ciphertexts: each version's bytes are in the volume once
        _, first_version = raw_object(archive, amended, 1)
        _, only_version = raw_object(archive, last, 1)
        bucket = archive.store.bucket
    finally:
        archive.close()
    flip_byte_in_volume(s3_server, bucket, first_version)
    flip_byte_in_volume(s3_server, bucket, only_version)
    _drop_catalog(home)

    result = cli(home, "catalog", "rebuild")
    assert result.exit_code == 1, result.output
    errors = result.stderr.splitlines()
    assert any(line.startswith(f"unreadable archive/{amended}/v000001 (") and "InternalError" in line
               for line in errors), result.stderr
    assert any(line.startswith(f"unreadable current/{last} (") for line in errors), result.stderr
    assert any(line.startswith(f"incomplete {amended}: rebuilt without version 1: its only copy, "
                               f"archive/{amended}/v000001 (") for line in errors), result.stderr
    assert any(line.startswith(f"incomplete {last}: rebuilt as void: none of its objects could be read "
                               f"(current/{last} (") and line.endswith("its number stays taken")
               for line in errors), result.stderr
    assert result.stdout.strip().endswith("0 forged or foreign version(s) ignored, 0 skipped, 2 unreadable")
    listed = {r["name"]: r for r in json.loads(cli(home, "ls", "--all", "--json").output)}
    assert [listed[amended][field] for field in ("state", "current_version", "versions")] == ["active", 2, 1]
    assert listed[intact]["state"] == "active"
    assert listed[last]["state"] == "void"
    assert listed[last]["void_reason"].startswith(f"catalog rebuild could not read any object of it (current/{last} (")
    assert cli(home, "get", amended, "-o", "-").output.startswith("a contract, signed")

    assert "0 number marker(s) written" in cli(home, "repair").output, "its object keeps the number: no void marker"
    kept = cli(home, "verify", last)
    assert kept.exit_code == 1 and f"{last} is void: catalog rebuild could not read any object of it" in kept.output
    assert kept.output.splitlines()[-1].startswith("checked 0 versions and 1 number marker: ok 0, damaged 0, "
                                                   "unreadable 1")
    fresh = Archive.open(home)
    try:
        assert put_bytes(fresh, b"the next contract").name == "2026-0004-contract", "the counter never goes back"
    finally:
        fresh.close()

    # Once the objects read again (a repaired volume), a rebuild brings the records back whole.
    for stored in (first_version, only_version):
        flipped = bytearray(stored)
        flipped[len(stored) // 2 + 32] ^= 0x01
        flip_byte_in_volume(s3_server, bucket, bytes(flipped))
    again = cli(home, "catalog", "rebuild", "--replace", "--json")
    assert again.exit_code == 0, again.output
    report = json.loads(again.stdout)
    assert (report["records"], report["versions"], report["unreadable"], report["incomplete"]) == (4, 5, [], [])
    listed = {r["name"]: r for r in json.loads(cli(home, "ls", "--all", "--json").output)}
    assert (listed[last]["state"], listed[last]["title"]) == ("active", "Last")
    assert listed[amended]["versions"] == 2


def test_a_damaged_or_unreadable_version_is_one_line_and_rotation_goes_on_then_resumes(
    home: Path, s3_server: Settings
):
    archive = Archive.open(home)
    try:
        damaged = put_bytes(archive, b"a contract whose object is replaced " * 40).name
        unreadable = put_bytes(archive, b"a contract on a failing disk " * 400).name
        intact = put_bytes(archive, b"an intact contract " * 40).name
        with pytest.raises(StrongroomError):
            file_record(archive, _Failing(), record_type="letter", year=2026, actor="tester")  # type: ignore[arg-type]
        _, stored = raw_object(archive, unreadable, 1)
        bucket, old_key = archive.store.bucket, archive.keyring.primary.id
    finally:
        archive.close()
    assert cli(home, "backup", "run").exit_code == 0
    archive = Archive.open(home)
    try:
        replace_stored_bytes(archive, damaged, 1, b"SRMOBJ01" + bytes(range(256)) * 4)
    finally:
        archive.close()
    flip_byte_in_volume(s3_server, bucket, stored)

    result = cli(home, "keys", "rotate")
    assert result.exit_code == 1, result.output
    assert "error: internal error" not in result.output and "Traceback" not in result.output
    lines = result.output.splitlines()
    assert any(line.startswith(f"not re-encrypted: integrity error in {damaged} v1: ") for line in lines), lines
    assert any(line.startswith(f"not re-encrypted: {unreadable} v1 is unreadable: the storage cannot deliver "
                               f"current/{unreadable} version") for line in lines), lines
    new_key = json.loads(cli(home, "keys", "list", "--json").output)[0]["id"]
    assert lines[-1] == (f"added key {new_key}; re-encrypted 1 version(s) and 1 number marker(s); 2 not re-encrypted "
                         "(they keep their old key): restore them, then run 'strongroom keys rotate' again to finish")
    listed = {row["id"]: row for row in json.loads(cli(home, "keys", "list", "--json").output)}
    assert (listed[new_key]["versions"], listed[new_key]["markers"]) == (1, 1)
    assert (listed[old_key]["versions"], listed[old_key]["markers"]) == (2, 0)
    assert f"{old_key}  " in cli(home, "keys", "list").output
    assert "1 marker(s)  primary" in cli(home, "keys", "list").output
    assert json.loads(cli(home, "keys", "retire", "--json").output) == [], "the old key still opens two versions"

    for name in (damaged, unreadable):
        assert cli(home, "backup", "restore", "latest", "--record", name).exit_code == 0
    resumed = cli(home, "keys", "rotate", "--json")
    assert resumed.exit_code == 0, resumed.output
    report = json.loads(resumed.output)
    assert (report["key_id"], report["added"], report["reencrypted"], report["failed"]) == (new_key, False, 2, [])
    assert json.loads(cli(home, "keys", "retire", "--json").output) == [old_key]
    for name in (damaged, unreadable, intact):
        assert cli(home, "get", name, "-o", "-").exit_code == 0
