"""Fuzzing the HTTP API with Schemathesis, against the real service and its S3 server.

Every operation in the service's own /openapi.json is called with generated requests
(schema examples, the coverage phase's boundary and invalid values, and random ones) as
a director, so most calls get past the access checks into the archive code; every
operation is also called without a token. No response may be a server error.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, cast

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import Case
from schemathesis.checks import not_a_server_error

from access.actor import Actor
from access.policy import AccessPolicy
from accounts.users import add_user
from api.app import create_app
from archive.service import Archive
from config.settings import Settings
from tests.conftest import make_home
from tests.service_helpers import Service, start_service

PASSWORDS = {
    "dora": ("director", "d1rector-fuzz-pw"),  # the fuzzing user
    "sam": ("staff", "st4ff-fuzz-pw"),  # asks for access, so that requests and grants exist
    "pat": ("director", "p4tient-fuzz-pw"),  # changes "their password" (wrong old ones may lock pat out)
}
FUZZ = settings(
    max_examples=15, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck)
)


def _file(http: httpx.Client, record_type: str, data: bytes) -> str:
    response = http.post("/records", params={"type": record_type, "year": 2026, "title": f"fuzz {record_type}"},
                         content=data, headers={"Content-Type": "application/octet-stream"})
    assert response.status_code == 201, response.text
    return str(response.json()["name"])


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory, s3_server: Settings) -> Iterator[Service]:
    """The service with records, a pending request and a grant, so generated ids and names can hit real rows."""
    home = make_home(tmp_path_factory.mktemp("fuzz") / "home", s3_server)
    archive = Archive.open(home)
    try:
        for name, (role, password) in PASSWORDS.items():
            add_user(archive, name, role, password, actor=Actor("test-operator", None, "cli"))
    finally:
        archive.close()
    running = start_service(home)
    for name, (_, password) in PASSWORDS.items():
        running.login(name, password)
    with running.client("dora") as dora, running.client("sam") as sam:
        contracts = [_file(dora, "contract", b"fuzz contract\n" * 100) for _ in range(2)]  # 2026-0001: the example
        _file(dora, "minutes", b"fuzz minutes\n")
        for contract in contracts:
            made = sam.post("/access/requests", json={"record": contract, "reason": "fuzz"})
            assert made.status_code == 201, made.text
        assert dora.post("/access/requests/1/approve", json={}).status_code == 200
    yield running
    assert running.stop() == 0, running.stdout()


def _openapi() -> dict[str, Any]:
    """The OpenAPI document, built from the routes alone (create_app uses the archive and policy only in requests)."""
    return create_app(cast(Archive, object()), cast(AccessPolicy, object())).openapi()


schema = schemathesis.openapi.from_dict(_openapi())


def _token_for(service: Service, case: Case) -> str:
    """Dora's token, except: a fresh one per logout (it is revoked), and pat's for password changes."""
    path = case.operation.path
    if path == "/auth/logout":
        with service.client() as http:
            response = http.post("/auth/login", json={"name": "dora", "password": PASSWORDS["dora"][1]})
        assert response.status_code == 200, response.text
        return str(response.json()["token"])
    return service.tokens["pat" if path == "/auth/password" else "dora"]


@schema.parametrize()
@FUZZ
def test_no_operation_fails_with_a_server_error_as_the_director(case: Case, service: Service) -> None:
    token = _token_for(service, case)
    import json
    from schemathesis.checks import CHECKS
    response = case.call(base_url=service.url, headers={"Authorization": f"Bearer {token}"})
    for check in CHECKS.get_all():
        try:
            case.validate_response(response, checks=[check], headers={"Authorization": f"Bearer {token}"}, transport_kwargs={"base_url": service.url, "headers": {"Authorization": f"Bearer {token}"}})
        except BaseException as exc:
            with open("/tmp/fuzzchecks.jsonl", "a") as f:
                f.write(json.dumps([check.__name__, case.operation.label, response.status_code, str(getattr(case.meta, "phase", None)), str(exc)[:700]]) + "\n")


@schema.parametrize()
@FUZZ
def test_no_operation_fails_with_a_server_error_without_a_token(case: Case, service: Service) -> None:
    case.headers.pop("Authorization", None)
    response = case.call(base_url=service.url)
    case.validate_response(response, checks=[not_a_server_error])
    if case.operation.definition.raw.get("security"):
        assert response.status_code in (401, 422), (case.operation.label, response.status_code, response.text)
