"""Backup targets: an S3 bucket (any endpoint) or a local directory, behind one small interface.

A target only stores opaque files under keys (see :mod:`backup.layout`); everything it
holds is already encrypted or is a content digest, so the target is trusted with
availability only, like the archive's own bucket. Parsing a target URL is pure;
the two classes do the I/O.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

import urllib3
from minio import Minio
from minio.error import S3Error

from backup.layout import MARKER_FORMAT, MARKER_KEY
from config.settings import (
    BUCKET_PATTERN,
    LOOPBACK_HOSTS,
    S3Credentials,
    split_endpoint,
)
from errors import ConfigError, ObjectUnreadable, StorageUnavailable, UsageError
from storage.s3 import CLIENT_ERRORS, MISSING_CODES, answered_failure, http_client

READ_BLOCK = 1024 * 1024
STALE_TMP_SECONDS = 24 * 3600
PREFIX_SEGMENT_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")


# --- locations (pure) -------------------------------------------------------------------------


@dataclass(frozen=True)
class DirectoryLocation:
    """A directory, e.g. a mounted NAS share."""

    path: Path

    def __str__(self) -> str:
        return str(self.path)


@dataclass(frozen=True)
class S3Location:
    """A bucket (and optional key prefix) on an S3 endpoint ``http(s)://host[:port]``."""

    endpoint: str
    bucket: str
    prefix: str = ""

    def __str__(self) -> str:
        return f"{self.endpoint}/{self.bucket}" + (f"/{self.prefix.rstrip('/')}" if self.prefix else "")


Location = DirectoryLocation | S3Location


def parse_location(text: str, home: Path, *, allow_insecure_http: bool = False) -> Location:
    """``https://host[:port]/bucket[/prefix]`` is S3; anything else is a directory (relative to ``home``).

    Plain ``http://`` is accepted only for a loopback host unless ``allow_insecure_http``.
    Raises UsageError for anything malformed.
    """
    text = text.strip()
    if not text:
        raise UsageError("a backup target needs a URL or a directory")
    scheme = text.split("://", 1)[0].lower() if "://" in text else ""
    if scheme in ("http", "https"):
        return _parse_s3(text, allow_insecure_http)
    if scheme == "file":
        text = urlsplit(text).path
    elif scheme:
        raise UsageError(f"unsupported backup target {text!r}: use https://host[:port]/bucket or a directory")
    path = Path(text).expanduser()
    return DirectoryLocation(path if path.is_absolute() else home / path)


def _parse_s3(text: str, allow_insecure_http: bool) -> S3Location:
    parts = urlsplit(text)
    endpoint = f"{parts.scheme.lower()}://{parts.netloc}"
    try:
        host_port, secure = split_endpoint(endpoint)
    except ConfigError:
        raise UsageError(f"backup target {text!r} is not https://host[:port]/bucket[/prefix]") from None
    if parts.query or parts.fragment:
        raise UsageError(f"backup target {text!r} must not have a query or fragment")
    segments = [segment for segment in parts.path.split("/") if segment]
    if not segments:
        raise UsageError(f"backup target {text!r} names no bucket: https://host[:port]/bucket")
    bucket, prefix = segments[0], segments[1:]
    if not BUCKET_PATTERN.match(bucket):
        raise UsageError(f"{bucket!r} is not a valid S3 bucket name")
    for segment in prefix:
        if segment in (".", "..") or not set(segment) <= PREFIX_SEGMENT_CHARS:
            raise UsageError(f"backup target prefix segment {segment!r}: letters, digits, '.', '_' and '-' only")
    host = urlsplit(f"//{host_port}").hostname or ""
    if not secure and host not in LOOPBACK_HOSTS and not allow_insecure_http:
        raise UsageError(
            f"backup target {text} uses plain HTTP to a non-loopback host; use https:// "
            "(or set storage.allow_insecure_http = true for a trusted storage network)"
        )
    return S3Location(endpoint, bucket, "".join(f"{segment}/" for segment in prefix))


# --- the interface ----------------------------------------------------------------------------


class MissingBlob(Exception):
    """The key does not exist in the target."""


class Target(Protocol):
    """What backups need from a target. Keys are ``/``-separated; writes of one key are atomic."""

    location: Location

    def prepare(self) -> None:
        """Create the target if needed and check it is a Strongroom backup target (or empty)."""

    def list(self, prefix: str) -> dict[str, int]:
        """Every key under ``prefix`` with its size."""

    def read(self, key: str) -> bytes: ...

    def stream(self, key: str) -> Iterator[bytes]:
        """The content of ``key`` in blocks; MissingBlob if absent."""

    def put_bytes(self, key: str, data: bytes) -> None: ...

    def put_file(self, key: str, path: Path) -> None: ...

    def delete(self, key: str) -> None:
        """Remove ``key`` (absent is fine)."""

    def sync(self) -> None:
        """Make every earlier write durable (called before a manifest is written)."""


def _check_marker(target: Target) -> None:
    """Write the marker into an empty target; refuse a non-empty one that has none."""
    try:
        marker = json.loads(target.read(MARKER_KEY))
    except MissingBlob:
        if target.list(""):
            raise ConfigError(f"backup target {target.location} is not empty and is not a Strongroom backup target")
        target.put_bytes(MARKER_KEY, json.dumps({"format": MARKER_FORMAT}).encode() + b"\n")
        target.sync()
        return
    except ValueError:
        raise ConfigError(f"backup target {target.location} has an unreadable {MARKER_KEY}") from None
    if not isinstance(marker, dict) or marker.get("format") != MARKER_FORMAT:
        raise ConfigError(f"backup target {target.location} has an unknown format")


# --- a directory ------------------------------------------------------------------------------


class DirectoryTarget:
    """Files under a directory; each write goes to ``tmp/`` first and is renamed into place."""

    def __init__(self, location: DirectoryLocation) -> None:
        self.location = location
        self.root = location.path
        self._dirty: set[Path] = set()
        self._dirty_lock = threading.Lock()

    def prepare(self) -> None:
        tmp = self.root / "tmp"
        try:
            self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
            tmp.mkdir(mode=0o700, exist_ok=True)
            stale = time.time() - STALE_TMP_SECONDS
            for leftover in tmp.iterdir():  # writes cut short by a crash
                if leftover.stat().st_mtime < stale:
                    leftover.unlink(missing_ok=True)
        except OSError as exc:
            raise StorageUnavailable(f"cannot use backup directory {self.root}: {exc.strerror}") from None
        _check_marker(self)

    def _path(self, key: str) -> Path:
        return self.root / key

    def list(self, prefix: str) -> dict[str, int]:
        found: dict[str, int] = {}
        start = self._path(prefix) if prefix else self.root
        if not start.is_dir():
            return found
        for directory, _, files in os.walk(start):
            relative = Path(directory).relative_to(self.root).as_posix()
            if relative == "tmp" or relative.startswith("tmp/"):
                continue
            for name in files:
                key = name if relative == "." else f"{relative}/{name}"
                with contextlib.suppress(FileNotFoundError):
                    found[key] = os.stat(os.path.join(directory, name)).st_size
        return found

    def read(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            raise MissingBlob(key) from None
        except OSError as exc:
            raise self._unreadable(key, exc) from None

    def stream(self, key: str) -> Iterator[bytes]:
        try:
            source = open(self._path(key), "rb")  # noqa: SIM115 - closed by the generator
        except FileNotFoundError:
            raise MissingBlob(key) from None
        except OSError as exc:
            raise self._unreadable(key, exc) from None
        return self._blocks(key, source)

    def _blocks(self, key: str, source: io.BufferedReader) -> Iterator[bytes]:
        with source:
            try:
                while block := source.read(READ_BLOCK):
                    yield block
            except OSError as exc:
                raise self._unreadable(key, exc) from None

    def _unreadable(self, key: str, exc: OSError) -> ObjectUnreadable:
        """A file that is there but cannot be read (I/O error, permissions): that file's problem alone."""
        return ObjectUnreadable(f"cannot read {key} in {self.root}: {exc.strerror}")

    def put_bytes(self, key: str, data: bytes) -> None:
        self._write(key, lambda out: out.write(data))

    def put_file(self, key: str, path: Path) -> None:
        def copy(out: io.BufferedWriter) -> None:
            with open(path, "rb") as source:
                shutil.copyfileobj(source, out, READ_BLOCK)

        self._write(key, copy)

    def _write(self, key: str, fill: Callable[[io.BufferedWriter], object]) -> None:
        target = self._path(key)
        tmp = self.root / "tmp" / f"{uuid.uuid4().hex}.part"
        try:
            target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as out:
                fill(out)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, target)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise StorageUnavailable(f"cannot write {key} in {self.root}: {exc.strerror}") from None
        with self._dirty_lock:
            self._dirty.add(target.parent)

    def delete(self, key: str) -> None:
        path = self._path(key)
        try:
            path.unlink(missing_ok=True)
        except OSError as exc:
            raise StorageUnavailable(f"cannot delete {key} in {self.root}: {exc.strerror}") from None
        with self._dirty_lock:
            self._dirty.add(path.parent)

    def sync(self) -> None:
        with self._dirty_lock:
            dirty, self._dirty = self._dirty, set()
        for directory in sorted(dirty, key=lambda p: len(p.parts), reverse=True) + [self.root]:
            with contextlib.suppress(FileNotFoundError):
                fd = os.open(directory, os.O_RDONLY)
                try:
                    os.fsync(fd)
                finally:
                    os.close(fd)


# --- an S3 bucket -----------------------------------------------------------------------------


def _target_error(exc: BaseException, what: str) -> Exception:
    """An S3 or network failure as a one-line error; a missing key as MissingBlob."""
    if isinstance(exc, S3Error):
        if exc.code in MISSING_CODES:
            return MissingBlob(what)
        return StorageUnavailable(f"backup target refused {what}: {exc.code}: {exc.message}")
    detail = str(exc).splitlines()[0][:200] if str(exc) else ""
    return StorageUnavailable(f"backup target unreachable ({what}): {type(exc).__name__}: {detail}")


@contextlib.contextmanager
def _s3(what: str) -> Iterator[None]:
    """S3 and network failures as one-line errors; a missing key as MissingBlob."""
    try:
        yield
    except CLIENT_ERRORS as exc:
        raise _target_error(exc, what) from None


class S3Target:
    """Objects in a bucket under an optional prefix. A missing bucket is created (plain, unversioned)."""

    def __init__(self, location: S3Location, credentials: S3Credentials, *, threads: int = 4) -> None:
        self.location = location
        host, secure = split_endpoint(location.endpoint)
        self.client = Minio(
            host, access_key=credentials.access_key, secret_key=credentials.secret_key,
            secure=secure, http_client=http_client(max(8, threads * 3)),
        )
        self.bucket = location.bucket
        self.prefix = location.prefix
        self._versioned = False

    def prepare(self) -> None:
        with _s3(f"bucket {self.bucket}"):
            if not self.client.bucket_exists(self.bucket):
                try:
                    self.client.make_bucket(self.bucket)
                except S3Error as exc:
                    if exc.code != "BucketAlreadyOwnedByYou":
                        raise
            self._versioned = self.client.get_bucket_versioning(self.bucket).status == "Enabled"
        _check_marker(self)

    def list(self, prefix: str) -> dict[str, int]:
        with _s3(f"list {prefix or '/'}"):
            return {
                (obj.object_name or "")[len(self.prefix):]: int(obj.size or 0)
                for obj in self.client.list_objects(self.bucket, prefix=self.prefix + prefix, recursive=True)
                if obj.object_name and not obj.is_dir
            }

    def read(self, key: str) -> bytes:
        return b"".join(self.stream(key))

    def stream(self, key: str) -> Iterator[bytes]:
        with self._reading(key):
            response = self.client.get_object(self.bucket, self.prefix + key)
        return self._blocks(key, response)

    def _blocks(self, key: str, response: urllib3.BaseHTTPResponse) -> Iterator[bytes]:
        try:
            with self._reading(key):
                yield from response.stream(READ_BLOCK)
        finally:
            response.close()
            response.release_conn()

    @contextlib.contextmanager
    def _reading(self, key: str) -> Iterator[None]:
        """Like :func:`_s3`, but a failure of this one object while the target answers is ObjectUnreadable."""
        try:
            yield
        except CLIENT_ERRORS as exc:
            error = _target_error(exc, key)
            answer = answered_failure(exc)
            if not isinstance(error, MissingBlob) and answer is not None and self._answers():
                error = ObjectUnreadable(f"backup target {self.location} cannot deliver {key}: {answer}")
            raise error from None

    def _answers(self) -> bool:
        """Whether the target answers an authenticated request about its bucket."""
        try:
            return bool(self.client.bucket_exists(self.bucket))
        except CLIENT_ERRORS:
            return False

    def put_bytes(self, key: str, data: bytes) -> None:
        with _s3(key):
            self.client.put_object(self.bucket, self.prefix + key, io.BytesIO(data), len(data))

    def put_file(self, key: str, path: Path) -> None:
        with _s3(key):
            self.client.fput_object(self.bucket, self.prefix + key, str(path))

    def delete(self, key: str) -> None:
        name = self.prefix + key
        with _s3(f"delete {key}"):
            if not self._versioned:
                self.client.remove_object(self.bucket, name)
                return
            for obj in self.client.list_objects(self.bucket, prefix=name, include_version=True):
                if obj.object_name == name:
                    self.client.remove_object(self.bucket, name, version_id=obj.version_id)

    def sync(self) -> None:
        """S3 acknowledges a put once it is stored: nothing to flush."""
