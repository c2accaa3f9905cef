"""The access, audit and user commands in local mode (on the service host, without --server)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from api.server import Listen, check_transport
from errors import UsageError
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


def test_a_new_version_of_a_contract_needs_an_amend_grant_and_the_director_sees_every_grant(
    home: Path, tmp_path: Path
) -> None:
    name = cli(home, "put", str(write_file(tmp_path / "loan.txt", b"loan v1")), "--type", "contract",
               "--as", "setup").output.strip()
    for user, role in [("dora", "director"), ("sam", "staff"), ("mia", "manager"), ("alice", "auditor")]:
        assert cli(home, "user", "add", user, "--role", role, "--password", "a-long-secret-pw").exit_code == 0
    signed = write_file(tmp_path / "signed.txt", b"loan v2, signed")
    assert cli(home, "access", "grants", "--as", "dora").output == "no active grants\n"
    assert json.loads(cli(home, "access", "grants", "--as", "dora", "--json").output) == []
    assert cli(home, "access", "mine", "--as", "sam").output == "no requests\n"
    assert json.loads(cli(home, "access", "mine", "--as", "sam", "--json").output) == []

    refused = cli(home, "put", str(signed), "--to", name, "--as", "mia")
    assert refused.exit_code == 3 and refused.output.count("\n") == 1
    assert f"mia (manager) may not version {name}: a new version needs the right to read" in refused.output

    read_id = json.loads(cli(home, "access", "request", name, "--reason", "check terms", "--as", "sam",
                             "--json").output)["id"]
    assert cli(home, "access", "approve", str(read_id), "--as", "dora").exit_code == 0
    assert cli(home, "get", name, "-o", "-", "--as", "sam").output == "loan v1"
    assert cli(home, "put", str(signed), "--to", name, "--as", "sam").exit_code == 3, "a read grant is read-only"

    bad = cli(home, "access", "request", name, "--reason", "r", "--purpose", "write", "--as", "sam")
    assert bad.exit_code == 2 and "'write' is not one of 'read', 'amend'" in bad.output
    assert cli(home, "access", "request", name, "--reason", "r", "--purpose", "amend", "--as", "alice").exit_code == 3
    asked = cli(home, "access", "request", name, "--reason", "signed copy", "--purpose", "amend", "--as", "sam")
    assert asked.exit_code == 0 and f"to amend {name} sent" in asked.output
    amend_id = int(asked.output.split("#")[1].split()[0])
    [pending] = cli(home, "access", "pending", "--as", "dora").output.splitlines()
    assert pending.startswith(f"#{amend_id}") and " amend " in pending and "(signed copy)" in pending
    assert cli(home, "access", "approve", str(amend_id), "--days", "1", "--as", "dora").exit_code == 0
    filed = cli(home, "put", str(signed), "--to", name, "--comment", "signed", "--as", "sam")
    assert filed.exit_code == 0 and filed.output.strip() == f"{name} v2"
    assert cli(home, "get", name, "-o", "-", "--as", "dora").output == "loan v2, signed"

    every = cli(home, "access", "grants", "--as", "dora").output.splitlines()
    assert len(every) == 2 and all(" sam " in line and name in line for line in every)
    assert [line.split()[4] for line in every] == ["read", "amend"]
    as_json = json.loads(cli(home, "access", "grants", "--as", "dora", "--json").output)
    assert [(g["user"], g["purpose"], g["active"]) for g in as_json] == [("sam", "read", True), ("sam", "amend", True)]
    assert len(cli(home, "access", "grants", "--as", "sam").output.splitlines()) == 2
    assert cli(home, "access", "grants", "--as", "alice").output == "no active grants\n"
    assert cli(home, "access", "grants", "--everyone", "--as", "dora").exit_code == 2
    mine = json.loads(cli(home, "access", "mine", "--as", "sam", "--json").output)
    assert [r["purpose"] for r in mine] == ["read", "amend"]

    trail = json.loads(cli(home, "audit", "log", "--record", name, "--json", "--as", "alice").output)
    versions = [(e["actor"], e["outcome"]) for e in trail if e["action"] == "record.version"]
    assert versions == [("mia", "denied"), ("sam", "denied"), ("sam", "ok")]
    asked_and_approved = [(e["actor"], e["action"], e["outcome"], e["detail"]["purpose"])
                          for e in trail if e["action"] in ("access.request", "access.approve")]
    assert asked_and_approved == [
        ("sam", "access.request", "ok", "read"), ("dora", "access.approve", "ok", "read"),
        ("alice", "access.request", "denied", "amend"),
        ("sam", "access.request", "ok", "amend"), ("dora", "access.approve", "ok", "amend"),
    ]


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
