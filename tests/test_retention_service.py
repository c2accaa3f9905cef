"""Retention, holds and disposal through the real service: the CLI with --server, and the HTTP API itself."""

from __future__ import annotations

import hashlib
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from config.settings import Settings
from tests.conftest import cli_process, make_home
from tests.service_helpers import Service, start_with_users

PASSWORDS = {
    "dora": ("director", "d1rector-retain-pw"),
    "mona": ("manager", "m4nager-retain-pw"),
    "sam": ("staff", "st4ff-retain-pw"),
    "alice": ("auditor", "aud1tor-retain-pw"),
}


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory, s3_server: Settings) -> Iterator[Service]:
    home = make_home(tmp_path_factory.mktemp("retention-service") / "home", s3_server)
    running = start_with_users(home, PASSWORDS)
    yield running
    assert running.stop() == 0, running.stdout()


@pytest.fixture(scope="module")
def cli_dir(service: Service, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A directory with no home in it, and every user logged in with the CLI (one credentials file each)."""
    root = tmp_path_factory.mktemp("retention-cli")
    for name, (_, password) in PASSWORDS.items():
        assert run(service, root, name, "login", name, "--password", password).returncode == 0
    yield root
    assert not (root / "no-home-here").exists()


def run(service: Service, root: Path, user: str, *args: str) -> subprocess.CompletedProcess[bytes]:
    """``strongroom --server URL ARGS`` as ``user``."""
    env = {"STRONGROOM_CREDENTIALS": str(root / f"{user}.json")}
    return cli_process(root / "no-home-here", "--server", service.url, *args, env=env)


def run_json(service: Service, root: Path, user: str, *args: str) -> Any:
    done = run(service, root, user, *args, "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def put(service: Service, root: Path, user: str, data: bytes, *args: str) -> dict[str, Any]:
    path = root / f"doc-{hashlib.sha256(data).hexdigest()[:12]}.txt"
    path.write_bytes(data)
    return dict(run_json(service, root, user, "put", str(path), *args))


def events(service: Service, **filters: str) -> list[dict[str, Any]]:
    with service.client("alice") as http:
        response = http.get("/audit/events", params=filters)
    assert response.status_code == 200, response.text
    return list(response.json())


def test_retain_from_is_filed_over_http_and_checked_like_locally(service: Service, cli_dir: Path) -> None:
    name = put(service, cli_dir, "sam", b"lease ending 2030", "--type", "contract", "--retain-from", "2030-06-30")["name"]
    shown = run_json(service, cli_dir, "mona", "retention", "show", name)
    assert (shown["retain_from"], shown["retain_until"]) == ("2030-06-30", "2040-06-30")
    assert shown["basis"] == "end 2030-06-30 + 10 years" and shown["disposable"] is False
    assert "retained until: 2040-06-30" in run(service, cli_dir, "mona", "retention", "show", name).stdout.decode()

    (cli_dir / "minutes.txt").write_bytes(b"minutes")
    wrong = run(service, cli_dir, "sam", "put", str(cli_dir / "minutes.txt"), "--type", "minutes",
                "--retain-from", "2030-01-01")
    assert wrong.returncode == 2 and "a retention start date does not apply" in wrong.stderr.decode()
    with service.client("sam") as http:
        bad = http.post("/records", params={"type": "contract", "retain_from": "30/06/2030"}, content=b"x",
                        headers={"Content-Type": "application/octet-stream"})
    assert bad.status_code == 422 and bad.json()["error"].startswith("query.retain_from")
    assert run(service, cli_dir, "sam", "retention", "show", name).returncode == 3

    open_ended = put(service, cli_dir, "sam", b"open-ended lease", "--type", "contract")["name"]
    assert run_json(service, cli_dir, "mona", "retention", "show", open_ended)["retain_until"] is None
    assert run(service, cli_dir, "sam", "retention", "trigger", open_ended, "--date", "2031-01-31",
               "--reason", "ended").returncode == 3
    given = run_json(service, cli_dir, "mona", "retention", "trigger", open_ended, "--date", "2031-01-31",
                     "--reason", "contract ended")
    assert given["retain_until"] == "2041-01-31" and given["locked_until"].startswith("2041-01-31")


def test_approved_disposal_over_http_leaves_a_certificate(service: Service, cli_dir: Path) -> None:
    data = b"old contract, ended 2001\n" * 100
    filed = put(service, cli_dir, "sam", data, "--type", "contract", "--retain-from", "2001-03-31")
    name = filed["name"]
    assert filed["sha256"] == hashlib.sha256(data).hexdigest()

    due = {view["name"]: view for view in run_json(service, cli_dir, "mona", "retention", "due")}
    assert due[name]["retain_until"] == "2011-03-31" and due[name]["disposable"] is True
    assert run(service, cli_dir, "sam", "retention", "due").returncode == 3

    refused = run(service, cli_dir, "sam", "retention", "dispose", name, "--reason", "over")
    assert refused.returncode == 3 and refused.stderr.decode().count("\n") == 1
    with service.client("sam") as http:
        assert http.post("/retention/disposals", json={"records": [name], "reason": "over"}).status_code == 403

    asked = run_json(service, cli_dir, "mona", "retention", "dispose", name, "--reason", "retention ended")
    assert (asked["records"], asked["state"], asked["requested_by"]) == ([name], "pending", "mona")
    pending = run_json(service, cli_dir, "mona", "retention", "requests")
    assert [item["id"] for item in pending] == [asked["id"]]
    again = run(service, cli_dir, "mona", "retention", "dispose", name, "--reason", "twice")
    assert again.returncode == 1 and f"already in disposal request {asked['id']}" in again.stderr.decode()
    assert run(service, cli_dir, "mona", "retention", "approve", str(asked["id"])).returncode == 3

    done = run_json(service, cli_dir, "dora", "retention", "approve", str(asked["id"]))
    assert done["state"] == "done" and done["decided_by"] == "dora" and set(done["certificates"]) == {name}
    assert run(service, cli_dir, "dora", "retention", "approve", str(asked["id"])).returncode == 1

    cert = run_json(service, cli_dir, "alice", "retention", "certificate", name)
    assert cert["seq"] == done["certificates"][name]
    detail = cert["detail"]
    assert [v["sha256"] for v in detail["versions"]] == [filed["sha256"]]
    assert (detail["requested_by"], detail["approved_by"], detail["reason"]) == ("mona", "dora", "retention ended")
    assert detail["retain_until"] == "2011-03-31"
    printed = run(service, cli_dir, "alice", "retention", "certificate", name).stdout.decode()
    assert "DISPOSAL CERTIFICATE" in printed and filed["sha256"] in printed

    gone = run(service, cli_dir, "dora", "get", name, "-o", "-")
    assert gone.returncode == 1 and "disposed of" in gone.stderr.decode()
    assert run_json(service, cli_dir, "dora", "retention", "show", name)["state"] == "disposed"
    everything = run_json(service, cli_dir, "mona", "retention", "requests", "--all")
    assert {item["id"]: item["state"] for item in everything}[asked["id"]] == "done"
    with service.client("alice") as http:
        assert http.get("/retention/certificates/2026-9999-contract").status_code == 404
        assert http.get("/retention/records/not-a-name").status_code == 400
    assert [e["actor"] for e in events(service, record=name, action="retention.dispose")] == ["dora"]


def test_a_held_record_is_not_disposed_of_and_a_request_can_be_denied(service: Service, cli_dir: Path) -> None:
    name = put(service, cli_dir, "sam", b"disputed contract", "--type", "contract", "--retain-from", "2005-01-01")["name"]
    assert run(service, cli_dir, "mona", "hold", "place", name, "--reason", "litigation").returncode == 3
    placed = run_json(service, cli_dir, "dora", "hold", "place", name, "--reason", "litigation 2026-17")
    assert (placed["record"], placed["placed_by"]) == (name, "dora")
    assert placed["storage"] == "S3 legal hold on for 1 object version(s)"
    assert run(service, cli_dir, "dora", "hold", "place", name, "--reason", "again").returncode == 1

    holds = run_json(service, cli_dir, "alice", "hold", "list")
    assert [(h["record"], h["reason"]) for h in holds] == [(name, "litigation 2026-17")]
    assert run_json(service, cli_dir, "mona", "retention", "show", name)["held"] is True
    assert name not in {view["name"] for view in run_json(service, cli_dir, "mona", "retention", "due")}
    refused = run(service, cli_dir, "mona", "retention", "dispose", name, "--reason", "over")
    assert refused.returncode == 1 and "on legal hold" in refused.stderr.decode()
    with service.client("mona") as http:
        conflict = http.post("/retention/disposals", json={"records": [name], "reason": "over"})
    assert conflict.status_code == 409 and "on legal hold" in conflict.json()["error"]

    released = run_json(service, cli_dir, "dora", "hold", "release", name, "--reason", "settled")
    assert (released["released_by"], released["release_reason"]) == ("dora", "settled")
    assert released["storage"] == "S3 legal hold off for 1 object version(s)"
    assert run(service, cli_dir, "dora", "hold", "release", name).returncode == 1
    assert run_json(service, cli_dir, "alice", "hold", "list") == []
    assert [h["id"] for h in run_json(service, cli_dir, "alice", "hold", "list", "--all")] == [placed["id"]]

    asked = run_json(service, cli_dir, "mona", "retention", "dispose", name, "--reason", "over")
    denied = run_json(service, cli_dir, "dora", "retention", "deny", str(asked["id"]), "--reason", "keep it")
    assert (denied["state"], denied["decision_reason"]) == ("denied", "keep it")
    assert run_json(service, cli_dir, "mona", "retention", "show", name)["state"] == "active"
    log = [e["action"] for e in events(service, record=name) if e["outcome"] == "ok"]
    assert log[-3:] == ["hold.place", "hold.release", "retention.dispose-request"]


def test_there_is_no_delete_over_http_and_the_attempts_are_recorded(service: Service, cli_dir: Path) -> None:
    name = put(service, cli_dir, "sam", b"weekly minutes", "--type", "minutes")["name"]
    with service.client("dora") as http:
        refused = http.delete(f"/records/{name}")
        assert refused.status_code == 403 and "never deleted directly" in refused.json()["error"]
        assert http.get(f"/records/{name}/content").content == b"weekly minutes"
    rm = run(service, cli_dir, "dora", "rm", name)
    assert rm.returncode == 3 and "never deleted directly" in rm.stderr.decode()
    trail = events(service, action="record.delete", record=name)
    assert [(e["actor"], e["outcome"]) for e in trail] == [("dora", "denied"), ("dora", "denied")]
    assert all(str(e["source"]).startswith("http:") for e in trail)
