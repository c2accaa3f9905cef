"""The embedded SeaweedFS as Strongroom runs it, and what users see when things go wrong."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import psutil
import pytest

from config.settings import Settings, load_settings
from errors import StorageUnavailable
from storage.embedded import EmbeddedServer
from storage.s3 import ObjectStore
from tests.conftest import cli, cli_process


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_embedded_server_listens_on_loopback_only(s3_server: Settings):
    server = EmbeddedServer(s3_server)
    status = server.status()
    assert status.running and status.ready
    process = psutil.Process(status.pid)
    listening = [c for c in process.net_connections(kind="inet") if c.status == psutil.CONN_LISTEN]
    assert len(listening) >= 4
    assert {c.laddr.ip for c in listening} == {"127.0.0.1"}
    ports = {c.laddr.port for c in listening}
    assert s3_server.embedded.s3_port in ports and s3_server.embedded.master_port in ports


def test_generated_secrets_are_private(s3_server: Settings):
    home = s3_server.home
    for path in (home / "secrets" / "keyring.json", s3_server.credentials_path, home / "secrets" / "seaweedfs-s3.json"):
        assert _mode(path) == 0o600, path
    assert _mode(home / "secrets") == 0o700
    config = (home / "strongroom.toml").read_text()
    assert s3_server.credentials().secret_key not in config


def test_wrong_secret_is_refused(s3_server: Settings):
    store = ObjectStore(s3_server.endpoint_host, s3_server.credentials().access_key, "not-the-secret", "x", secure=False)
    with pytest.raises(StorageUnavailable, match="SignatureDoesNotMatch"):
        store.ping()


def test_embedded_home_starts_storage_on_demand_and_stops(tmp_path: Path):
    home = tmp_path / "embedded-home"
    assert cli_process(home, "init").returncode == 0
    again = cli_process(home, "init")
    assert again.returncode == 0 and b"kept    secrets/keyring.json" in again.stdout
    keyring_before = (home / "secrets" / "keyring.json").read_bytes()
    settings = load_settings(home)
    assert settings.storage.endpoint == f"http://127.0.0.1:{settings.embedded.s3_port}"
    try:
        filed = cli_process(home, "put", "-", "--type", "other", input=b"auto-started")
        assert filed.returncode == 0, filed.stderr
        status = json.loads(cli_process(home, "storage", "status", "--json").stdout)
        assert status["running"] and status["ready"] and status["mode"] == "embedded"
        assert status["object_lock"]["available"] is True
        assert cli_process(home, "get", "2026-0001-other", "-o", "-").stdout == b"auto-started"
        log = home / "logs" / "seaweedfs.log"
        assert log.exists() and log.stat().st_size > 0
    finally:
        stopped = cli_process(home, "storage", "stop")
    assert stopped.returncode == 0 and b"stopped" in stopped.stdout
    assert cli_process(home, "storage", "status").returncode == 1
    assert (home / "secrets" / "keyring.json").read_bytes() == keyring_before


def _one_line_error(result, code: int, fragment: str) -> None:
    assert result.exit_code == code, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert fragment in lines[0]
    assert "Traceback" not in result.output


def test_bad_input_gives_one_line_and_exit_status(home: Path, tmp_path: Path):
    _one_line_error(cli(home, "put", str(tmp_path / "missing.pdf"), "--type", "contract"), 2, "No such file or directory")
    _one_line_error(cli(home, "put", str(tmp_path), "--type", "contract"), 2, "a directory")
    doc = tmp_path / "doc.txt"
    doc.write_text("text")
    _one_line_error(cli(home, "put", str(doc)), 2, "missing --type")
    _one_line_error(cli(home, "put", str(doc), "--type", "memo"), 2, "unknown record type 'memo'")
    _one_line_error(cli(home, "put", str(doc), "--to", "2026-1-contract"), 2, "invalid record name")
    _one_line_error(cli(home, "put", str(doc), "--to", "2026-0009-contract"), 1, "no record named 2026-0009-contract")
    _one_line_error(cli(home, "get", "../../etc/passwd"), 2, "invalid record name")
    _one_line_error(cli(home, "get", "2026-0001-contract"), 1, "no record named")
    _one_line_error(cli(home, "verify", "2026-0001-contract"), 1, "no record named")
    _one_line_error(cli(home, "put", str(doc), "--type", "contract", "--year", "12"), 2, "--year")
    _one_line_error(cli(home, "frobnicate"), 2, "No such command")
    assert cli(home, "put", str(doc), "--type", "contract").exit_code == 0
    _one_line_error(cli(home, "get", "2026-0001-contract", "--version", "7"), 1, "has no version 7")
    out = tmp_path / "exists.txt"
    out.write_text("keep me")
    _one_line_error(cli(home, "get", "2026-0001-contract", "-o", str(out)), 2, "--force")
    assert out.read_text() == "keep me"
    assert json.loads(cli(home, "ls", "--all", "--json").output)[0]["name"] == "2026-0001-contract"


def test_init_refuses_bad_endpoint_and_bucket_without_writing(tmp_path: Path):
    bad_home = tmp_path / "never-created"
    keys = ("--s3-access-key", "a", "--s3-secret-key", "b")
    _one_line_error(cli(bad_home, "init", "--s3-endpoint", "ftp://x", *keys), 2, "not an http(s)://host[:port] URL")
    _one_line_error(
        cli(bad_home, "init", "--s3-endpoint", "https://s3.example", "--bucket", "Bad_Bucket", *keys), 2, "bucket name"
    )
    assert not bad_home.exists()


def test_unreachable_storage_takes_no_number(home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("STRONGROOM_STORAGE_ENDPOINT", "http://127.0.0.1:9")
    doc = tmp_path / "doc.txt"
    doc.write_text("text")
    _one_line_error(cli(home, "put", str(doc), "--type", "contract"), 1, "unreachable")
    monkeypatch.delenv("STRONGROOM_STORAGE_ENDPOINT")
    assert cli(home, "ls", "--all", "--json").output.strip() == "[]"


def test_wrong_keyring_is_a_clear_error(home: Path):
    assert cli(home, "put", "-", "--type", "letter", input=b"secret letter").exit_code == 0
    keyring = home / "secrets" / "keyring.json"
    keyring.unlink()
    from encryption.keyring import Keyring

    Keyring.create(keyring)
    _one_line_error(cli(home, "get", "2026-0001-letter", "-o", "-"), 1, "has no key")


def test_not_a_home_and_unsafe_keyring(home: Path, tmp_path: Path):
    _one_line_error(cli(tmp_path / "nowhere", "ls"), 1, "not a Strongroom home")
    os.chmod(home / "secrets" / "keyring.json", 0o644)
    _one_line_error(cli(home, "put", "-", "--type", "letter", input=b"x"), 1, "unsafe permissions")


def test_a_bare_command_group_prints_its_help_without_an_error_prefix(home: Path) -> None:
    result = cli_process(home, "access")
    assert result.returncode == 2
    assert result.stderr.startswith(b"Usage: strongroom access") and b"error:" not in result.stderr
