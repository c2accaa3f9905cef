"""Filing, versioning and reading records against the real S3 server."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import pytest

from archive.filing import file_record, file_version
from archive.reading import read_version, resolve
from catalog.schema import Record, RecordState
from errors import StrongroomError, UsageError
from naming import parse_object_key
from tests.conftest import cli
from tests.helpers import put_bytes, write_file


def test_names_run_per_year_and_type(archive):
    assert put_bytes(archive, b"a").name == "2026-0001-contract"
    assert put_bytes(archive, b"b").name == "2026-0002-contract"
    assert put_bytes(archive, b"c", record_type="minutes").name == "2026-0001-minutes"
    assert put_bytes(archive, b"d", year=2019).name == "2019-0001-contract"
    assert put_bytes(archive, b"e").name == "2026-0003-contract"


def test_get_returns_exact_bytes_of_every_version(archive):
    v1, v2, v3 = os.urandom(3000), b"", os.urandom(2_500_000)
    name = put_bytes(archive, v1, title="Lease").name
    assert file_version(archive, name, io.BytesIO(v2), actor="tester").version == 2
    assert file_version(archive, name, io.BytesIO(v3), actor="tester", comment="third").version == 3
    for number, expected in ((1, v1), (2, v2), (3, v3), (None, v3)):
        assert b"".join(read_version(archive, resolve(archive, name, number))) == expected


def test_superseded_version_moves_to_archive_area(archive):
    """Without Object Lock the superseded copy is deleted; with it, it stays locked (tests/test_retention.py)."""
    archive.settings.retention.object_lock = False
    name = put_bytes(archive, b"first").name
    file_version(archive, name, io.BytesIO(b"second"), actor="tester")
    file_version(archive, name, io.BytesIO(b"third"), actor="tester")
    with archive.catalog.read() as session:
        record = session.query(Record).filter_by(name=name).one()
        states = {v.version: (v.state, v.object_key, v.archived_at is not None) for v in record.versions}
    assert states[1] == ("archived", f"archive/{name}/v000001", True)
    assert states[2] == ("archived", f"archive/{name}/v000002", True)
    assert states[3] == ("current", f"current/{name}", False)
    listed = archive.store.list_versions("")
    current = [item for item in listed if item.key == f"current/{name}"]
    assert len(current) == 1, "the superseded copy at the current key is removed once archived"
    assert {parse_object_key(item.key).version for item in listed if item.key.startswith("archive/")} == {1, 2}


def test_unknown_type_and_bad_year_take_no_number(archive):
    with pytest.raises(UsageError, match="unknown record type 'memo'"):
        put_bytes(archive, b"x", record_type="memo")
    with pytest.raises(UsageError, match="year"):
        put_bytes(archive, b"x", year=1800)
    with archive.catalog.read() as session:
        assert session.query(Record).count() == 0


def test_failed_upload_keeps_number_as_void(archive):
    class Broken(io.RawIOBase):
        def __init__(self) -> None:
            self.calls = 0

        def read(self, size: int = -1) -> bytes:
            self.calls += 1
            if self.calls > 2:
                raise OSError("disk read error")
            return b"x" * 1024

    with pytest.raises(StrongroomError, match="cannot read the document being filed: disk read error"):
        file_record(archive, Broken(), record_type="contract", year=2026, actor="tester")  # type: ignore[arg-type]
    assert put_bytes(archive, b"next").name == "2026-0002-contract"
    with archive.catalog.read() as session:
        void = session.query(Record).filter_by(name="2026-0001-contract").one()
        assert void.state == RecordState.VOID
        assert "disk read error" in (void.void_reason or "")
        assert void.versions == []


def test_cli_put_get_versions_show_ls(home: Path, tmp_path: Path):
    source = write_file(tmp_path / "deed.pdf", b"%PDF-1.4 deed " * 1000)
    result = cli(home, "put", str(source), "--type", "contract", "--title", "租约 Lease")
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "2026-0001-contract"
    second = write_file(tmp_path / "deed2.pdf", b"%PDF-1.4 signed")
    result = cli(home, "put", str(second), "--to", "2026-0001-contract", "--comment", "signed")
    assert result.output.strip() == "2026-0001-contract v2"

    out = tmp_path / "out"
    out.mkdir()
    result = cli(home, "get", "2026-0001-contract", "--version", "1", "-o", str(out))
    assert result.exit_code == 0
    assert (out / "2026-0001-contract.v1.pdf").read_bytes() == source.read_bytes()
    result = cli(home, "get", "2026-0001-contract", "-o", "-")
    assert result.stdout_bytes == second.read_bytes()

    versions = json.loads(cli(home, "versions", "2026-0001-contract", "--json").output)
    assert [(v["version"], v["state"], v["comment"]) for v in versions] == [(1, "archived", None), (2, "current", "signed")]
    shown = json.loads(cli(home, "show", "2026-0001-contract", "--json").output)
    assert shown["title"] == "租约 Lease" and shown["current_version"] == 2 and shown["created_by"] == "tester"
    listed = json.loads(cli(home, "ls", "--type", "contract", "--json").output)
    assert [item["name"] for item in listed] == ["2026-0001-contract"]
    assert json.loads(cli(home, "ls", "--type", "minutes", "--json").output) == []
    assert "2026-0001-contract" in cli(home, "ls").output


def test_put_from_stdin_and_uploader(home: Path):
    result = cli(home, "put", "-", "--type", "minutes", "--as", "alice", "--json", input=b"minutes of the meeting")
    assert result.exit_code == 0, result.output
    filed = json.loads(result.output)
    assert filed["name"] == "2026-0001-minutes" and filed["size"] == 22
    shown = json.loads(cli(home, "show", filed["name"], "--json").output)
    assert shown["created_by"] == "alice"


def test_ls_all_shows_void_numbers(home: Path, archive):
    with pytest.raises(StrongroomError):
        file_record(archive, _Failing(), record_type="letter", year=2026, actor="tester")  # type: ignore[arg-type]
    put_bytes(archive, b"ok", record_type="letter")
    assert [r["name"] for r in json.loads(cli(home, "ls", "--json").output)] == ["2026-0002-letter"]
    everything = json.loads(cli(home, "ls", "--all", "--json").output)
    assert [(r["name"], r["state"]) for r in everything] == [("2026-0001-letter", "void"), ("2026-0002-letter", "active")]
    assert "VOID" in cli(home, "ls", "--all").output


class _Failing(io.RawIOBase):
    def read(self, size: int = -1) -> bytes:
        raise OSError("unreadable source")
