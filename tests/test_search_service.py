"""Search through the real service over HTTP: what leaks to whom, concurrent uploads, self-repair, the remote client."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, example, given, settings
from markupsafe import escape

from client.remote import RemoteArchive
from config.settings import Settings
from tests.conftest import make_home
from tests.service_helpers import Service, start_with_users
from tests.test_search_query import QUERY_STRINGS

PASSWORDS = {"dora": ("director", "d1rector-search-pw"), "sam": ("staff", "st4ff-search-pw"),
             "alice": ("auditor", "aud1tor-search-pw")}
SECRET_TITLE = "Confidential lease 保密租赁"
SECRET_TEXT = "保密合同：客戶備份條款 card 6222020012345671 phone 13812345678"


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory, s3_server: Settings) -> Iterator[Service]:
    home = make_home(tmp_path_factory.mktemp("search-service") / "home", s3_server)
    running = start_with_users(home, PASSWORDS)
    yield running
    assert running.stop() == 0, running.stdout()


def file(service: Service, user: str, record_type: str, data: bytes, title: str, filename: str = "doc.txt") -> str:
    with service.client(user) as http:
        response = http.post("/records", params={"type": record_type, "title": title, "filename": filename},
                             content=data, headers={"Content-Type": "application/octet-stream"})
    assert response.status_code == 201, response.text
    return str(response.json()["name"])


def search(service: Service, user: str, **params: Any) -> httpx.Response:
    with service.client(user) as http:
        return http.get("/search", params=params)


def wait_for(service: Service, query: str, names: set[str], user: str = "dora", timeout: float = 60) -> set[str]:
    """Poll until the queue thread has indexed ``names`` (they are found by ``query``)."""
    deadline = time.monotonic() + timeout
    found: set[str] = set()
    while time.monotonic() < deadline:
        response = search(service, user, q=query, limit=200)
        if response.status_code == 200:
            found = {hit["name"] for hit in response.json()["hits"]}
            if names <= found:
                return found
        time.sleep(0.2)
    raise AssertionError(f"not indexed in {timeout} s: {sorted(names - found)}; last answer {response.text[:300]}")


def test_restricted_hits_never_leak_a_title_or_a_snippet(service: Service) -> None:
    contract = file(service, "dora", "contract", SECRET_TEXT.encode(), SECRET_TITLE)
    minutes = file(service, "sam", "minutes", "周例会：客户档案备份已完成。".encode(), "Weekly minutes")
    wait_for(service, "备份", {contract, minutes})

    staff = search(service, "sam", q="备份")
    assert staff.status_code == 200
    assert contract not in staff.text and "保密" not in staff.text and "Confidential" not in staff.text
    assert [hit["name"] for hit in staff.json()["hits"]] == [minutes]

    auditor = search(service, "alice", q="备份")  # search.restricted_hits = "count", the default
    hits = {hit["name"]: hit for hit in auditor.json()["hits"]}
    assert contract not in auditor.text and auditor.json()["restricted_count"] == 1
    for secret in ("保密", "Confidential", "租赁", "6222", "1381234"):
        assert secret not in auditor.text
    assert hits[minutes]["title"] == "Weekly minutes" and "备份" in hits[minutes]["snippet"]
    page = web_search(service, "alice", "备份")
    assert page.status_code == 200 and contract not in page.text and "保密" not in page.text
    assert "另有 1 份匹配的档案您无权阅读" in page.text and 'href="/web/records"' in page.text

    director = {hit["name"]: hit for hit in search(service, "dora", q="備份").json()["hits"]}
    assert director[contract]["title"] == SECRET_TITLE
    assert "6222 **** **** 5671" in director[contract]["snippet"] and "138****5678" in director[contract]["snippet"]

    with service.client("alice") as http:
        trail = http.get("/audit/events", params={"action": "search.query", "user": "sam"}).json()
    assert trail[-1]["detail"]["query"] == "备份" and trail[-1]["detail"]["results"] == [minutes]
    assert trail[-1]["source"].startswith("http:")


def test_concurrent_uploads_are_all_indexed(service: Service) -> None:
    names: list[str] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(8)

    def upload(number: int) -> None:
        try:
            barrier.wait()
            names.append(file(service, "sam", "report", f"并发上传 concurrency marker{number} 报告".encode(),
                              f"Concurrent {number}"))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=upload, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and len(names) == 8
    assert wait_for(service, "并发上传", set(names), user="sam") == set(names)
    for number in range(8):
        assert len(search(service, "sam", q=f"marker{number}").json()["hits"]) == 1
    with service.client("sam") as http:
        assert all(http.get(f"/records/{name}/index").json()["indexed"] == "text" for name in names)


def test_new_versions_through_the_api_move_search_to_the_new_text(service: Service) -> None:
    name = file(service, "sam", "letter", b"first draft wording xylophone", "Letter")
    wait_for(service, "xylophone", {name})
    with service.client("sam") as http:
        response = http.post(f"/records/{name}/versions", content=b"final wording marimba",
                             headers={"Content-Type": "application/octet-stream"})
        assert response.status_code == 201
    wait_for(service, "marimba", {name})
    assert search(service, "sam", q="xylophone").json()["hits"] == []
    archived = search(service, "sam", q="xylophone", all_versions="true").json()["hits"]
    assert [(hit["version"], hit["current"]) for hit in archived] == [(1, False)]


def test_the_remote_client_gives_the_same_results_as_the_api(service: Service) -> None:
    scan = file(service, "sam", "other", b"\x89PNG\r\n\x1a\n not text", "Scanned form", filename="form.png")
    remote = RemoteArchive(service.url, service.tokens["alice"])
    try:
        deadline = time.monotonic() + 30
        while remote.index_status(scan).indexed == "missing" and time.monotonic() < deadline:
            time.sleep(0.2)
        status = remote.index_status(scan)
        assert (status.indexed, status.note) == ("metadata", ".png files are indexed by metadata only")
        results = remote.search("scanned", limit=5)
        assert [hit.name for hit in results.hits] == [scan] and results.hits[0].indexed == "metadata"
        sample = remote.audit_sample("other", "2026Q4", 5, "seed-1")
        assert sample.seed == "seed-1" and sample == remote.audit_sample("other", "2026Q4", 5, "seed-1")
    finally:
        remote.close()
    with service.client("sam") as http:
        assert http.get("/audit/sample", params={"type": "other", "quarter": "2026Q4"}).status_code == 403
        assert http.get("/search", params={"q": "x", "limit": 0}).status_code == 422


def test_a_damaged_index_answers_503_and_the_service_rebuilds_it(service: Service) -> None:
    name = file(service, "sam", "report", "自我修复 selfrepair 测试".encode(), "Self repair")
    wait_for(service, "selfrepair", {name})
    for segment in (service.home / "index").glob("MAIN_*.seg"):
        with open(segment, "r+b") as handle:
            handle.truncate(segment.stat().st_size // 2)
    damaged = search(service, "sam", q="selfrepair")
    assert damaged.status_code == 503 and "being rebuilt" in damaged.json()["error"]
    assert wait_for(service, "selfrepair", {name}, user="sam") == {name}
    assert "index rebuilt" in service.stdout()


def web_search(service: Service, user: str, query: str) -> httpx.Response:
    """The web search page as ``user`` (the session cookie holds the same token as the API's)."""
    with httpx.Client(base_url=service.url, cookies={"strongroom_session": service.tokens[user]}, timeout=60) as http:
        return http.get("/web/search", params={"q": query})


def test_a_query_that_cannot_be_run_is_a_400_with_one_line_in_the_api_and_on_the_page(service: Service) -> None:
    for query in ("NOT NOT NOT", 'filed:"a b"', "note:x"):
        answer = search(service, "alice", q=query)
        assert answer.status_code == 400, answer.text
        assert answer.json()["error"].startswith("search query") and "\n" not in answer.json()["error"]
        page = web_search(service, "alice", query)
        assert page.status_code == 400 and "无法执行此检索" in page.text and str(escape(answer.json()["error"])) in page.text
        assert 'name="q"' in page.text  # the form again, to correct the query
    assert "Traceback" not in service.stdout() and "IndexError" not in service.stdout()


@settings(max_examples=40, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck))
@given(QUERY_STRINGS)
@example("NOT NOT NOT")
@example('title:NEPTUNE OR 1381234567* AND filed:"x"')
def test_no_query_string_is_a_server_error_in_the_api_or_on_the_page(service: Service, query: str) -> None:
    for user in ("alice", "sam"):
        answer = search(service, user, q=query)
        assert answer.status_code in (200, 400, 422), answer.text
        assert "error" in answer.json() if answer.status_code != 200 else "hits" in answer.json()
    page = web_search(service, "dora", query)
    assert page.status_code in (200, 400), page.text[:500]


def test_probes_by_field_prefix_or_number_give_an_auditor_the_same_answer_through_the_api(service: Service) -> None:
    secret = file(service, "dora", "contract", "NEPTUNE 项目：联系 13812345678".encode(), "Project NEPTUNE lease")
    wait_for(service, "title:NEPTUNE AND 1381234567*", {secret})
    for matching, other in [("title:NEPTUNE", "title:NEPTUNX"), ("1381234567*", "1381234568*")]:
        probe, control = search(service, "alice", q=matching), search(service, "alice", q=other)
        assert probe.status_code == control.status_code == 200
        assert {**probe.json(), "query": ""} == {**control.json(), "query": ""}
        assert probe.json()["restricted_skipped"] is True and secret not in probe.text
        page = web_search(service, "alice", matching)
        assert page.status_code == 200 and "本次检索未包括这些档案" in page.text and secret not in page.text
    assert search(service, "alice", q="NEPTUNE").json()["restricted_count"] == 1  # plain words: counted
    remote = RemoteArchive(service.url, service.tokens["alice"])
    try:
        assert (remote.search("NEPTUNE").restricted_count, remote.search("title:NEPTUNE").restricted_skipped) == (1, True)
    finally:
        remote.close()
