"""Fuzzing the HTTP API with Schemathesis, against the real service and its S3 server.

Every operation of the OpenAPI document is called with generated requests (the schema's
examples, the coverage phase's boundary and invalid values, random ones) as a director,
so that most calls get past the access checks into the archive code, and again without
a token. No response may be a server error.

The cases are generated at collection time, one test per operation, from the document
built by ``create_app`` (Schemathesis' lazy ``from_fixture`` loader does not work with
pytest 9); a test checks that the running service serves exactly this document.
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
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ignored_auth,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
    unsupported_method,
)

from access.policy import AccessPolicy
from api.app import create_app
from archive.service import Archive
from config.settings import Settings
from tests.conftest import make_home
from tests.service_helpers import Service, start_with_users

PASSWORDS = {
    "dora": ("director", "d1rector-fuzz-pw"),  # the fuzzing user
    "sam": ("staff", "st4ff-fuzz-pw"),  # asks for access, so that requests and grants exist
    "pat": ("director", "p4tron-fuzz-pw"),  # "changes their password": wrong old ones may lock pat out, not dora
}
# Checks that hold for this API. Left out, as they report what a schema cannot say rather than bugs:
# positive_data_acceptance (schema-valid names and types the
# archive refuses with 400), negative_data_rejection (empty uploads are accepted although the body is
# "required"; pydantic accepts numbers as datetimes), allow_header_conformance (Starlette's Allow header
# lists the methods of the first matching route only).
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance,
          response_headers_conformance, ignored_auth, unsupported_method]
FUZZ = settings(max_examples=25, deadline=None, derandomize=True, database=None,
                suppress_health_check=list(HealthCheck))


def _openapi() -> dict[str, Any]:
    """The OpenAPI document; building the routes uses neither the archive nor the policy, only requests do."""
    return create_app(cast(Archive, object()), cast(AccessPolicy, object())).openapi()


schema = schemathesis.openapi.from_dict(_openapi())


def _file(http: httpx.Client, record_type: str, data: bytes) -> str:
    response = http.post("/records", params={"type": record_type, "year": 2026, "title": f"fuzz {record_type}"},
                         content=data, headers={"Content-Type": "application/octet-stream"})
    assert response.status_code == 201, response.text
    return str(response.json()["name"])


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory, s3_server: Settings) -> Iterator[Service]:
    """The service with records, a granted and a pending request, so that generated names and ids hit real rows."""
    home = make_home(tmp_path_factory.mktemp("fuzz") / "home", s3_server)
    running = start_with_users(home, PASSWORDS)
    with running.client("dora") as dora, running.client("sam") as sam:
        contracts = [_file(dora, "contract", b"fuzz contract\n" * 100) for _ in range(2)]  # 2026-0001: the example
        _file(dora, "minutes", b"fuzz minutes\n")
        for contract in contracts:
            made = sam.post("/access/requests", json={"record": contract, "reason": "fuzz"})
            assert made.status_code == 201, made.text
        assert dora.post("/access/requests/1/approve", json={}).status_code == 200
    yield running
    assert running.stop() == 0, running.stdout()


def _token_for(service: Service, case: Case) -> str:
    """Dora's token, except: a fresh one for each logout (which revokes it), and pat's for password changes."""
    path = case.operation.path
    if path == "/auth/logout":
        with service.client() as http:
            response = http.post("/auth/login", json={"name": "dora", "password": PASSWORDS["dora"][1]})
        assert response.status_code == 200, response.text
        return str(response.json()["token"])
    return service.tokens["pat" if path == "/auth/password" else "dora"]


def test_the_fuzzed_document_is_the_one_the_service_serves(service: Service) -> None:
    with service.client() as http:
        assert http.get("/openapi.json").json() == schema.raw_schema


@schema.parametrize()
@FUZZ
def test_no_operation_fails_with_a_server_error_as_the_director(case: Case, service: Service) -> None:
    case.call_and_validate(base_url=service.url, headers={"Authorization": f"Bearer {_token_for(service, case)}"},
                           checks=CHECKS)


@schema.parametrize()
@settings(FUZZ, max_examples=10)
def test_no_operation_fails_or_succeeds_without_a_token(case: Case, service: Service) -> None:
    case.headers.pop("Authorization", None)
    response = case.call(base_url=service.url)
    case.validate_response(response, checks=[not_a_server_error])
    if case.operation.definition.raw.get("security"):
        assert not 200 <= response.status_code < 300, (case.operation.label, response.status_code, response.text)


@pytest.mark.parametrize("moment", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"])
def test_audit_bounds_with_no_utc_equivalent_are_refused_not_a_server_error(service: Service, moment: str) -> None:
    """Found by hand while fuzzing: converting such a bound to UTC overflowed, and the service answered 500."""
    with service.client("dora") as http:
        for bound in ("since", "until"):
            response = http.get("/audit/events", params={bound: moment})
            assert response.status_code == 422, response.text
            assert response.json()["error"] == f"query.{bound}: Value error, outside the years 1-9999 in UTC"
