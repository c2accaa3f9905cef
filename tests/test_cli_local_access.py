"""The access, audit and user commands in local mode (on the service host, without --server)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from api.server import Listen, check_transport
from archive.errors import UsageError
from tests.conftest import cli
from tests.helpers import write_file


def test_request_approve_read_and_audit_from_the_local_cli(home: Path, tmp_path: Path) -> None:
    doc = write_file(tmp_path / "deed.txt", b"title deed")
    name = cli(home, "put", str(doc), "--type", "contract", "--as", "setup").output.strip()
    for user, role in [("dora", "director"), ("sam", "staff"), ("alice", "auditor")]:
        assert cli(home, "user", "add", user, "--role", role, "--password", "a-long-secret-pw").exit_code == 0
    users = json.loads(cli(home, "user", "list", "--json").output)
    assert [(u["name"], u["role"]) for u in users] == [("alice", "auditor"), ("dora", "director"), ("sam", "staff")]

    asked = cli(home, "access", "request", name, "--reason", "due diligence", "--days", "2", "--as", "sam", "--json")
    assert asked.exit_code == 0, asked.output
    request_id = json.loads(asked.output)["id"]
    assert cli(home, "access", "pending", "--as", "sam").exit_code == 3
    assert f"#{request_id}" in cli(home, "access", "pending", "--as", "dora").output
    approved = cli(home, "access", "approve", str(request_id), "--as", "dora", "--json")
    assert approved.exit_code == 0, approved.output
    assert json.loads(approved.output)["user"] == "sam"
    assert cli(home, "get", name, "-o", "-", "--as", "sam").output == "title deed"
    mine = json.loads(cli(home, "access", "grants", "--as", "sam", "--json").output)
    assert [g["record"] for g in mine] == [name]

    as_json = json.loads(cli(home, "audit", "log", "--record", name, "--json", "--as", "alice").output)
    assert [e["action"] for e in as_json if e["actor"] == "sam"] == ["access.request", "record.read"]
    as_csv = cli(home, "audit", "log", "--user", "dora", "--csv", "--as", "alice").output
    assert as_csv.startswith("seq,at,actor,action") and "access.approve" in as_csv
    assert cli(home, "audit", "log", "--as", "sam").exit_code == 3


def test_audit_verify_exits_1_and_names_the_altered_event(home: Path) -> None:
    for user in ("ann", "bob"):
        assert cli(home, "user", "add", user, "--role", "auditor", "--password", "a-long-secret-pw").exit_code == 0
    clean = cli(home, "audit", "verify", "--as", "ann")
    assert clean.exit_code == 0 and "chain OK" in clean.output
    with sqlite3.connect(home / "catalog.sqlite3") as conn:
        conn.execute("UPDATE audit_events SET detail = '{\"user\":\"mallory\",\"role\":\"auditor\"}' WHERE seq = 2")
    broken = cli(home, "audit", "verify", "--as", "ann", "--json")
    assert broken.exit_code == 1
    assert json.loads(broken.output)["first_bad"] == 2


@pytest.mark.parametrize(("host", "insecure", "allowed"), [
    ("127.0.0.1", False, True), ("::1", False, True), ("localhost", False, True),
    ("0.0.0.0", False, False), ("10.1.2.3", False, False), ("0.0.0.0", True, True),
])
def test_plain_http_is_only_for_loopback_unless_a_proxy_terminates_tls(host: str, insecure: bool, allowed: bool) -> None:
    listen = Listen(host, 8080)
    if allowed:
        check_transport(listen, insecure)
    else:
        with pytest.raises(UsageError, match="refusing plain HTTP"):
            check_transport(listen, insecure)
