"""The CLI's HTTP backend on its own: query encoding, an unreachable service, and downloads that lie.

The real service never sends a body that differs from its announced SHA-256 or stops
short of its length, so a small stdlib HTTP server plays a misbehaving service here; the
client must refuse its bytes. Everything else about the client is tested against the real
service (tests/test_service.py and the other *_service modules).
"""

from __future__ import annotations

import hashlib
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from client.remote import RemoteArchive, _query
from errors import IntegrityError, StrongroomError, UsageError

BODY = b"the minutes of the meeting" * 100


def test_query_parameters_are_sent_as_the_api_reads_them() -> None:
    assert _query({"all": True, "inactive": False, "year": 2026, "type": "contract", "seed": None}) == {
        "all": "true", "inactive": "false", "year": "2026", "type": "contract",
    }


@pytest.mark.parametrize("url", ["notaurl", "ftp://archive.example", "http://[::1", "http://exa mple.com", "https://"])
def test_a_server_that_is_not_an_http_url_is_a_usage_error(url: str) -> None:
    with pytest.raises(UsageError, match="must be an http:// or https:// URL"):
        RemoteArchive(url)


def test_the_service_url_keeps_its_path_without_a_trailing_slash() -> None:
    assert RemoteArchive("https://archive.example:8443/strongroom/").url == "https://archive.example:8443/strongroom"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_an_unreachable_service_is_one_clear_error_without_the_token() -> None:
    url = f"http://127.0.0.1:{_free_port()}"
    remote = RemoteArchive(url, "secret-token-value")
    with pytest.raises(StrongroomError) as raised:
        remote.me()
    assert f"cannot reach the Strongroom service at {url}" in str(raised.value)
    assert "secret-token-value" not in str(raised.value)


class _Liar(BaseHTTPRequestHandler):
    """Announces BODY's size and SHA-256, then sends other bytes (``/altered``) or too few (``/short``)."""

    def do_GET(self) -> None:
        body = BODY[:-1] + b"!" if self.path.startswith("/records/altered") else BODY[: len(BODY) // 2]
        self.send_response(200)
        for header, value in [
            ("Content-Length", str(len(BODY))), ("X-Strongroom-Name", "2026-0001-minutes"),
            ("X-Strongroom-Version", "1"), ("X-Strongroom-SHA256", hashlib.sha256(BODY).hexdigest()),
        ]:
            self.send_header(header, value)
        self.end_headers()
        self.wfile.write(body)
        self.close_connection = True

    def log_message(self, *args: object) -> None:
        """Quiet."""


@pytest.fixture
def liar() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Liar)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize(("path", "message"), [("altered", "does not match its SHA-256"), ("short", "cut off")])
def test_a_download_that_differs_from_what_was_announced_is_refused(liar: str, path: str, message: str) -> None:
    remote = RemoteArchive(liar, "token")
    info, chunks = remote.open_version(path)
    assert (info.name, info.version, info.size) == ("2026-0001-minutes", 1, len(BODY))
    with pytest.raises(IntegrityError, match=message):
        for _ in chunks:
            pass
    remote.close()
