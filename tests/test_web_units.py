"""The web interface's parts that need no browser: the catalogue, CSRF tokens, cookies, streamed uploads."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import anyio.to_thread
import pytest
from starlette.requests import Request
from starlette.responses import Response

from archive.errors import ConfigError, UsageError
from config.settings import CONFIG_FILE, load_settings
from web import csrf
from web.i18n import catalogue
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
