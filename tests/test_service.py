"""The multi-user service over real HTTP, against the real S3 server: roles, requests, grants, audit."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from accounts.users import add_user
from archive.service import Archive
from audit.actor import Actor
from config.settings import Settings
from tests.conftest import cli_process, make_home
from tests.service_helpers import Service, start_with_users

PASSWORDS = {
    "dora": ("director", "d1rector-secret-pw"),
    "mona": ("manager", "m4nager-secret-pw"),
    "sam": ("staff", "st4ff-secret-pw"),
    "alice": ("auditor", "aud1tor-secret-pw"),
    "adam": ("admin", "adm1n-secret-pw"),
}
# The default policy plus one line, so that a manager can hold "grant" and self-approval can be tried.
EXTRA_POLICY_LINE = "p, manager, *, grant\n"
CONTRACT = "主合同 Loan contract, branch 3: 2026 terms.\n".encode() * 1000


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory, s3_server: Settings) -> Iterator[Service]:
    root = tmp_path_factory.mktemp("service")
    home = make_home(root / "home", s3_server)
    policy = root / "policy.csv"
    policy.write_text((Path(__file__).parent.parent / "access" / "policy.csv").read_text() + EXTRA_POLICY_LINE)
    running = start_with_users(home, PASSWORDS, env={"STRONGROOM_ACCESS_POLICY_PATH": str(policy)})
    yield running
    assert running.stop() == 0, running.stdout()


def db(service: Service) -> sqlite3.Connection:
    return sqlite3.connect(service.home / "catalog.sqlite3")


def file_contract(service: Service, user: str = "sam", data: bytes = CONTRACT) -> str:
    with service.client(user) as http:
        response = http.post("/records", params={"type": "contract", "title": "保密 loan terms"}, content=data,
                             headers={"Content-Type": "application/octet-stream"})
    assert response.status_code == 201, response.text
    return str(response.json()["name"])


def events(service: Service, **filters: str) -> list[dict[str, object]]:
    with service.client("alice") as http:
        response = http.get("/audit/events", params=filters)
    assert response.status_code == 200, response.text
    return list(response.json())


def test_health_and_openapi_need_no_login_and_everything_else_does(service: Service) -> None:
    with service.client() as http:
        health = http.get("/health")
        assert health.status_code == 200 and health.json()["storage"] == "ok"
        schema = http.get("/openapi.json").json()
        assert "/records/{name}/content" in schema["paths"]
        for method, path in [("GET", "/records"), ("GET", "/me"), ("GET", "/audit/events"),
                             ("GET", "/access/requests"), ("POST", "/auth/logout")]:
            response = http.request(method, path)
            assert response.status_code == 401, (method, path)
            assert response.headers["WWW-Authenticate"] == "Bearer"
        bad = http.get("/records", headers={"Authorization": "Bearer not-a-token"})
        assert bad.status_code == 401 and "expired" in bad.json()["error"]


def test_the_address_alone_leads_to_the_web_interface(service: Service) -> None:
    """Item 12 of issue 14: 'GET /' answered a JSON 404; whoever types the host's address gets the web pages."""
    with service.client() as http:
        for method in ("GET", "HEAD"):
            response = http.request(method, "/")
            assert (response.status_code, response.headers["location"]) == (307, "/web/"), method
        landed = http.get("/", follow_redirects=True)
        assert landed.status_code == 200 and landed.url.path == "/web/login"
        assert "/" not in http.get("/openapi.json").json()["paths"]


def test_wrong_password_is_refused_and_audited(service: Service) -> None:
    with service.client() as http:
        response = http.post("/auth/login", json={"name": "sam", "password": "wrong-password"})
        unknown = http.post("/auth/login", json={"name": "nobody", "password": "wrong-password"})
    assert response.status_code == 401 and unknown.status_code == 401
    assert response.json()["error"] == unknown.json()["error"]
    failed = [e for e in events(service, action="auth.login") if e["outcome"] == "failed"]
    assert {e["actor"] for e in failed} >= {"sam", "nobody"}
    assert all(str(e["source"]).startswith("http:127.0.0.1") for e in failed)


def test_staff_cannot_read_a_contract_until_the_director_grants_it(service: Service) -> None:
    name = file_contract(service)
    with service.client("sam") as sam, service.client("dora") as dora:
        refused = sam.get(f"/records/{name}/content")
        assert refused.status_code == 403
        assert sam.get(f"/records/{name}").status_code == 403
        listed = {r["name"]: r for r in sam.get("/records").json()}
        assert listed[name]["title"] is None
        assert dora.get("/records").json()[-1]["title"] == "保密 loan terms"

        made = sam.post("/access/requests", json={"record": name, "reason": "loan review", "days": 2})
        assert made.status_code == 201, made.text
        request_id = made.json()["id"]
        assert [r["id"] for r in dora.get("/access/requests", params={"scope": "pending"}).json()] == [request_id]
        assert sam.get("/access/requests", params={"scope": "pending"}).status_code == 403
        approved = dora.post(f"/access/requests/{request_id}/approve", json={"days": 1})
        assert approved.status_code == 200, approved.text
        grant = approved.json()

        read = sam.get(f"/records/{name}/content")
        assert read.status_code == 200 and read.content == CONTRACT
        assert read.headers["X-Strongroom-SHA256"] == hashlib.sha256(CONTRACT).hexdigest()
        assert sam.get(f"/records/{name}").status_code == 200

        with db(service) as conn:  # time passes: the grant's day is over
            conn.execute("UPDATE grants SET expires_at = '2020-01-01 00:00:00' WHERE id = ?", (grant["id"],))
        assert sam.get(f"/records/{name}/content").status_code == 403

    trail = events(service, record=name)
    reads = [(e["actor"], e["action"], e["outcome"]) for e in trail if e["action"] == "record.read"]
    assert reads == [("sam", "record.read", "denied"), ("sam", "record.read", "ok"), ("sam", "record.read", "denied")]
    assert {"access.request", "access.approve"} <= {str(e["action"]) for e in trail}


def test_a_revoked_grant_stops_working_at_once(service: Service) -> None:
    name = file_contract(service)
    with service.client("sam") as sam, service.client("dora") as dora:
        request_id = sam.post("/access/requests", json={"record": name, "reason": "audit prep"}).json()["id"]
        grant = dora.post(f"/access/requests/{request_id}/approve", json={}).json()
        assert sam.get(f"/records/{name}/content").status_code == 200
        assert dora.delete(f"/access/grants/{grant['id']}").status_code == 200
        assert sam.get(f"/records/{name}/content").status_code == 403


def test_a_contract_gets_a_new_version_only_through_an_amend_grant(service: Service, tmp_path: Path) -> None:
    name = file_contract(service)
    signed = {"content": b"signed copy", "headers": {"Content-Type": "application/octet-stream"}}
    with service.client("sam") as sam, service.client("dora") as dora:
        refused = sam.post(f"/records/{name}/versions", **signed)  # type: ignore[arg-type]
        assert refused.status_code == 403 and "an amend grant" in refused.json()["error"]
        bad = sam.post("/access/requests", json={"record": name, "reason": "x", "purpose": "write"})
        assert bad.status_code == 422
        read = sam.post("/access/requests", json={"record": name, "reason": "check terms"}).json()
        assert read["purpose"] == "read"
        assert dora.post(f"/access/requests/{read['id']}/approve", json={}).status_code == 200
        assert sam.post(f"/records/{name}/versions", **signed).status_code == 403  # type: ignore[arg-type]

        amend = sam.post("/access/requests", json={"record": name, "reason": "signed copy", "purpose": "amend"})
        assert amend.status_code == 201 and amend.json()["purpose"] == "amend"
        pending = dora.get("/access/requests", params={"scope": "pending"}).json()
        assert {"id": amend.json()["id"], "purpose": "amend"}.items() <= next(
            r for r in pending if r["id"] == amend.json()["id"]).items()
        grant = dora.post(f"/access/requests/{amend.json()['id']}/approve", json={}).json()
        assert grant["purpose"] == "amend"
        filed = sam.post(f"/records/{name}/versions", params={"comment": "signed"}, **signed)  # type: ignore[arg-type]
        assert filed.status_code == 201 and filed.json()["version"] == 2

        every = dora.get("/access/grants").json()
        listed = {(g["user"], g["record"], g["purpose"]) for g in every}
        assert listed >= {("sam", name, "read"), ("sam", name, "amend")}
        assert all(g["active"] for g in every)
        assert all(g["user"] == "sam" for g in sam.get("/access/grants").json())
        assert dora.get("/access/grants", params={"everyone": "true"}).json() == every

    env = {"STRONGROOM_SERVER": service.url, "STRONGROOM_CREDENTIALS": str(tmp_path / "creds.json"),
           "STRONGROOM_HOME": str(tmp_path / "no-home-here")}
    assert cli_process(tmp_path, "login", "dora", "--password", PASSWORDS["dora"][1], env=env).returncode == 0
    listed = cli_process(tmp_path, "access", "grants", env=env)
    assert listed.returncode == 0 and f"sam            {name}" in listed.stdout.decode()
    assert " amend " in listed.stdout.decode()
    assert cli_process(tmp_path, "login", "sam", "--password", PASSWORDS["sam"][1], env=env).returncode == 0
    other = file_contract(service)
    asked = cli_process(tmp_path, "access", "request", other, "--reason", "signed copy", "--purpose", "amend",
                        "--json", env=env)
    assert asked.returncode == 0 and json.loads(asked.stdout)["purpose"] == "amend"
    wrong = cli_process(tmp_path, "access", "request", other, "--reason", "x", "--purpose", "sign", env=env)
    assert wrong.returncode == 2 and wrong.stderr.decode().count("\n") == 1
    assert "'sign' is not one of 'read', 'amend'" in wrong.stderr.decode()


def test_requests_that_make_no_sense_are_refused(service: Service) -> None:
    name = file_contract(service)
    with service.client("sam") as sam, service.client("dora") as dora, service.client("mona") as mona:
        assert dora.post("/access/requests", json={"record": name, "reason": "x"}).status_code == 409
        own = mona.post("/access/requests", json={"record": name, "reason": "my own"}).json()["id"]
        self_approval = mona.post(f"/access/requests/{own}/approve", json={})
        assert self_approval.status_code == 403 and "own" in self_approval.json()["error"]
        assert sam.post(f"/access/requests/{own}/approve", json={}).status_code == 403
        assert sam.post("/access/requests", json={"record": "2026-9999-contract", "reason": "x"}).status_code == 404
        assert sam.post("/access/requests", json={"record": "not a name", "reason": "x"}).status_code == 400
        denied = dora.post(f"/access/requests/{own}/deny", json={"reason": "not needed"})
        assert denied.status_code == 200 and denied.json()["state"] == "denied"
    assert any(e["action"] == "access.approve" and e["outcome"] == "denied" for e in events(service, record=name))


def test_admin_reads_no_documents_and_auditor_reads_the_trail(service: Service) -> None:
    name = file_contract(service)
    with service.client("adam") as adam, service.client("alice") as alice, service.client("sam") as sam:
        assert adam.get(f"/records/{name}/content").status_code == 403
        minutes = sam.post("/records", params={"type": "minutes"}, content=b"weekly meeting",
                           headers={"Content-Type": "application/octet-stream"}).json()["name"]
        assert adam.get(f"/records/{minutes}/content").status_code == 403
        assert alice.get(f"/records/{minutes}/content").content == b"weekly meeting"
        assert sam.get("/audit/events").status_code == 403
        csv_text = alice.get("/audit/events", params={"format": "csv", "record": name}).text
        assert csv_text.splitlines()[0].startswith("seq,at,actor,action")
        assert name in csv_text


def test_new_versions_through_the_api_keep_history(service: Service) -> None:
    with service.client("sam") as sam, service.client("dora") as dora:
        name = sam.post("/records", params={"type": "minutes"}, content=b"v1",
                        headers={"Content-Type": "application/octet-stream"}).json()["name"]
        second = sam.post(f"/records/{name}/versions", params={"comment": "corrected"}, content=b"v2 text",
                          headers={"Content-Type": "application/octet-stream"})
        assert second.status_code == 201 and second.json()["version"] == 2
        assert sam.get(f"/records/{name}/content", params={"version": 1}).content == b"v1"
        assert sam.get(f"/records/{name}/content").content == b"v2 text"
        history = dora.get(f"/records/{name}").json()["versions"]
        assert [(v["version"], v["state"]) for v in history] == [(1, "archived"), (2, "current")]
        assert sam.post("/records", params={"type": "no-such-type"}, content=b"x").status_code == 400


def test_tokens_expire_and_logout_revokes(service: Service) -> None:
    token = service.login("mona", PASSWORDS["mona"][1])
    with service.client("mona") as mona:
        assert mona.get("/me").json()["name"] == "mona"
        with db(service) as conn:
            conn.execute("UPDATE tokens SET expires_at = '2020-01-01 00:00:00' WHERE token_hash = ?",
                         (hashlib.sha256(token.encode()).hexdigest(),))
        assert mona.get("/me").status_code == 401
    service.login("mona", PASSWORDS["mona"][1])
    with service.client("mona") as mona:
        assert mona.post("/auth/logout").status_code == 200
        assert mona.get("/me").status_code == 401
    service.login("mona", PASSWORDS["mona"][1])


def test_a_disabled_user_is_locked_out_at_once(service: Service) -> None:
    archive = Archive.open(service.home)
    try:
        add_user(archive, "temp", "staff", "provisional-secret-pw", actor=Actor("test-operator", None, "cli"))
    finally:
        archive.close()
    service.login("temp", "provisional-secret-pw")
    with service.client("temp") as temp:
        assert temp.get("/records").status_code == 200
        assert cli_process(service.home, "user", "disable", "temp").returncode == 0
        assert temp.get("/records").status_code == 401
    with service.client() as http:
        assert http.post("/auth/login", json={"name": "temp", "password": "provisional-secret-pw"}).status_code == 401


def test_audit_verify_over_http_catches_an_edited_row(service: Service) -> None:
    with service.client("alice") as alice:
        first = alice.get("/audit/verify").json()
        assert first["ok"] is True and first["checked"] > 10
        with db(service) as conn:
            conn.execute("UPDATE audit_events SET actor = 'someone-else' WHERE seq = 3")
        broken = alice.get("/audit/verify").json()
        assert broken["ok"] is False and broken["first_bad"] == 3
    _restore_row(service, 3)  # put it back for the other tests
    with service.client("alice") as alice:
        assert alice.get("/audit/verify").json()["ok"] is True


def _restore_row(service: Service, seq: int) -> None:
    """Undo the edit by recomputing which actor makes the stored hash match again."""
    from audit.trail import canonical, chain_hash
    from catalog.schema import AuditEvent

    with db(service) as conn:
        row = conn.execute("SELECT * FROM audit_events WHERE seq = ?", (seq,)).fetchone()
        columns = [d[0] for d in conn.execute("SELECT * FROM audit_events LIMIT 0").description]
        values = dict(zip(columns, row, strict=True))
        for actor in [*PASSWORDS, "system", "test-operator", "nobody", "temp"]:
            candidate = AuditEvent(**{**values, "actor": actor})
            if chain_hash(values["prev_hash"], canonical(candidate, values["detail"])) == values["hash"]:
                conn.execute("UPDATE audit_events SET actor = ? WHERE seq = ?", (actor, seq))
                return
    raise AssertionError("could not restore the edited audit row")


def test_cli_talks_to_the_server_with_a_saved_token(service: Service, tmp_path: Path) -> None:
    env = {"STRONGROOM_SERVER": service.url, "STRONGROOM_CREDENTIALS": str(tmp_path / "creds.json"),
           "STRONGROOM_HOME": str(tmp_path / "no-home-here")}
    login = cli_process(tmp_path, "login", "sam", "--password", PASSWORDS["sam"][1], env=env)
    assert login.returncode == 0, login.stderr
    assert stat.S_IMODE((tmp_path / "creds.json").stat().st_mode) == 0o600
    doc = tmp_path / "minutes.txt"
    doc.write_bytes(b"minutes via the service\n" * 5000)
    put = cli_process(tmp_path, "put", str(doc), "--type", "minutes", env=env)
    assert put.returncode == 0, put.stderr
    name = put.stdout.decode().strip()
    got = cli_process(tmp_path, "get", name, "-o", "-", env=env)
    assert got.returncode == 0 and got.stdout == doc.read_bytes()
    contract = file_contract(service)
    refused = cli_process(tmp_path, "get", contract, "-o", "-", env=env)
    assert refused.returncode == 3 and refused.stderr.decode().count("\n") == 1
    asked = cli_process(tmp_path, "access", "request", contract, "--reason", "cli test", "--json",
                        env=env)
    assert asked.returncode == 0, asked.stderr
    assert not (tmp_path / "no-home-here").exists()
    logout = cli_process(tmp_path, "logout", env=env)
    assert logout.returncode == 0
    after = cli_process(tmp_path, "ls", env=env)
    assert after.returncode == 1 and b"login" in after.stderr
