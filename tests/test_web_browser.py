"""The web interface in a real browser: Debian's Chromium, driven by Playwright, against a real ``strongroom serve``.

One service and one browser for the whole module; each user has a browser context of their
own (cookies apart), logged in through the login form. Pages are checked with axe-core
(labels and contrast must pass) and at 375 px wide, and screenshots of the main pages are
taken: into a temporary directory, or into ``$STRONGROOM_SCREENSHOTS`` when it is set, which
``make screenshots`` does to retake the README's pictures in ``docs/screenshots/`` (a test run
leaves the work tree as it was).
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
import re
import time
import warnings
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from pathlib import Path

import httpx
import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from accounts.users import add_user
from archive.service import Archive
from audit.actor import Actor
from config.settings import Settings
from tests.conftest import make_home
from tests.service_helpers import Service, start_service

CHROMIUM = "/usr/bin/chromium"
PASSWORDS = {
    "dora": ("director", "d1rector-web-pw"),
    "sam": ("staff", "st4ff-web-pw"),
    "alice": ("auditor", "aud1tor-web-pw"),
    "adam": ("admin", "adm1n-web-pw"),
}
CONTRACT = b"%PDF-1.4\n% Lease, branch 3\n" + bytes(range(256)) * 64
CONTRACT_SIGNED = CONTRACT + b"\n% signed by both parties\n"
REQUIRED_RULES = {"label", "color-contrast"}  # must pass; other axe findings are reported as warnings
DESKTOP = {"width": 1100, "height": 760}
NAME = re.compile(r"\d{4}-\d{4}-contract")

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed (make test installs it)")


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory, s3_server: Settings) -> Iterator[Service]:
    """The service with a user of each role; paperwork counts from 40 days ago, so some of it is overdue."""
    root = tmp_path_factory.mktemp("web")
    home = make_home(root / "home", s3_server)
    archive = Archive.open(home)
    operator = Actor("test-operator", None, "cli")
    try:
        for name, (role, password) in PASSWORDS.items():
            add_user(archive, name, role, password, actor=operator)
        _, one_time = add_user(archive, "nina", "staff", None, actor=operator)
    finally:
        archive.close()
    track_from = (date.today() - timedelta(days=40)).isoformat()
    running = start_service(home, env={"STRONGROOM_PAPERWORK_TRACK_FROM": track_from})
    running.tokens["nina-one-time"] = one_time or ""
    for name, (_, password) in PASSWORDS.items():
        running.login(name, password)
    yield running
    assert running.stop() == 0, running.stdout()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"], headless=True)
        yield launched
        launched.close()


Open = Callable[..., Page]


@pytest.fixture(scope="module")
def open_as(browser: Browser, service: Service) -> Iterator[Open]:
    """``open_as(user)``: a page in that user's own browser context, logged in through the form (English)."""
    contexts: list[BrowserContext] = []

    def open_page(user: str | None, *, lang: str = "en", javascript: bool = True) -> Page:
        context = browser.new_context(base_url=service.url, viewport=DESKTOP, accept_downloads=True,
                                      java_script_enabled=javascript)
        contexts.append(context)
        context.add_cookies([{"name": "strongroom_lang", "value": lang, "url": f"{service.url}/web/"}])
        page = context.new_page()
        page.set_default_timeout(20_000)
        if user is not None:
            login(page, user, PASSWORDS[user][1])
            page.wait_for_url("**/web/records")
        return page

    yield open_page
    for context in contexts:
        context.close()


def login(page: Page, user: str, password: str) -> None:
    page.goto("/web/login")
    page.locator("#name").fill(user)
    page.locator("#password").fill(password)
    page.locator("form button[type=submit]").click()


def nav(page: Page, name: str) -> None:
    page.get_by_role("navigation", name="Main").get_by_role("link", name=name, exact=True).click()


def csrf_token(page: Page) -> str:
    return page.locator("input[name=csrf_token]").first.get_attribute("value") or ""


def file_via_api(service: Service, user: str, record_type: str, data: bytes, title: str) -> str:
    with service.client(user) as http:
        response = http.post("/records", params={"type": record_type, "title": title}, content=data,
                             headers={"Content-Type": "application/octet-stream"})
    assert response.status_code == 201, response.text
    return str(response.json()["name"])


def request_via_api(service: Service, user: str, name: str) -> int:
    with service.client(user) as http:
        response = http.post("/access/requests", json={"record": name, "reason": "quarterly review", "days": 3})
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def download(page: Page, link_name: str) -> bytes:
    with page.expect_download() as info:
        page.get_by_role("link", name=link_name).click()
    path = info.value.path()
    return Path(path).read_bytes()


def search_until_found(page: Page, query: str, *names: str, notice: str = "") -> None:
    """Search until every name is among the hits (and ``notice`` is on the page): the service indexes a filing
    just after it, in its own thread."""
    hits = page.locator("ol.hits")
    for _ in range(50):
        page.get_by_label("Search for").fill(query)
        page.get_by_role("button", name="Search", exact=True).click()
        if hits.count() and all(name in hits.inner_text() for name in names) and notice in page.inner_text("main"):
            return
        time.sleep(0.2)
    raise AssertionError(f"{names} {notice!r} not found by {query!r}")


# -- the core flow -----------------------------------------------------------------------


def test_staff_files_a_contract_asks_to_amend_it_and_reads_and_amends_it_once_the_director_approves(
    open_as: Open,
) -> None:
    sam = open_as("sam")
    nav(sam, "Upload")
    sam.get_by_label("Type").select_option("contract")
    sam.get_by_label("Title").fill("Lease, branch 3")
    sam.get_by_label("File").set_input_files(files=[{"name": "lease.pdf", "mimeType": "application/pdf",
                                                     "buffer": CONTRACT}])
    sam.get_by_role("button", name="Upload and file").click()
    filed = sam.locator(".filed-name")
    filed.wait_for()
    name = filed.inner_text()
    assert NAME.fullmatch(name), name

    nav(sam, "Archive")
    row = sam.locator("tr", has=sam.get_by_role("link", name=name))
    assert "(not shown)" in row.inner_text() and "Lease" not in row.inner_text()  # contracts: the director's

    row.get_by_role("link", name=name).click()
    assert "You may not see this record" in sam.content()
    assert sam.get_by_role("link", name="Download v1").count() == 0
    assert sam.get_by_label("Read this record").is_checked()
    sam.get_by_label("Read it and file new versions (such as the signed copy)").check()
    sam.get_by_label("Reason").fill("loan review for branch 3")
    sam.get_by_label("Days").fill("2")
    sam.get_by_role("button", name="Send request").click()
    sent = sam.get_by_role("status")
    assert re.search(r"Request #\d+ sent", sent.inner_text())

    dora = open_as("dora")
    nav(dora, "Access")
    request = dora.locator("article.request", has_text=name)
    assert "loan review for branch 3" in request.inner_text() and "sam" in request.inner_text()
    assert "Purpose: amend (read and file new versions)" in request.inner_text()
    request.get_by_label("Days").fill("1")
    request.get_by_role("button", name="Approve").click()
    dora.wait_for_url("**/web/access")
    assert dora.locator("article.request", has_text=name).count() == 0
    grant = dora.locator("tr", has_text=name)
    assert "sam" in grant.inner_text() and "amend" in grant.inner_text()

    sam.reload()
    assert download(sam, "Download v1") == CONTRACT
    assert hashlib.sha256(CONTRACT).hexdigest() in sam.locator("table.versions").inner_text()

    sam.get_by_label("Comment").fill("signed")
    sam.get_by_label("File").set_input_files(files=[{"name": "lease-signed.pdf", "mimeType": "application/pdf",
                                                     "buffer": CONTRACT_SIGNED}])
    sam.get_by_role("button", name="Upload new version").click()
    sam.get_by_text("Version 2 filed.").wait_for()
    assert download(sam, "Download v2") == CONTRACT_SIGNED
    assert download(sam, "Download v1") == CONTRACT
    history = sam.locator("table.versions").inner_text()
    assert "archived" in history and "current" in history and "signed" in history


def test_the_archive_table_filters_by_type_and_year_and_pages(open_as: Open, service: Service) -> None:
    with service.client("sam") as http:
        for number in range(51):
            response = http.post("/records", params={"type": "other", "year": 2019, "title": f"old note {number}"},
                                 content=b"note\n", headers={"Content-Type": "application/octet-stream"})
            assert response.status_code == 201, response.text
    sam = open_as("sam")
    sam.get_by_label("Type").select_option("other")
    sam.get_by_label("Year").fill("2019")
    sam.get_by_role("button", name="Filter").click()
    assert sam.get_by_text("51 records").is_visible()
    rows = sam.locator("table.cards tbody tr")
    assert rows.count() == 50 and "2019-0051-other" in rows.first.inner_text()  # newest first
    sam.get_by_role("link", name="Next").click()
    assert sam.get_by_text("Page 2 of 2").is_visible()
    assert rows.count() == 1 and "2019-0001-other" in rows.first.inner_text() and "old note 0" in rows.first.inner_text()
    assert sam.get_by_label("Year").input_value() == "2019"


def test_upload_without_javascript_streams_the_same_form(open_as: Open, service: Service) -> None:
    sam = open_as("sam", javascript=False)
    sam.goto("/web/upload")
    data = "会议纪要 minutes of the weekly meeting\n".encode() * 50_000  # about 2 MB: streamed, not one read
    sam.get_by_label("Type").select_option("minutes")
    sam.get_by_label("File").set_input_files(files=[{"name": "纪要.txt", "mimeType": "text/plain", "buffer": data}])
    sam.get_by_role("button", name="Upload and file").click()
    name = sam.locator(".filed-name").inner_text()
    with service.client("sam") as http:
        body = http.get(f"/records/{name}/content")
    assert body.status_code == 200 and body.content == data
    assert body.headers["X-Strongroom-Filename"] == "%E7%BA%AA%E8%A6%81.txt"


def test_a_hidden_button_is_not_protection_staff_posting_the_approve_form_gets_403(
    open_as: Open, service: Service,
) -> None:
    name = file_via_api(service, "dora", "contract", b"supplier contract\n", "Supplier")
    request_id = request_via_api(service, "sam", name)
    sam = open_as("sam")
    sam.goto("/web/access")
    assert sam.get_by_role("button", name="Approve").count() == 0
    refused = sam.request.post(f"/web/access/requests/{request_id}/approve",
                               form={"csrf_token": csrf_token(sam), "days": "5"}, max_redirects=0)
    assert refused.status == 403
    assert "may not grant" in refused.text()
    with service.client("dora") as http:
        pending = http.get("/access/requests", params={"scope": "pending"}).json()
        denied = http.get("/audit/events", params={"action": "access.approve", "user": "sam"}).json()
    assert request_id in [item["id"] for item in pending]
    assert [event["outcome"] for event in denied] == ["denied"]


def test_a_post_without_the_right_csrf_token_is_refused(open_as: Open, service: Service) -> None:
    sam = open_as("sam")
    name = file_via_api(service, "dora", "contract", b"another contract\n", "Another")
    for form in ({"reason": "forged", "days": "3"}, {"reason": "forged", "days": "3", "csrf_token": "0" * 64}):
        refused = sam.request.post(f"/web/records/{name}/request", form=form, max_redirects=0)
        assert refused.status == 403 and "did not come from this site" in refused.text()
    forged_logout = sam.request.post("/web/logout", form={"csrf_token": "x"}, max_redirects=0)
    assert forged_logout.status == 403
    assert sam.request.get("/web/records", max_redirects=0).status == 200  # still logged in
    with service.client("sam") as http:
        assert all(item["record"] != name for item in http.get("/access/requests").json())
    login_page = httpx.post(f"{service.url}/web/login", data={"name": "sam", "password": PASSWORDS["sam"][1],
                                                              "csrf_token": "guess"})
    assert login_page.status_code == 403 and "strongroom_session" not in login_page.headers.get("set-cookie", "")


def test_session_cookie_is_httponly_strict_and_logout_revokes_its_token(open_as: Open, service: Service) -> None:
    alice = open_as("alice")
    cookie = next(c for c in alice.context.cookies() if c["name"] == "strongroom_session")
    assert cookie["httpOnly"] is True
    assert cookie["sameSite"] == "Strict"
    assert cookie["path"] == "/web"
    assert cookie["secure"] is False  # plain HTTP on loopback; Secure over TLS (test_web_units)
    assert alice.evaluate("document.cookie").find("strongroom_session") == -1
    token = cookie["value"]
    assert httpx.get(f"{service.url}/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200

    alice.get_by_role("button", name="Log out").click()
    alice.wait_for_url("**/web/login")
    assert httpx.get(f"{service.url}/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert not [c for c in alice.context.cookies() if c["name"] == "strongroom_session"]
    alice.goto("/web/records")
    assert alice.url.endswith("/web/login")


def test_a_one_time_password_must_be_changed_before_anything_else(open_as: Open, service: Service) -> None:
    nina = open_as(None)
    login(nina, "nina", service.tokens["nina-one-time"])
    nina.wait_for_url("**/web/password")
    nina.goto("/web/records")
    assert nina.url.endswith("/web/password")
    nina.get_by_label("Current password").fill(service.tokens["nina-one-time"])
    nina.get_by_label("New password", exact=True).fill("n1na-chosen-pw")
    nina.get_by_label("New password again").fill("n1na-chosen-pw")
    nina.get_by_role("button", name="Change password").click()
    nina.wait_for_url("**/web/records")
    assert nina.get_by_role("heading", name="Archive").is_visible()


def test_the_default_language_is_chinese_and_can_be_switched(browser: Browser, service: Service) -> None:
    context = browser.new_context(base_url=service.url)
    try:
        page = context.new_page()
        page.goto("/web/login")
        assert page.locator("html").get_attribute("lang") == "zh-CN"
        assert page.get_by_role("heading", name="登录").is_visible()
        page.get_by_role("link", name="English").click()
        assert page.get_by_role("heading", name="Log in").is_visible()
        assert page.locator("html").get_attribute("lang") == "en"
    finally:
        context.close()


def test_an_auditor_searches_and_reads_the_audit_trail(open_as: Open, service: Service) -> None:
    letter = file_via_api(service, "sam", "letter",
                          b"Customer letter: the backup plan, call 13812345678 for details.\n", "Backup plan")
    contract = file_via_api(service, "dora", "contract", b"Confidential backup plan contract terms\n", "Secret")
    alice = open_as("alice")
    nav(alice, "Search")
    search_until_found(alice, "backup plan", letter, notice="Records you may not read that also match (not listed): 1.")
    full = alice.locator("li.hit", has_text=letter)
    assert "Backup plan" in full.inner_text()
    assert full.locator("mark").count() >= 1
    assert "138****5678" in full.inner_text() and "13812345678" not in alice.content()
    assert contract not in alice.content() and "Secret" not in alice.content() and "Confidential" not in alice.content()
    alice.get_by_role("link", name="Go to the archive list").click()  # where a record is picked to ask for it
    alice.wait_for_url("**/web/records")
    alice.get_by_role("link", name=contract).click()
    assert alice.get_by_role("button", name="Send request").count() == 1
    nav(alice, "Search")
    search_until_found(alice, "title:secret", notice="this search left them out")  # fields: readable records only

    nav(alice, "Audit")
    alice.get_by_label("Event").fill("record.file")
    alice.get_by_role("button", name="Filter").click()
    events = alice.locator("table.events").inner_text()
    assert letter in events and contract in events and "record.read" not in events
    with alice.expect_download() as info:
        alice.get_by_role("link", name="Export CSV").click()
    rows = list(csv.DictReader(io.StringIO(Path(info.value.path()).read_text(encoding="utf-8"))))
    assert {row["record"] for row in rows} >= {letter, contract}
    assert {row["action"] for row in rows} == {"record.file"}
    alice.get_by_role("button", name="Verify the chain").click()
    assert "The chain is intact" in alice.locator("#chain-status").inner_text()


def test_compliance_lists_overdue_paperwork_and_generates_a_template(open_as: Open) -> None:
    dora = open_as("dora")
    nav(dora, "Compliance")
    assert "overdue" in dora.get_by_role("status").inner_text()
    overdue = dora.locator("tr.state-overdue", has_text="weekly").first
    assert "minutes" in overdue.inner_text()
    with dora.expect_download() as info:
        overdue.get_by_role("link", name="Generate template").click()
    assert info.value.suggested_filename.startswith("minutes-weekly-")
    assert Path(info.value.path()).read_bytes()[:2] == b"PK"  # a .docx is a zip file

    adam = open_as("adam")  # the admin may list records but not read minutes or reports
    assert adam.get_by_role("navigation", name="Main").get_by_role("link", name="Compliance").count() == 0
    assert adam.goto("/web/compliance").status == 403  # type: ignore[union-attr]


# -- accessibility, narrow screens, screenshots ---------------------------------------------


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where screenshots go: ``$STRONGROOM_SCREENSHOTS`` (``make screenshots``), else a temporary directory."""
    chosen = os.environ.get("STRONGROOM_SCREENSHOTS")
    folder = Path(chosen) if chosen else tmp_path_factory.mktemp("screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def check_page(page: Page, shot: Path) -> None:
    """axe-core finds no label or contrast problem; nothing scrolls sideways at 375 px; a screenshot ``shot``."""
    results = Axe().run(page)
    violations = results.response["violations"]
    required = [v for v in violations if v["id"] in REQUIRED_RULES]
    assert not required, [(v["id"], [n["target"] for n in v["nodes"]]) for v in required]
    for other in violations:
        warnings.warn(f"{shot.stem}: axe {other['id']}: {other['help']}", stacklevel=2)
    page.screenshot(path=str(shot))
    page.set_viewport_size({"width": 375, "height": 800})
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"{shot.stem}: {overflow} px of horizontal scroll at 375 px"
    page.set_viewport_size(DESKTOP)


def test_main_pages_pass_axe_fit_375_px_and_are_photographed(open_as: Open, service: Service, screenshots: Path) -> None:
    contract = file_via_api(service, "sam", "contract", CONTRACT, "Lease, branch 7")
    approved = request_via_api(service, "sam", contract)
    with service.client("dora") as http:
        assert http.post(f"/access/requests/{approved}/approve", json={"days": 3}).status_code == 200
    pending = file_via_api(service, "dora", "contract", b"framework agreement\n", "Framework agreement")
    letter = file_via_api(service, "sam", "letter", b"Tenant's letter on the lease of branch 7: please call "
                          b"13812345678 or write to tenant@example.com.\n", "Lease letter, branch 7")
    request_via_api(service, "sam", pending)

    anonymous = open_as(None)
    anonymous.goto("/web/login")
    check_page(anonymous, screenshots / "login.png")
    chinese = open_as("sam", lang="zh")
    check_page(chinese, screenshots / "records-zh.png")
    sam = open_as("sam")
    check_page(sam, screenshots / "records.png")
    sam.set_viewport_size({"width": 375, "height": 760})
    sam.screenshot(path=str(screenshots / "records-375.png"))
    sam.set_viewport_size(DESKTOP)
    sam.goto("/web/upload")
    check_page(sam, screenshots / "upload.png")
    sam.goto(f"/web/records/{contract}")
    check_page(sam, screenshots / "record.png")
    sam.goto(f"/web/records/{pending}")
    check_page(sam, screenshots / "request-access.png")
    dora = open_as("dora")
    dora.goto("/web/access")
    check_page(dora, screenshots / "access.png")
    dora.goto("/web/compliance")
    check_page(dora, screenshots / "compliance.png")
    alice = open_as("alice")
    alice.goto("/web/search")
    search_until_found(alice, "lease", letter, notice="(not listed)")
    check_page(alice, screenshots / "search.png")
    alice.goto("/web/audit")
    check_page(alice, screenshots / "audit.png")
