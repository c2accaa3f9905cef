"""A narrow wrapper around the ``minio`` client: the only module that talks S3.

It turns client and network failures into :class:`StorageUnavailable` with a
one-line message that never includes credentials, and offers just the operations
the archive needs, always addressing object versions explicitly.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import BinaryIO, ParamSpec, TypeVar

import urllib3
from minio import Minio
from minio.commonconfig import CopySource
from minio.error import MinioException, S3Error
from minio.versioningconfig import ENABLED, VersioningConfig

from archive.errors import StorageUnavailable

P = ParamSpec("P")
T = TypeVar("T")


@dataclass(frozen=True)
class StoredVersion:
    """One version of one object as the server lists it."""

    key: str
    version_id: str
    size: int
    last_modified: datetime | None
    is_latest: bool


class MissingObject(Exception):
    """The object or object version does not exist."""


def _storage_errors(func: Callable[P, T]) -> Callable[P, T]:
    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return func(*args, **kwargs)
        except S3Error as exc:
            if exc.code in ("NoSuchKey", "NoSuchVersion"):
                raise MissingObject(exc.code) from None
            raise StorageUnavailable(f"S3 refused {func.__name__}: {exc.code}: {exc.message}") from None
        except (MinioException, urllib3.exceptions.HTTPError, OSError) as exc:
            raise StorageUnavailable(f"S3 storage unreachable: {type(exc).__name__}: {_short(exc)}") from None

    return wrapper


def _short(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else ""
    return text[:200]


class ObjectStore:
    """One bucket on one S3 endpoint."""

    def __init__(
        self,
        endpoint: str,
        access_key: str,
        secret_key: str,
        bucket: str,
        *,
        secure: bool,
        region: str = "",
        part_size: int = 8 * 1024 * 1024,
    ) -> None:
        http = urllib3.PoolManager(
            timeout=urllib3.Timeout(connect=5, read=120),
            maxsize=8,
            retries=urllib3.Retry(total=2, backoff_factor=0.2, status_forcelist=[500, 502, 503, 504]),
        )
        self.client = Minio(
            endpoint,
            access_key=access_key,
            secret_key=secret_key,
            secure=secure,
            region=region or None,
            http_client=http,
        )
        self.bucket = bucket
        self.part_size = part_size

    @_storage_errors
    def ping(self) -> None:
        """Raise unless the endpoint answers an authenticated request."""
        self.client.list_buckets()

    @_storage_errors
    def ensure_bucket(self) -> bool:
        """Create the bucket with versioning enabled if missing; return True if created."""
        created = False
        if not self.client.bucket_exists(self.bucket):
            try:
                self.client.make_bucket(self.bucket)
                created = True
            except S3Error as exc:
                if exc.code != "BucketAlreadyOwnedByYou":  # another process created it just now
                    raise
        if self.client.get_bucket_versioning(self.bucket).status != ENABLED:
            self.client.set_bucket_versioning(self.bucket, VersioningConfig(ENABLED))
        return created

    @_storage_errors
    def put_stream(self, key: str, stream: BinaryIO) -> str:
        """Upload a stream of unknown length (multipart when large); return the new version id."""
        result = self.client.put_object(self.bucket, key, stream, -1, part_size=self.part_size)
        return self._version_id(result.version_id, key)

    @_storage_errors
    def copy(self, source_key: str, source_version: str, target_key: str) -> str:
        """Server-side copy of one object version; return the new version id."""
        result = self.client.copy_object(
            self.bucket, target_key, CopySource(self.bucket, source_key, version_id=source_version)
        )
        return self._version_id(result.version_id, target_key)

    @_storage_errors
    def read_range(self, key: str, version_id: str, offset: int, length: int) -> bytes:
        response = self.client.get_object(self.bucket, key, version_id=version_id, offset=offset, length=length)
        try:
            return response.read()
        finally:
            response.close()
            response.release_conn()

    def stream_range(self, key: str, version_id: str, offset: int, length: int, block: int) -> Iterator[bytes]:
        """Yield the bytes ``[offset, offset + length)`` of an object version in blocks."""
        response = self._get(key, version_id, offset, length)
        try:
            yield from _reraise(response.stream(block))
        finally:
            response.close()
            response.release_conn()

    @_storage_errors
    def _get(self, key: str, version_id: str, offset: int, length: int) -> urllib3.BaseHTTPResponse:
        return self.client.get_object(self.bucket, key, version_id=version_id, offset=offset, length=length)

    @_storage_errors
    def delete_version(self, key: str, version_id: str) -> None:
        self.client.remove_object(self.bucket, key, version_id=version_id)

    @_storage_errors
    def list_versions(self, prefix: str) -> list[StoredVersion]:
        """Every version of every object under ``prefix`` (delete markers excluded)."""
        return [
            StoredVersion(
                key=obj.object_name or "",
                version_id=obj.version_id or "",
                size=int(obj.size or 0),
                last_modified=obj.last_modified,
                is_latest=str(obj.is_latest).lower() == "true",
            )
            for obj in self.client.list_objects(self.bucket, prefix=prefix, recursive=True, include_version=True)
            if not obj.is_delete_marker
        ]

    def _version_id(self, version_id: str | None, key: str) -> str:
        if not version_id:
            raise StorageUnavailable(
                f"bucket {self.bucket} did not return a version id for {key}: versioning is not enabled"
            )
        return version_id


def _reraise(blocks: Iterator[bytes]) -> Iterator[bytes]:
    try:
        yield from blocks
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        raise StorageUnavailable(f"S3 storage unreachable while reading: {type(exc).__name__}") from None
