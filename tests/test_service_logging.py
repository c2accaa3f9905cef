"""What the running service prints: one line per client gone mid-request or internal error, details in the log file.

Item 14 of issue 14: a client disconnecting mid-upload and an internal error each printed
"Exception in ASGI application" and a traceback on the service's stderr.
"""

from __future__ import annotations

import os
import re
import socket
import sqlite3
import time
from collections.abc import Iterator

import pytest

from config.settings import Settings
from tests.conftest import make_home
from tests.service_helpers import Service, start_with_users

PASSWORDS = {"sam": ("staff", "st4ff-secret-pw"), "dora": ("director", "d1rector-secret-pw")}
DECLARED = 40 * 1024 * 1024


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory, s3_server: Settings) -> Iterator[Service]:
    home = make_home(tmp_path_factory.mktemp("logging") / "home", s3_server)
    running = start_with_users(home, PASSWORDS)
    yield running
    assert running.stop() == 0, running.stdout()


def output_after(service: Service, mark: int, wait_for: str | None = None, times: int = 1) -> str:
    """What the service printed since ``mark`` characters, once ``wait_for`` shows up ``times`` (or 15 s pass)."""
    deadline = time.monotonic() + 15
    while True:
        printed = service.stdout()[mark:]
        if (wait_for is not None and printed.count(wait_for) >= times) or time.monotonic() > deadline:
            return printed
        time.sleep(0.2)


def connect(service: Service) -> socket.socket:
    return socket.create_connection(("127.0.0.1", int(service.url.rsplit(":", 1)[1])))


def send_and_hang_up(service: Service, head: str, body_start: bytes) -> None:
    """Send a request head announcing DECLARED bytes of body, a part of the body, then close the connection."""
    with connect(service) as sock:
        sock.sendall(head.encode() + body_start + os.urandom(3 * 1024 * 1024))
        time.sleep(0.5)


def no_traceback(printed: str) -> None:
    assert "Traceback" not in printed and "Exception in ASGI application" not in printed, printed


def void_reasons(service: Service) -> list[str]:
    with sqlite3.connect(service.home / "catalog.sqlite3") as db:
        return [row[0] for row in db.execute("SELECT void_reason FROM records WHERE state = 'void' ORDER BY id")]


def test_an_api_upload_cut_short_is_one_line_and_a_void_number(service: Service) -> None:
    mark = len(service.stdout())
    send_and_hang_up(service, (
        "POST /records?type=minutes&title=cut HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\n"
        f"Content-Length: {DECLARED}\r\nAuthorization: Bearer {service.tokens['sam']}\r\n\r\n"), b"")
    printed = output_after(service, mark, "cut short")
    no_traceback(printed)
    assert printed.splitlines() == [
        "strongroom: warning: POST /records from 127.0.0.1: the upload was cut short: the client disconnected"
    ]
    assert void_reasons(service)[-1] == "upload failed: the upload was cut short: the client disconnected"


def test_a_web_upload_cut_short_is_one_line(service: Service) -> None:
    cookie = f"strongroom_session={service.tokens['sam']}"
    with service.client() as http:
        form = http.get("/web/upload", headers={"Cookie": cookie})
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert csrf, form.text
    boundary = "strongroom-test-boundary"
    fields = b"".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in (("csrf_token", csrf.group(1)), ("type", "minutes"))
    ) + f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.bin"\r\n\r\n'.encode()
    mark = len(service.stdout())
    send_and_hang_up(service, (
        f"POST /web/upload HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary={boundary}\r\n"
        f"Content-Length: {DECLARED}\r\nCookie: {cookie}\r\n\r\n"), fields)
    printed = output_after(service, mark, "cut short")
    no_traceback(printed)
    assert printed.splitlines() == [
        "strongroom: warning: POST /web/upload from 127.0.0.1: the upload was cut short: the client disconnected"
    ]


def test_a_download_cut_short_prints_at_most_one_line(service: Service) -> None:
    with service.client("sam") as http:
        filed = http.post("/records", params={"type": "minutes"}, content=os.urandom(30 * 1024 * 1024),
                          headers={"Content-Type": "application/octet-stream"})
    assert filed.status_code == 201, filed.text
    name = filed.json()["name"]
    mark = len(service.stdout())
    for path, auth in ((f"/records/{name}/content", f"Authorization: Bearer {service.tokens['sam']}"),
                       (f"/web/records/{name}/content", f"Cookie: strongroom_session={service.tokens['sam']}")):
        with connect(service) as sock:
            sock.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\n{auth}\r\n\r\n".encode())
            received = 0
            while received < 2 * 1024 * 1024:
                received += len(sock.recv(65536))
    printed = output_after(service, mark)
    no_traceback(printed)
    assert len(printed.splitlines()) <= 2, printed


def test_an_internal_error_is_one_line_with_the_traceback_in_the_log_file(service: Service) -> None:
    """A real fault: the catalog lost a table behind the service's back (run last: the service stays damaged)."""
    with service.client("sam") as http:
        filed = http.post("/records", params={"type": "minutes"}, content=b"minutes",
                          headers={"Content-Type": "application/octet-stream"})
    assert filed.status_code == 201, filed.text
    with sqlite3.connect(service.home / "catalog.sqlite3") as db:
        db.execute("DROP TABLE holds")
    log_file = service.home / "logs" / "strongroom.log"
    mark = len(service.stdout())
    with service.client("dora") as http:
        api = http.get("/holds")
        page = http.get(f"/web/records/{filed.json()['name']}", headers={
            "Cookie": f"strongroom_session={service.tokens['dora']}"})
    assert api.status_code == 500
    assert api.json() == {"error": "internal error (OperationalError); the service's log has the details"}
    assert page.status_code == 500 and "internal error (OperationalError)" in page.text
    printed = output_after(service, mark, "internal error", times=2)
    no_traceback(printed)
    assert printed.splitlines() == [f"strongroom: error: internal error (OperationalError); details in {log_file}"] * 2

    deadline = time.monotonic() + 10  # the file handler writes just after the one on stderr
    while "no such table" not in (details := log_file.read_text(encoding="utf-8")) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert "Exception in ASGI application" in details and "Traceback" in details
    assert "sqlite3.OperationalError: no such table: holds" in details
    assert log_file.stat().st_mode & 0o777 == 0o600
