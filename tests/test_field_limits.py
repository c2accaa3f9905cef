"""One limit per field, the same refusal everywhere: the local CLI, the API and the web pages (item 10 of issue 14).

A title over 500 characters used to be refused by the API (422) but accepted by the web form
and by the local CLI (which then printed it whole in 'ls'). Now the core refuses it, with the
same one-line message, exit 2 or HTTP 400, and nothing filed.
"""

from __future__ import annotations

import html
import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from config.settings import Settings
from tests.conftest import cli_process, make_home
from tests.service_helpers import Service, start_with_users

PASSWORDS = {"sam": ("staff", "st4ff-secret-pw"), "dora": ("director", "d1rector-secret-pw")}
BOUNDARY = "strongroom-test-boundary"
TOO_LONG_TITLE = "Lease, branch 3 " * 31 + "x" * 5  # 501 characters
TOO_LONG_COMMENT = "signed " * 285 + "x" * 6  # 2001
TOO_LONG_REASON = "loan review " * 166 + "x" * 9  # 2001
TOO_LONG_FILENAME = "scan-" * 50 + "x.pdf" + "x"  # 256
ESCAPE = "\x1b[2J\x1b[31m"  # clears a terminal that prints it


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory, s3_server: Settings) -> Iterator[Service]:
    home = make_home(tmp_path_factory.mktemp("limits") / "home", s3_server)
    running = start_with_users(home, PASSWORDS)
    yield running
    assert running.stop() == 0, running.stdout()


@pytest.fixture(scope="module")
def records(service: Service) -> dict[str, str]:
    """A minutes record sam may add versions to, and a contract sam may only ask to read."""
    names = {}
    for user, record_type in (("sam", "minutes"), ("dora", "contract")):
        with service.client(user) as http:
            filed = http.post("/records", params={"type": record_type}, content=b"text\n",
                              headers={"Content-Type": "application/octet-stream"})
        assert filed.status_code == 201, filed.text
        names[record_type] = filed.json()["name"]
    return names


def count_rows(service: Service) -> tuple[int, int, int]:
    with sqlite3.connect(service.home / "catalog.sqlite3") as db:
        return tuple(db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # type: ignore[return-value]
                     for table in ("records", "versions", "access_requests"))


def local(service: Service, *args: str, cwd: Path | None = None) -> str:
    """The local CLI on the service's home as sam: the one-line error it prints (exit 2)."""
    done = cli_process(service.home, *args, env={"STRONGROOM_USER": "sam"}, cwd=cwd)
    assert done.returncode == 2, (done.stdout, done.stderr)
    stderr = done.stderr.decode()
    assert stderr.startswith("strongroom: error: ") and stderr.count("\n") == 1, stderr
    return stderr.removeprefix("strongroom: error: ").rstrip("\n")


def api(response: httpx.Response) -> str:
    assert response.status_code == 400, response.text
    return str(response.json()["error"])


def web(response: httpx.Response) -> str:
    assert response.status_code == 400, response.text
    found = re.search(r'<p class="alert" role="alert">(.*?)</p>', response.text, re.DOTALL)
    assert found, response.text
    return html.unescape(found.group(1))


def csrf(service: Service, user: str, path: str) -> str:
    with service.client() as http:
        page = http.get(path, headers={"Cookie": f"strongroom_session={service.tokens[user]}"})
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found, page.text
    return found.group(1)


def web_upload(service: Service, path: str, fields: dict[str, str], filename: str) -> httpx.Response:
    """A multipart form as a browser sends it: the fields, then the file (its name as given)."""
    parts = [f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
             for name, value in {"csrf_token": csrf(service, "sam", "/web/upload"), **fields}.items()]
    parts.append(f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
                 "Content-Type: application/octet-stream\r\n\r\n".encode() + b"text\n\r\n")
    parts.append(f"--{BOUNDARY}--\r\n".encode())
    with service.client() as http:
        return http.post(path, content=b"".join(parts), headers={
            "Content-Type": f"multipart/form-data; boundary={BOUNDARY}",
            "Cookie": f"strongroom_session={service.tokens['sam']}"})


def api_file(service: Service, **params: str) -> httpx.Response:
    with service.client("sam") as http:
        return http.post("/records", params={"type": "minutes", **params}, content=b"text\n",
                         headers={"Content-Type": "application/octet-stream"})


def api_version(service: Service, name: str, **params: str) -> httpx.Response:
    with service.client("sam") as http:
        return http.post(f"/records/{name}/versions", params=params, content=b"text\n",
                         headers={"Content-Type": "application/octet-stream"})


@pytest.mark.parametrize(("title", "expected"), [
    (TOO_LONG_TITLE, "title is too long: 501 characters, at most 500"),
    (f"Minutes {ESCAPE}", "title contains a control character (U+001B at character 9)"),
])
def test_a_title_is_refused_alike_everywhere(service: Service, records: dict[str, str], tmp_path: Path,
                                             title: str, expected: str) -> None:
    before = count_rows(service)
    document = tmp_path / "minutes.txt"
    document.write_text("text\n")
    assert local(service, "put", str(document), "--type", "minutes", "--title", title) == expected
    assert api(api_file(service, title=title)) == expected
    assert web(web_upload(service, "/web/upload", {"type": "minutes", "title": title}, "minutes.txt")) == expected
    assert count_rows(service) == before  # no number taken, nothing half-written


@pytest.mark.parametrize(("comment", "expected"), [
    (TOO_LONG_COMMENT, "comment is too long: 2,001 characters, at most 2,000"),
    ("signed\nby both", "comment must be one line (a line break at character 7)"),
])
def test_a_comment_is_refused_alike_everywhere(service: Service, records: dict[str, str], tmp_path: Path,
                                               comment: str, expected: str) -> None:
    before, name = count_rows(service), records["minutes"]
    document = tmp_path / "minutes-v2.txt"
    document.write_text("text\n")
    assert local(service, "put", str(document), "--to", name, "--comment", comment) == expected
    assert api(api_version(service, name, comment=comment)) == expected
    assert web(web_upload(service, f"/web/records/{name}/versions", {"comment": comment}, "v2.txt")) == expected
    assert count_rows(service) == before


@pytest.mark.parametrize(("reason", "expected"), [
    (TOO_LONG_REASON, "reason is too long: 2,001 characters, at most 2,000"),
    (f"loan review{ESCAPE}", "reason contains a control character (U+001B at character 12)"),
])
def test_a_reason_is_refused_alike_everywhere(service: Service, records: dict[str, str],
                                              reason: str, expected: str) -> None:
    before, name = count_rows(service), records["contract"]
    assert local(service, "access", "request", name, "--reason", reason) == expected
    with service.client("sam") as http:
        assert api(http.post("/access/requests", json={"record": name, "reason": reason})) == expected
        form = http.post(f"/web/records/{name}/request",
                         data={"csrf_token": csrf(service, "sam", f"/web/records/{name}"), "reason": reason},
                         headers={"Cookie": f"strongroom_session={service.tokens['sam']}"})
    assert web(form) == expected
    with service.client("dora") as http:  # a director's reasons too: a legal hold here
        assert api(http.post("/holds", json={"record": name, "reason": reason})) == expected
    assert count_rows(service) == before


def test_a_file_name_is_refused_alike_everywhere(service: Service, records: dict[str, str], tmp_path: Path) -> None:
    before = count_rows(service)
    # A file's own name with a terminal escape in it: the local CLI takes the name from the file.
    odd = tmp_path / f"scan{ESCAPE}.pdf"
    odd.write_bytes(b"%PDF-1.4\n")
    expected = "file name contains a control character (U+001B at character 5)"
    assert local(service, "put", odd.name, "--type", "minutes", cwd=tmp_path) == expected
    assert api(api_file(service, filename=odd.name)) == expected
    assert web(web_upload(service, "/web/upload", {"type": "minutes"}, odd.name)) == expected
    # Too long: no file system here allows a 256-character name, so the CLI cannot send one; the others can.
    expected = "file name is too long: 256 characters, at most 255"
    assert api(api_file(service, filename=TOO_LONG_FILENAME)) == expected
    assert web(web_upload(service, "/web/upload", {"type": "minutes"}, TOO_LONG_FILENAME)) == expected
    assert count_rows(service) == before


def test_values_within_the_limits_are_filed_and_listed_on_one_line(service: Service) -> None:
    title = TOO_LONG_TITLE[:500]
    filed = api_file(service, title=f"  {title}  ", filename="minutes.txt")
    assert filed.status_code == 201, filed.text
    listed = cli_process(service.home, "ls", "--type", "minutes", env={"STRONGROOM_USER": "sam"})
    line = [row for row in listed.stdout.decode().splitlines() if row.startswith(filed.json()["name"])]
    assert len(line) == 1 and line[0].endswith(title)
