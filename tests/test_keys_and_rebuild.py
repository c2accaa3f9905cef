"""Key rotation (with resume) and retirement; rebuilding the catalog from the bucket alone."""

from __future__ import annotations

import io
import json
from datetime import date
from pathlib import Path

import pytest

from archive.errors import StrongroomError
from archive.filing import file_record, file_version
from archive.reading import read_version, stored_versions
from archive.rebuild import rebuild
from archive.rotation import retire, rotate
from archive.service import Archive
from catalog.schema import Version
from encryption.envelope import parse_header
from tests.conftest import cli
from tests.helpers import all_object_bytes, put_bytes
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
