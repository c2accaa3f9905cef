"""The HTTP client behind the CLI's ``--server`` mode: same calls and results as the local backend."""

from __future__ import annotations

import hashlib
import io
import os
import ssl
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any, BinaryIO
from urllib.parse import quote, unquote, urlencode

import urllib3

from access.grants import GrantView
from access.requests import RequestView
from archive.filing import Filed
from archive.records import RecordView, VersionView
from audit.trail import Event
from audit.verify import AuditReport
from errors import (
    Conflict,
    Forbidden,
    IntegrityError,
    NotFound,
    StrongroomError,
    Unauthenticated,
    UsageError,
)
from retention.disposal import Certificate, DisposalView
from retention.holds import HoldView
from retention.status import RetentionView
from search.results import AuditSample, IndexStatus, SearchResults
from storage.s3 import LockProbe

UPLOAD_BLOCK = 1024 * 1024
DOWNLOAD_BLOCK = 1024 * 1024
TIMEOUT = urllib3.Timeout(connect=60.0, read=60.0)
ERRORS: dict[int, type[StrongroomError]] = {
    400: UsageError, 401: Unauthenticated, 403: Forbidden, 404: NotFound, 409: Conflict, 422: UsageError,
}


@dataclass(frozen=True)
class Download:
    """What the server said about the version it is sending."""

    name: str
    version: int
    size: int
    sha256: str
    filename: str | None

    @property
    def label(self) -> str:
        return f"{self.name} v{self.version}"


def _remaining(source: BinaryIO) -> int | None:
    """Bytes left in a regular file or an in-memory buffer; None for a pipe or anything unknown."""
    if isinstance(source, io.BytesIO):
        return len(source.getbuffer()) - source.tell()
    try:
        info = os.fstat(source.fileno())
        return info.st_size - source.tell() if stat.S_ISREG(info.st_mode) else None
    except (AttributeError, OSError, io.UnsupportedOperation):
        return None


def upload_body(source: BinaryIO) -> bytes | Iterator[bytes]:
    """A small file or buffer is sent whole, with its length; anything else streams in blocks."""
    remaining = _remaining(source)
    if remaining is not None and remaining <= UPLOAD_BLOCK:
        return source.read()
    return _blocks(source)


def _blocks(source: BinaryIO) -> Iterator[bytes]:
    while block := source.read(UPLOAD_BLOCK):
        yield block


class RemoteArchive:
    """Calls the Strongroom HTTP API with a bearer token; errors come back as the same one-line errors.

    urllib3 (also minio's HTTP client) carries the requests: for a small download its
    per-request work is about half a millisecond less than httpx's (docs/benchmarks.md).
    No retries and no redirects: a failed call is reported, never silently sent twice.
    """

    def __init__(self, url: str, token: str | None = None, *, ca_cert: str | None = None) -> None:
        self.url = _service_url(url)
        self._headers = {"Authorization": f"Bearer {token}"} if token else {}
        context = ssl.create_default_context(cafile=ca_cert) if ca_cert else None
        self.http = urllib3.PoolManager(num_pools=1, retries=False, timeout=TIMEOUT, ssl_context=context)

    def close(self) -> None:
        self.http.clear()

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self._send(method, path, **kwargs)
        self._check(response)
        return response.json()

    def _send(
        self, method: str, path: str, *, params: dict[str, Any] | None = None, json: Any = None,
        content: bytes | Iterator[bytes] | None = None, headers: dict[str, str] | None = None, stream: bool = False,
    ) -> urllib3.BaseHTTPResponse:
        """One request; a body that is an iterator goes chunked. ``stream`` leaves the response body unread."""
        url = self.url + path + (f"?{urlencode(_query(params))}" if params else "")
        try:
            return self.http.request(method, url, body=content, json=json, headers={**self._headers, **(headers or {})},
                                     preload_content=not stream, redirect=False)
        except urllib3.exceptions.HTTPError as exc:
            raise StrongroomError(f"cannot reach the Strongroom service at {self.url}: {type(exc).__name__}") from None

    @staticmethod
    def _check(response: urllib3.BaseHTTPResponse) -> None:
        if 200 <= response.status < 300:
            return
        try:
            message = str(response.json().get("error") or response.reason)
        except (ValueError, AttributeError):
            message = response.reason or f"HTTP {response.status}"
        raise ERRORS.get(response.status, StrongroomError)(message)

    def login(self, name: str, password: str) -> dict[str, Any]:
        return self._call("POST", "/auth/login", json={"name": name, "password": password})

    def logout(self) -> None:
        self._call("POST", "/auth/logout")

    def change_password(self, old: str, new: str) -> int:
        """Change the password; returns how many other sessions ended (this login stays)."""
        answer = self._call("POST", "/auth/password", json={"old_password": old, "new_password": new})
        return int(answer.get("sessions_ended", 0))

    def me(self) -> dict[str, Any]:
        return self._call("GET", "/me")

    def file_new(
        self, source: BinaryIO, *, record_type: str, year: int, title: str | None, filename: str | None,
        retain_from: date | None = None,
    ) -> Filed:
        params = {"type": record_type, "year": year, "title": title, "filename": filename,
                  "retain_from": retain_from.isoformat() if retain_from else None}
        data = self._call("POST", "/records", params=_present(params), content=upload_body(source),
                          headers={"Content-Type": "application/octet-stream"})
        return Filed(**data)

    def file_new_version(self, name: str, source: BinaryIO, *, filename: str | None, comment: str | None) -> Filed:
        data = self._call("POST", f"/records/{quote(name)}/versions", params=_present(
            {"filename": filename, "comment": comment}), content=upload_body(source),
            headers={"Content-Type": "application/octet-stream"})
        return Filed(**data)

    def open_version(self, name: str, version: int | None = None) -> tuple[Download, Iterator[bytes]]:
        """Start a download; the iterator raises IntegrityError if the bytes do not match the announced SHA-256."""
        response = self._send("GET", f"/records/{quote(name)}/content", params=_present({"version": version}),
                              stream=True)
        if not 200 <= response.status < 300:
            response.read(cache_content=True)  # the error's JSON body, for _check
            response.release_conn()
            self._check(response)
        headers = response.headers
        filename = headers.get("X-Strongroom-Filename")
        info = Download(
            name=headers["X-Strongroom-Name"], version=int(headers["X-Strongroom-Version"]),
            size=int(headers["Content-Length"]), sha256=headers["X-Strongroom-SHA256"],
            filename=unquote(filename) if filename else None,
        )
        return info, _checked(response, info)

    def show(self, name: str) -> tuple[RecordView, list[VersionView]]:
        data = self._call("GET", f"/records/{quote(name)}")
        return RecordView(**data["record"]), [VersionView(**v) for v in data["versions"]]

    def listing(self, *, record_type: str | None = None, year: int | None = None, include_all: bool = False) -> list[RecordView]:
        data = self._call("GET", "/records", params=_present({"type": record_type, "year": year, "all": include_all or None}))
        return [RecordView(**item) for item in data]

    def request(self, name: str, reason: str, days: int | None, purpose: str) -> RequestView:
        form = {"record": name, "reason": reason, "days": days, "purpose": purpose}
        return RequestView(**self._call("POST", "/access/requests", json=form))

    def mine(self) -> list[RequestView]:
        return [RequestView(**item) for item in self._call("GET", "/access/requests", params={"scope": "mine"})]

    def pending(self) -> list[RequestView]:
        return [RequestView(**item) for item in self._call("GET", "/access/requests", params={"scope": "pending"})]

    def approve(self, request_id: int, days: int | None) -> GrantView:
        return GrantView(**self._call("POST", f"/access/requests/{request_id}/approve", json={"days": days}))

    def deny(self, request_id: int, reason: str) -> RequestView:
        return RequestView(**self._call("POST", f"/access/requests/{request_id}/deny", json={"reason": reason}))

    def revoke(self, grant_id: int) -> GrantView:
        return GrantView(**self._call("DELETE", f"/access/grants/{grant_id}"))

    def list_grants(self, *, include_inactive: bool) -> list[GrantView]:
        data = self._call("GET", "/access/grants", params={"inactive": include_inactive})
        return [GrantView(**item) for item in data]

    def retention_show(self, name: str) -> RetentionView:
        return RetentionView(**self._call("GET", f"/retention/records/{quote(name)}"))

    def retention_due(self) -> list[RetentionView]:
        return [RetentionView(**item) for item in self._call("GET", "/retention/due")]

    def retention_trigger(self, name: str, day: date, reason: str) -> RetentionView:
        body = {"date": day.isoformat(), "reason": reason}
        return RetentionView(**self._call("POST", f"/retention/records/{quote(name)}/trigger", json=body))

    def retention_dispose(self, names: list[str], reason: str) -> DisposalView:
        return DisposalView(**self._call("POST", "/retention/disposals", json={"records": names, "reason": reason}))

    def retention_requests(self, *, pending_only: bool) -> list[DisposalView]:
        data = self._call("GET", "/retention/disposals", params={"all": not pending_only})
        return [DisposalView(**item) for item in data]

    def retention_approve(self, request_id: int) -> DisposalView:
        return DisposalView(**self._call("POST", f"/retention/disposals/{request_id}/approve"))

    def retention_deny(self, request_id: int, reason: str) -> DisposalView:
        return DisposalView(**self._call("POST", f"/retention/disposals/{request_id}/deny", json={"reason": reason}))

    def retention_certificate(self, name: str) -> Certificate:
        return Certificate(**self._call("GET", f"/retention/certificates/{quote(name)}"))

    def hold_place(self, name: str, reason: str) -> HoldView:
        return HoldView(**self._call("POST", "/holds", json={"record": name, "reason": reason}))

    def hold_release(self, name: str, reason: str | None) -> HoldView:
        return HoldView(**self._call("POST", f"/holds/{quote(name)}/release", json={"reason": reason}))

    def hold_list(self, *, include_released: bool) -> list[HoldView]:
        return [HoldView(**item) for item in self._call("GET", "/holds", params={"all": include_released})]

    def delete(self, name: str) -> None:
        self._call("DELETE", f"/records/{quote(name)}")

    def audit_log(self, **filters: Any) -> list[Event]:
        params = _present({key: (value.isoformat() if hasattr(value, "isoformat") else value) for key, value in filters.items()})
        return [Event(**item) for item in self._call("GET", "/audit/events", params=params)]

    def audit_verify(self) -> AuditReport:
        data = self._call("GET", "/audit/verify")
        lock = data.get("lock")
        return AuditReport(**{**data, "lock": LockProbe(**lock) if lock else None})

    def search(
        self, query: str, *, record_type: str | None = None, year: int | None = None, date_from: date | None = None,
        date_to: date | None = None, limit: int = 20, all_versions: bool = False,
    ) -> SearchResults:
        params = _present({
            "q": query, "type": record_type, "year": year, "from": date_from.isoformat() if date_from else None,
            "to": date_to.isoformat() if date_to else None, "limit": limit, "all_versions": all_versions or None,
        })
        return SearchResults.from_dict(self._call("GET", "/search", params=params))

    def index_status(self, name: str) -> IndexStatus:
        return IndexStatus(**self._call("GET", f"/records/{quote(name)}/index"))

    def audit_sample(self, record_type: str, quarter: str, n: int, seed: str | None) -> AuditSample:
        params = _present({"type": record_type, "quarter": quarter, "n": n, "seed": seed})
        return AuditSample.from_dict(self._call("GET", "/audit/sample", params=params))


def _present(params: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in params.items() if value is not None}


def _service_url(url: str) -> str:
    """The service's base URL without a trailing slash; UsageError unless it is http(s)://HOST[:PORT][/PATH]."""
    try:
        parsed = urllib3.util.parse_url(url)
    except urllib3.exceptions.LocationParseError:
        parsed = None
    if parsed is None or parsed.scheme not in ("http", "https") or not parsed.host:
        raise UsageError(f"--server must be an http:// or https:// URL, not {url!r}")
    return url.rstrip("/")


def _query(params: dict[str, Any]) -> dict[str, str]:
    """Query parameters as the API reads them: booleans as ``true``/``false``, None left out."""
    return {key: ("true" if value else "false") if isinstance(value, bool) else str(value)
            for key, value in params.items() if value is not None}


def _checked(response: urllib3.BaseHTTPResponse, info: Download) -> Iterator[bytes]:
    digest, size = hashlib.sha256(), 0
    try:
        for chunk in response.stream(DOWNLOAD_BLOCK):
            digest.update(chunk)
            size += len(chunk)
            yield chunk
    except urllib3.exceptions.HTTPError:
        raise IntegrityError(f"download of {info.label} was cut off after {size} bytes") from None
    finally:
        response.release_conn()
    if size != info.size or digest.hexdigest() != info.sha256:
        raise IntegrityError(f"download of {info.label} does not match its SHA-256 (got {size} of {info.size} bytes)")
