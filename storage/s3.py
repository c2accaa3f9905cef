"""A narrow wrapper around the ``minio`` client: the only module that talks S3.

It turns client and network failures into :class:`StorageUnavailable` with a
one-line message that never includes credentials, and offers just the operations
the archive needs, always addressing object versions explicitly.

A failed read of one object is told apart from an unreachable endpoint: when the server
answered with an error for that object (or cut its body short) and still answers a
request about the bucket, the failure is the object's own (:class:`ObjectUnreadable`),
so a check of many objects can report it and go on.
"""

from __future__ import annotations

import functools
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import BinaryIO, ParamSpec, TypeVar

import urllib3
from minio import Minio
from minio.commonconfig import COMPLIANCE, CopySource
from minio.error import InvalidResponseError, MinioException, S3Error, ServerError
from minio.retention import Retention
from minio.versioningconfig import ENABLED, VersioningConfig

from errors import ObjectUnreadable, StorageUnavailable

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
    is_delete_marker: bool = False


@dataclass(frozen=True)
class LockProbe:
    """What the bucket really does with S3 Object Lock, as measured by :meth:`ObjectStore.probe_object_lock`.

    ``available``: a put with COMPLIANCE retention was accepted; ``enforced``: deleting
    that exact version was then refused. ``detail`` says what was seen, in one line.
    """

    available: bool
    enforced: bool
    detail: str

    def as_dict(self) -> dict[str, object]:
        return {"available": self.available, "enforced": self.enforced, "detail": self.detail}


@dataclass(frozen=True)
class StoredObject:
    """The bytes of one object version and its Object Lock retention, if any."""

    data: bytes
    version_id: str | None
    lock_mode: str | None
    retain_until: datetime | None


PROBE_KEY = "probe/object-lock"
PROBE_RETENTION = timedelta(minutes=1)


MISSING_CODES = ("NoSuchKey", "NoSuchVersion")
CLIENT_ERRORS = (MinioException, urllib3.exceptions.HTTPError, OSError)


class MissingObject(Exception):
    """The object or object version does not exist."""


def http_client(maxsize: int) -> urllib3.PoolManager:
    """The HTTP client of every ``minio`` client here (the archive's bucket and S3 backup targets).

    Refused connections and 502/503/504 answers (a restarting server, an overloaded one or
    its proxy) are retried twice. A 500 is not: SeaweedFS answers 500 for a damaged
    volume needle after retrying the volume read itself for about 13 s, so each retry here
    would add another 13 s to every damaged object (40 s with two retries, measured). After
    the retries the last answer goes back to ``minio`` (``raise_on_status=False``), which
    reports it as an S3 error with its code rather than urllib3's ``MaxRetryError``.
    """
    return urllib3.PoolManager(
        timeout=urllib3.Timeout(connect=5, read=120),
        maxsize=maxsize,
        retries=urllib3.Retry(
            total=2, backoff_factor=0.2, status_forcelist=[502, 503, 504], raise_on_status=False
        ),
    )


def answered_failure(exc: BaseException) -> str | None:
    """What the server said when a read failed although it answered; None when it did not answer.

    An S3 error status (a missing object is handled before), an error answer that is not
    S3's XML, or a connection cut while the body was streaming come from a server that is
    there. Refused connections, timeouts and exhausted connection retries do not.
    """
    if isinstance(exc, S3Error):
        return f"{exc.code}: {exc.message}"
    if isinstance(exc, ServerError):
        return f"HTTP {exc.status_code}"
    if isinstance(exc, InvalidResponseError):
        return _short(exc)
    if isinstance(exc, urllib3.exceptions.ProtocolError):
        return f"the connection broke while it was read ({type(exc).__name__})"
    return None


def unavailable(exc: BaseException, action: str) -> StorageUnavailable:
    """The one-line error for a failure that is not one object's own."""
    if isinstance(exc, S3Error):
        return StorageUnavailable(f"S3 refused {action}: {exc.code}: {exc.message}")
    return StorageUnavailable(f"S3 storage unreachable: {type(exc).__name__}: {_short(exc)}")


def object_failure(
    exc: BaseException, what: str, action: str, endpoint_answers: Callable[[], bool]
) -> StorageUnavailable:
    """A failed read of the object ``what``: :class:`ObjectUnreadable` if the failure is that object's alone.

    It is when the server answered with an error for it (:func:`answered_failure`) and
    still answers a request about the bucket (``endpoint_answers``, asked only then).
    """
    detail = answered_failure(exc)
    if detail is not None and endpoint_answers():
        return ObjectUnreadable(f"the storage cannot deliver {what}: {detail}")
    return unavailable(exc, action)


def _storage_errors(func: Callable[P, T]) -> Callable[P, T]:
    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return func(*args, **kwargs)
        except S3Error as exc:
            if exc.code in MISSING_CODES:
                raise MissingObject(exc.code) from None
            raise unavailable(exc, func.__name__) from None
        except CLIENT_ERRORS as exc:
            raise unavailable(exc, func.__name__) from None

    return wrapper


def _object_reads(func: Callable[..., T]) -> Callable[..., T]:
    """For a read of one object version ``(self, key, version_id, …)``: its failure as :func:`object_failure` says."""

    @functools.wraps(func)
    def wrapper(self: ObjectStore, key: str, version_id: str | None = None, *args: object, **kwargs: object) -> T:
        try:
            return func(self, key, version_id, *args, **kwargs)
        except S3Error as exc:
            if exc.code in MISSING_CODES:
                raise MissingObject(exc.code) from None
            raise self.read_failure(exc, key, version_id, func.__name__) from None
        except CLIENT_ERRORS as exc:
            raise self.read_failure(exc, key, version_id, func.__name__) from None

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
        self.client = Minio(
            endpoint,
            access_key=access_key,
            secret_key=secret_key,
            secure=secure,
            region=region or None,
            http_client=http_client(8),
        )
        self.bucket = bucket
        self.part_size = part_size
        self._lock_probe: LockProbe | None = None

    @_storage_errors
    def ping(self) -> None:
        """Raise unless the endpoint answers an authenticated request."""
        self.client.list_buckets()

    def endpoint_answers(self) -> bool:
        """Whether the endpoint answers an authenticated request about the bucket (one HEAD, no error raised)."""
        try:
            return bool(self.client.bucket_exists(self.bucket))
        except CLIENT_ERRORS:
            return False

    def read_failure(self, exc: BaseException, key: str, version_id: str | None, action: str) -> StorageUnavailable:
        """A failed read of one object version as :func:`object_failure` classifies it."""
        what = f"{key} version {version_id}" if version_id else key
        return object_failure(exc, what, action, self.endpoint_answers)

    @_storage_errors
    def ensure_bucket(self) -> bool:
        """Create the bucket if missing (with Object Lock, which implies versioning); return True if created.

        A bucket that already exists is left as it is, except that versioning is enabled
        on it: Object Lock cannot be turned on for an existing bucket here.
        """
        created = False
        if not self.client.bucket_exists(self.bucket):
            created = self._make_bucket()
        if self.client.get_bucket_versioning(self.bucket).status != ENABLED:
            self.client.set_bucket_versioning(self.bucket, VersioningConfig(ENABLED))
        return created

    def _make_bucket(self) -> bool:
        """Create the bucket with Object Lock; without it if the server refuses the option."""
        try:
            self.client.make_bucket(self.bucket, object_lock=True)
            return True
        except S3Error as exc:
            if exc.code == "BucketAlreadyOwnedByYou":  # another process created it just now
                return False
            if exc.code == "BucketAlreadyExists":
                raise
        try:  # a server without Object Lock support: a plain (versioned) bucket still works
            self.client.make_bucket(self.bucket)
            return True
        except S3Error as exc:
            if exc.code != "BucketAlreadyOwnedByYou":
                raise
            return False

    def lock_probe(self, *, refresh: bool = False) -> LockProbe:
        """The bucket's Object Lock probe, measured once for this store (again with ``refresh``)."""
        if refresh or self._lock_probe is None:
            self._lock_probe = self.probe_object_lock()
        return self._lock_probe

    @_storage_errors
    def probe_object_lock(self) -> LockProbe:
        """Measure whether this bucket takes and enforces COMPLIANCE retention.

        Uses one key, ``probe/object-lock``, and keeps at most one version of it under
        retention: earlier probe versions whose short retention is over are deleted first.
        If one is still retained, trying to delete it is the measurement; otherwise a new
        version is put, retained for a minute, and deleting that exact version is tried.
        So however often the service starts or the lock is probed, the bucket holds at
        most one locked probe version (plus those of probes running at the same moment),
        for at most a minute. Only a storage failure raises (StorageUnavailable); the
        probe's outcome is always returned.
        """
        retained = self._clear_expired_probes()
        if retained is not None:
            return self._try_delete_probe(retained)
        until = datetime.now(UTC) + PROBE_RETENTION
        body = b"strongroom object lock probe\n"
        try:
            result = self.client.put_object(
                self.bucket, PROBE_KEY, io.BytesIO(body), len(body), retention=Retention(COMPLIANCE, until)
            )
        except S3Error as exc:
            return LockProbe(False, False, self._refused_lock_detail(exc))
        if not result.version_id:
            return LockProbe(
                True, False, "the server accepted a retention but returned no version id: versioning is off"
            )
        return self._try_delete_probe(result.version_id)

    def _try_delete_probe(self, version_id: str) -> LockProbe:
        """Try to delete a probe version that is under COMPLIANCE retention: refused means enforced."""
        try:
            self.client.remove_object(self.bucket, PROBE_KEY, version_id=version_id)
        except S3Error as exc:
            return LockProbe(
                True, True, f"a version under COMPLIANCE retention could not be deleted ({exc.code}): enforced"
            )
        if self._version_exists(PROBE_KEY, version_id):
            return LockProbe(True, True, "a version under COMPLIANCE retention survived a delete: enforced")
        return LockProbe(
            True, False, "the server accepted object lock but deleted a locked version: not enforced"
        )

    def _refused_lock_detail(self, refusal: S3Error) -> str:
        try:
            self.client.get_object_lock_config(self.bucket)
        except S3Error:
            return f"the bucket has no Object Lock (a put with retention was refused: {refusal.code})"
        return f"the bucket has Object Lock but refused a put with retention: {refusal.code}: {refusal.message}"

    def _version_exists(self, key: str, version_id: str) -> bool:
        try:
            self.client.stat_object(self.bucket, key, version_id=version_id)
        except S3Error as exc:
            if exc.code in ("NoSuchKey", "NoSuchVersion", "NoSuchObject", "ResourceNotFound"):
                return False
            raise
        return True

    def _clear_expired_probes(self) -> str | None:
        """Delete the probe versions no longer retained (best effort); return one still retained, if any."""
        now = datetime.now(UTC)
        retained = None
        for obj in self.client.list_objects(self.bucket, prefix=PROBE_KEY, include_version=True):
            if obj.object_name != PROBE_KEY or not obj.version_id:
                continue
            until = None if obj.is_delete_marker else self._retained_until(obj.version_id)
            if until is not None and until > now:
                retained = retained or obj.version_id
                continue
            try:
                self.client.remove_object(self.bucket, PROBE_KEY, version_id=obj.version_id)
            except S3Error:
                pass
        return retained

    def _retained_until(self, version_id: str) -> datetime | None:
        """The end of a probe version's Object Lock retention, if it has one."""
        try:
            stat = self.client.stat_object(self.bucket, PROBE_KEY, version_id=version_id)
        except S3Error:
            return None
        return _parse_until(stat.metadata.get("x-amz-object-lock-retain-until-date"))

    @_storage_errors
    def put_locked(self, key: str, data: bytes, retain_until: datetime | None) -> str:
        """Store ``data`` as a new version, under COMPLIANCE retention until ``retain_until`` if given."""
        result = self.client.put_object(
            self.bucket, key, io.BytesIO(data), len(data), retention=_retention(retain_until)
        )
        return self._version_id(result.version_id, key)

    @_object_reads
    def read_object(self, key: str, version_id: str | None = None) -> StoredObject:
        """The whole content of one object version (the current one if no id) and its retention."""
        response = self.client.get_object(self.bucket, key, version_id=version_id)
        try:
            data = response.read()
            headers = response.headers
        finally:
            response.close()
            response.release_conn()
        return StoredObject(
            data=data,
            version_id=headers.get("x-amz-version-id") or version_id,
            lock_mode=headers.get("x-amz-object-lock-mode") or None,
            retain_until=_parse_until(headers.get("x-amz-object-lock-retain-until-date")),
        )

    def get_bytes(self, key: str, version_id: str | None = None) -> bytes:
        """The whole content of one object version (the current one if no id)."""
        return self.read_object(key, version_id).data

    @_storage_errors
    def list_keys(self, prefix: str) -> list[str]:
        """Keys of the current objects under ``prefix`` (deleted objects and old versions excluded)."""
        return [
            obj.object_name
            for obj in self.client.list_objects(self.bucket, prefix=prefix, recursive=True)
            if obj.object_name and not obj.is_dir
        ]

    @_storage_errors
    def put_stream(self, key: str, stream: BinaryIO, retain_until: datetime | None = None) -> str:
        """Upload a stream of unknown length (multipart when large); return the new version id.

        With ``retain_until`` the version is stored under COMPLIANCE retention until then.
        """
        result = self.client.put_object(
            self.bucket, key, stream, -1, part_size=self.part_size, retention=_retention(retain_until)
        )
        return self._version_id(result.version_id, key)

    @_storage_errors
    def copy(
        self, source_key: str, source_version: str, target_key: str, *, retain_until: datetime | None = None,
        storage_class: str | None = None,
    ) -> str:
        """Server-side copy of one object version; return the new version id.

        ``retain_until`` puts the copy under COMPLIANCE retention; ``storage_class`` stores it
        in that class (the copy carries no user metadata either way).
        """
        headers = {"x-amz-storage-class": storage_class} if storage_class else None
        result = self.client.copy_object(
            self.bucket,
            target_key,
            CopySource(self.bucket, source_key, version_id=source_version),
            metadata=headers,
            metadata_directive="REPLACE" if headers else None,
            retention=_retention(retain_until),
        )
        return self._version_id(result.version_id, target_key)

    @_storage_errors
    def object_lock_enabled(self) -> bool:
        """Whether the bucket was created with Object Lock (so versions can carry a retention date)."""
        try:
            self.client.get_object_lock_config(self.bucket)
        except S3Error as exc:
            if exc.code in ("ObjectLockConfigurationNotFoundError", "NoSuchObjectLockConfiguration",
                            "InvalidRequest", "NotImplemented"):
                return False
            raise
        return True

    @_storage_errors
    def extend_retention(self, key: str, version_id: str, retain_until: datetime) -> None:
        """Put (or lengthen) COMPLIANCE retention on one version; a server refuses to shorten it."""
        self.client.set_object_retention(self.bucket, key, _retention(retain_until), version_id=version_id)

    @_storage_errors
    def set_legal_hold(self, key: str, version_id: str, on: bool) -> None:
        """Turn S3 legal hold on or off for one version (needs an Object Lock bucket)."""
        if on:
            self.client.enable_object_legal_hold(self.bucket, key, version_id=version_id)
        else:
            self.client.disable_object_legal_hold(self.bucket, key, version_id=version_id)

    @_storage_errors
    def delete_unless_retained(self, key: str, version_id: str) -> bool:
        """Delete one version; False (and nothing raised) when Object Lock or a legal hold keeps it."""
        try:
            self.client.remove_object(self.bucket, key, version_id=version_id)
        except S3Error as exc:
            if exc.code in ("AccessDenied", "ObjectLocked", "InvalidRequest") and self._version_exists(key, version_id):
                return False
            raise
        return True

    @_object_reads
    def read_range(self, key: str, version_id: str, offset: int, length: int) -> bytes:
        response = self.client.get_object(self.bucket, key, version_id=version_id, offset=offset, length=length)
        try:
            return response.read()
        finally:
            response.close()
            response.release_conn()

    @_object_reads
    def read_start(self, key: str, version_id: str, length: int) -> tuple[bytes, int]:
        """The first ``length`` bytes of an object version and the size of the whole object.

        The size comes from the answer's ``Content-Range`` (or its ``Content-Length`` when the
        server sent the whole object), so it costs no request of its own.
        """
        response = self.client.get_object(self.bucket, key, version_id=version_id, offset=0, length=length)
        try:
            data = response.read()
            return data, _object_size(response.headers.get("Content-Range"), len(data))
        finally:
            response.close()
            response.release_conn()

    def stream_range(self, key: str, version_id: str, offset: int, length: int, block: int) -> Iterator[bytes]:
        """Yield the bytes ``[offset, offset + length)`` of an object version in blocks."""
        response = self._get(key, version_id, offset, length)
        try:
            yield from response.stream(block)
        except CLIENT_ERRORS as exc:
            raise self.read_failure(exc, key, version_id, "stream_range") from None
        finally:
            response.close()
            response.release_conn()

    @_object_reads
    def _get(self, key: str, version_id: str, offset: int, length: int) -> urllib3.BaseHTTPResponse:
        return self.client.get_object(self.bucket, key, version_id=version_id, offset=offset, length=length)

    @_storage_errors
    def delete_version(self, key: str, version_id: str) -> None:
        self.client.remove_object(self.bucket, key, version_id=version_id)

    @_storage_errors
    def list_versions(self, prefix: str, *, with_delete_markers: bool = False) -> list[StoredVersion]:
        """Every version of every object under ``prefix`` (delete markers only if asked for)."""
        return [
            StoredVersion(
                key=obj.object_name or "",
                version_id=obj.version_id or "",
                size=int(obj.size or 0),
                last_modified=obj.last_modified,
                is_latest=str(obj.is_latest).lower() == "true",
                is_delete_marker=bool(obj.is_delete_marker),
            )
            for obj in self.client.list_objects(self.bucket, prefix=prefix, recursive=True, include_version=True)
            if with_delete_markers or not obj.is_delete_marker
        ]

    def _version_id(self, version_id: str | None, key: str) -> str:
        if not version_id:
            raise StorageUnavailable(
                f"bucket {self.bucket} did not return a version id for {key}: versioning is not enabled"
            )
        return version_id


def _retention(retain_until: datetime | None) -> Retention | None:
    return Retention(COMPLIANCE, retain_until.astimezone(UTC)) if retain_until is not None else None


def _parse_until(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _object_size(content_range: str | None, received: int) -> int:
    """The whole object's size from ``bytes FIRST-LAST/SIZE``; what was received when the answer had no range."""
    if content_range:
        _, _, total = content_range.rpartition("/")
        if total.strip().isdigit():
            return int(total)
    return received
