"""The web interface's parts that need no browser: the catalogue, CSRF tokens, cookies, streamed uploads,
and the upload form and record page in-process (no service, no browser)."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
import httpx
import pytest
from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import Response

from access.policy import AccessPolicy
from accounts.users import add_user, login
from archive.records import list_records
from archive.service import Archive
from audit.actor import Actor
from config.settings import CONFIG_FILE, load_settings
from errors import ConfigError, UsageError
from tests.conftest import cli
from web import csrf
from web.app import create_web_app
from web.i18n import LANGUAGE_COOKIE, catalogue
from web.search_page import Piece, pieces
from web.session import SESSION_COOKIE, start_session
from web.uploads import StreamedUpload

TEMPLATES = Path(__file__).resolve().parent.parent / "web" / "templates"
# Keys the templates build from data: t("role_" + viewer.role) and the like.
DYNAMIC = {
    "role_": ["director", "manager", "staff", "auditor", "admin"],
    "state_": ["active", "pending", "void"],
    "version_": ["current", "archived", "pending"],
    "request_": ["pending", "approved", "denied"],
    "purpose_": ["read", "amend"],
    "request_purpose_": ["read", "amend"],
    "compliance_": ["overdue", "late", "pending", "on_time"],
    "kind_": ["minutes", "report", "action"],
    "error_": ["400", "403", "404", "409", "503", "other"],
}


def template_keys() -> set[str]:
    used: set[str] = set()
    for template in TEMPLATES.glob("*.html"):
        used |= set(re.findall(r"""\bt\(\s*["']([a-z0-9_]+)["']""", template.read_text(encoding="utf-8")))
    for prefix, values in DYNAMIC.items():
        used.discard(prefix)
        used |= {prefix + value for value in values}
    return used


def test_every_text_the_templates_use_is_in_the_catalogue_in_both_languages() -> None:
    messages = catalogue()
    used = template_keys()
    assert len(used) > 100
    missing = sorted(key for key in used if key not in messages)
    assert not missing
    for key, texts in messages.items():
        assert set(texts) == {"zh", "en"}, key
        assert all(text.strip() for text in texts.values()), key
        assert set(re.findall(r"{(\w+)}", texts["zh"])) == set(re.findall(r"{(\w+)}", texts["en"])), key


def test_templates_have_no_user_text_outside_the_catalogue() -> None:
    """Text between tags is a template expression, a name, or punctuation; never words typed into the template."""
    for template in TEMPLATES.glob("*.html"):
        html = re.sub(r"{[{%#].*?[}%#]}", "", template.read_text(encoding="utf-8"), flags=re.DOTALL)
        html = re.sub(r"<(script|style)\b.*?</\1>", "", html, flags=re.DOTALL)
        words = [text.strip() for text in re.findall(r">([^<]+)<", html) if re.search(r"[A-Za-z\u4e00-\u9fff]{3,}", text)]
        assert set(words) <= {"SHA-256"}, (template.name, words)


def test_web_language_setting_defaults_to_chinese_and_is_checked(tmp_path: Path) -> None:
    assert load_settings(tmp_path, require_file=False).web.language == "zh"
    (tmp_path / CONFIG_FILE).write_text('[web]\nlanguage = "en"\n')
    assert load_settings(tmp_path).web.language == "en"
    (tmp_path / CONFIG_FILE).write_text('[web]\nlanguage = "fr"\n')
    with pytest.raises(ConfigError, match="web.language"):
        load_settings(tmp_path)


def test_csrf_token_belongs_to_its_session_and_key() -> None:
    key = csrf.new_key()
    token = csrf.token_for(key, "session-a")
    csrf.check_session(key, "session-a", token)
    for session, submitted, used_key in [("session-b", token, key), ("session-a", token, csrf.new_key()),
                                         ("session-a", "", key), ("session-a", None, key)]:
        with pytest.raises(csrf.CsrfRejected):
            csrf.check_session(used_key, session, submitted)
    assert "session-a" not in token and len(token) == 64
    csrf.check_login("abc", "abc")
    for cookie, submitted in [("abc", "abd"), (None, None), ("", ""), ("abc", None)]:
        with pytest.raises(csrf.CsrfRejected):
            csrf.check_login(cookie, submitted)


@pytest.mark.parametrize(("scheme", "secure"), [("https", True), ("http", False)])
def test_session_cookie_flags(scheme: str, secure: bool) -> None:
    request = Request({"type": "http", "scheme": scheme, "root_path": "/web", "path": "/web/login", "headers": [],
                       "query_string": b"", "server": ("archive.bank", 443)})
    response = Response()
    start_session(request, response, "the-token", "2026-11-20T18:00:00+00:00")
    header = response.headers["set-cookie"]
    assert header.startswith(f"{SESSION_COOKIE}=the-token;")
    assert "HttpOnly" in header and "SameSite=strict" in header and "Path=/web" in header
    assert "expires=Fri, 20 Nov 2026 18:00:00 GMT" in header
    assert ("Secure" in header) is secure


def test_snippet_pieces_mark_the_highlighted_spans_only() -> None:
    assert pieces("the backup plan", [(4, 10)]) == [Piece("the ", False), Piece("backup", True), Piece(" plan", False)]
    assert pieces("ab", [(0, 1), (0, 2), (5, 9)]) == [Piece("a", True), Piece("b", True)]
    assert pieces(None, []) == []


def form_body(boundary: str, parts: list[tuple[str, str | None, bytes]]) -> bytes:
    body = b""
    for name, filename, data in parts:
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename is not None else "")
        body += f"--{boundary}\r\nContent-Disposition: {disposition}\r\n\r\n".encode() + data + b"\r\n"
    return body + f"--{boundary}--\r\n".encode()


def parse(body: bytes, chunk: int, boundary: str = "XyZ") -> tuple[dict[str, str], str | None, bytes, int]:
    """Fields, file name and file bytes, and how many body chunks had been taken when the fields were known."""
    taken = 0

    async def stream() -> AsyncIterator[bytes]:
        nonlocal taken
        for start in range(0, len(body), chunk):
            taken += 1
            yield body[start:start + chunk]

    async def main() -> tuple[dict[str, str], str | None, bytes, int]:
        upload = StreamedUpload(stream(), f"multipart/form-data; boundary={boundary}")

        def work() -> tuple[dict[str, str], str | None, bytes, int]:
            fields = upload.fields()
            at_fields = taken
            data = b""
            while piece := upload.read(1000):
                data += piece
            return fields, upload.filename, data, at_fields

        return await anyio.to_thread.run_sync(work)

    return anyio.run(main)


def test_an_upload_form_streams_its_file_after_the_fields() -> None:
    document = bytes(range(256)) * 4000  # 1 MB, with every byte value (and CR LF) in it
    body = form_body("XyZ", [("csrf_token", None, b"t0ken"), ("title", None, "租赁合同".encode()),
                             ("file", "C:\\scans\\lease.pdf", document)])
    fields, filename, data, at_fields = parse(body, chunk=4096)
    assert fields == {"csrf_token": "t0ken", "title": "租赁合同"}
    assert filename == "lease.pdf"
    assert data == document
    assert at_fields < 3  # the fields were known long before the body was read


def test_an_upload_form_without_a_file_or_cut_short_is_refused() -> None:
    with pytest.raises(UsageError, match="choose a file"):
        parse(form_body("XyZ", [("csrf_token", None, b"t"), ("file", "", b"")]), chunk=64)
    with pytest.raises(UsageError, match="choose a file"):
        parse(form_body("XyZ", [("csrf_token", None, b"t")]), chunk=64)
    whole = form_body("XyZ", [("file", "a.txt", b"x" * 5000)])
    with pytest.raises(UsageError, match="cut short"):
        parse(whole[:3000], chunk=512)
    with pytest.raises(UsageError, match="multipart"):
        StreamedUpload(iter(()), "application/octet-stream")  # type: ignore[arg-type]


# -- pages in-process --------------------------------------------------------------------

WEB_USERS = {"dora": ("director", "d1rector-unit-pw"), "sam": ("staff", "st4ff-unit-pw")}


class Pages:
    """The web interface in-process (httpx's ASGI transport), as one logged-in user."""

    def __init__(self, app: FastAPI, token: str, lang: str) -> None:
        self.app = app
        self.token = token
        self.cookies = {SESSION_COOKIE: token, LANGUAGE_COOKIE: lang}

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        async def send() -> httpx.Response:
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app), base_url="http://archive.test",
                                         cookies=self.cookies) as client:
                return await client.request(method, path, **kwargs)

        return anyio.run(send)

    def get(self, path: str) -> httpx.Response:
        return self._send("GET", path)

    def upload(self, record_type: str, retain_from: str) -> httpx.Response:
        """The upload form posted as a browser does: the fields, then the file."""
        fields = {csrf.FIELD: csrf.token_for(self.app.state.csrf_key, self.token), "type": record_type,
                  "title": "Lease, branch 3", "year": "2024", "retain_from": retain_from}
        return self._send("POST", "/upload", data=fields, files={"file": ("lease.pdf", b"%PDF-1.4 lease")})

    def file(self, record_type: str, retain_from: str = "") -> str:
        filed = self.upload(record_type, retain_from)
        assert filed.status_code == 303, filed.text
        return filed.headers["location"].split("filed=")[1]

    def post(self, path: str, fields: dict[str, str]) -> httpx.Response:
        """A url-encoded form posted with the session's CSRF token."""
        return self._send("POST", path, data={csrf.FIELD: csrf.token_for(self.app.state.csrf_key, self.token),
                                              **fields})

    def new_version(self, name: str) -> httpx.Response:
        fields = {csrf.FIELD: csrf.token_for(self.app.state.csrf_key, self.token), "comment": "signed"}
        return self._send("POST", f"/records/{name}/versions", data=fields,
                          files={"file": ("signed.pdf", b"%PDF-1.4 signed")})


Browse = Callable[..., Pages]


@pytest.fixture
def browse(archive: Archive) -> Browse:
    """``browse(user, lang="en")``: the pages as that user, with a session of their own."""
    operator = Actor("test-operator", None, "cli")
    for name, (role, password) in WEB_USERS.items():
        add_user(archive, name, role, password, actor=operator)
    app = create_web_app(archive, AccessPolicy.load(archive.settings))

    def pages(user: str, lang: str = "en") -> Pages:
        return Pages(app, login(archive, user, WEB_USERS[user][1], source="test").token, lang)

    return pages


def test_an_upload_with_a_retain_from_date_counts_the_contract_from_it(browse: Browse, home: Path) -> None:
    sam = browse("sam")
    form = sam.get("/upload").text
    assert 'name="retain_from" type="date"' in form and "Retention counts from" in form
    name = sam.file("contract", "2024-12-31")
    shown = json.loads(cli(home, "retention", "show", name, "--json", "--as", "dora").output)
    assert (shown["retain_from"], shown["retain_until"]) == ("2024-12-31", "2034-12-31")
    assert "保存期限起算日（如合同终止日）" in browse("sam", lang="zh").get("/upload").text


def test_a_malformed_or_needless_retain_from_date_is_a_form_error_and_files_nothing(
    browse: Browse, archive: Archive
) -> None:
    sam = browse("sam")
    malformed = sam.upload("contract", "31.12.2024")
    assert malformed.status_code == 400
    assert "retain from must be a date YYYY-MM-DD" in malformed.text and 'role="alert"' in malformed.text
    needless = sam.upload("minutes", "2024-12-31")
    assert needless.status_code == 400 and "a retention start date does not apply" in needless.text
    with archive.catalog.read() as session:
        assert list_records(session, include_all=True) == []


def test_the_director_sees_a_record_s_retention_and_staff_do_not(browse: Browse) -> None:
    sam = browse("sam")
    contract, unknown, minutes = sam.file("contract", "2024-12-31"), sam.file("contract"), sam.file("minutes")
    dora = browse("dora")
    page = dora.get(f"/records/{contract}").text
    assert "<h2>Retention</h2>" in page and "2034-12-31" in page and "Write-once until" in page
    assert "Legal hold</dt><dd>no</dd>" in page
    assert "not known yet" in dora.get(f"/records/{unknown}").text
    assert "(end 2024-12-31 + 10 years)" in page
    in_chinese = browse("dora", lang="zh")
    zh_page = in_chinese.get(f"/records/{contract}").text
    assert "保存至</dt><dd>2034-12-31" in zh_page and "（自 2024-12-31 起算）" in zh_page.replace("(", "（").replace(")", "）")
    assert "end 2024" not in zh_page, "no English basis on the Chinese page"
    assert "起算日尚未给出" in in_chinese.get(f"/records/{unknown}").text
    for name, status in ((contract, 403), (minutes, 200)):
        shown = sam.get(f"/records/{name}")
        assert shown.status_code == status
        assert "Retention" not in shown.text and "2034-12-31" not in shown.text


def _request_id(response: httpx.Response) -> str:
    assert response.status_code == 303, response.text
    return response.headers["location"].split("requested=")[1]


def test_the_new_version_form_shows_where_a_version_may_be_filed_and_requests_state_a_purpose(
    browse: Browse, archive: Archive
) -> None:
    sam, dora = browse("sam"), browse("dora")
    contract, minutes = sam.file("contract"), sam.file("minutes")
    form = 'action="/records/{}/versions"'
    own_minutes = sam.get(f"/records/{minutes}").text
    assert form.format(minutes) in own_minutes and 'name="purpose"' not in own_minutes

    refused = sam.get(f"/records/{contract}")
    assert refused.status_code == 403 and form.format(contract) not in refused.text
    assert 'name="purpose" value="read" checked> Read this record' in refused.text
    assert 'name="purpose" value="amend"> Read it and file new versions' in refused.text
    assert sam.post(f"/records/{contract}/request", {"reason": "x", "days": "2", "purpose": "own"}).status_code == 400
    read = _request_id(sam.post(f"/records/{contract}/request", {"reason": "loan review", "days": "2"}))
    assert dora.post(f"/access/requests/{read}/approve", {"days": "2"}).status_code == 303

    readable = sam.get(f"/records/{contract}")
    assert readable.status_code == 200 and "Download v1" in readable.text
    assert form.format(contract) not in readable.text, "a read grant is read-only"
    assert "filing a new version needs the director" in readable.text
    assert 'value="read"' not in readable.text and 'name="purpose" value="amend" checked>' in readable.text
    hidden_button = sam.new_version(contract)
    assert hidden_button.status_code == 403 and "an amend grant" in hidden_button.text

    amend = _request_id(sam.post(f"/records/{contract}/request", {"reason": "signed copy", "purpose": "amend"}))
    director_view = dora.get("/access").text
    assert "Purpose: amend (read and file new versions)" in director_view
    assert dora.post(f"/access/requests/{amend}/approve", {"days": "1"}).status_code == 303
    amendable = sam.get(f"/records/{contract}").text
    assert form.format(contract) in amendable and 'name="purpose"' not in amendable
    filed = sam.new_version(contract)
    assert filed.status_code == 303 and filed.headers["location"].endswith("?filed=2")
    mine = sam.get(f"/records/{contract}").text
    assert "amend (read and file new versions) · approved" in mine and "read · approved" in mine

    assert 'name="purpose"' not in dora.get(f"/records/{contract}").text, "the director needs no request"


def test_the_access_page_shows_every_active_grant_to_the_director(browse: Browse) -> None:
    sam, dora = browse("sam"), browse("dora")
    contract = sam.file("contract")
    assert "No active grants." in dora.get("/access").text
    asked = _request_id(sam.post(f"/records/{contract}/request", {"reason": "signed copy", "purpose": "amend"}))
    assert dora.post(f"/access/requests/{asked}/approve", {}).status_code == 303
    table = dora.get("/access").text
    assert "All active grants" in table and "No active grants." not in table
    row = table[table.index("<tbody>"):table.index("</tbody>")]
    assert "sam" in row and contract in row and "amend (read and file new versions)" in row and "Revoke" in row
    own = sam.get("/access").text
    assert "My grants" in own and "All active grants" not in own and "Revoke" not in own
    assert "amend (read and file new versions) · until" in own
    assert "修订（查阅并上传新版本）" in browse("dora", lang="zh").get("/access").text
