"""The open archive of one home directory: settings, catalog, keyring and storage together."""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Callable
from datetime import UTC, date, datetime
from functools import cached_property
from pathlib import Path
from typing import Any, TypeVar, cast

from catalog.database import Catalog
from config.settings import Settings, load_settings
from encryption.keyring import Keyring
from storage.embedded import EmbeddedServer
from storage.s3 import ObjectStore

T = TypeVar("T")


def utcnow() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def as_utc(moment: datetime) -> datetime:
    """Catalog datetimes are UTC; SQLite hands them back without a zone."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def writer_id() -> str:
    """Identifies this process in pending catalog rows, so repair can tell if it died."""
    return f"{socket.gethostname()}:{os.getpid()}"


class Archive:
    """Everything a command needs, opened lazily: storage is only started when touched."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.catalog = Catalog(settings.catalog_url, settings.run_dir / "catalog.lock")
        self.catalog.migrate()
        self._parts: dict[type[Any], Any] = {}
        self._parts_lock = threading.Lock()

    @classmethod
    def open(cls, home: Path) -> Archive:
        return cls(load_settings(home))

    @cached_property
    def keyring(self) -> Keyring:
        """The keyring, which follows changes of its file made by other processes (see encryption/keyring.py)."""
        return Keyring.load(self.settings.keyring_path)

    @cached_property
    def store(self) -> ObjectStore:
        """The bucket, with embedded storage started and the bucket created on first use."""
        settings = self.settings
        if settings.is_embedded:
            EmbeddedServer(settings).start()
        credentials = settings.credentials()
        store = ObjectStore(
            settings.endpoint_host,
            credentials.access_key,
            credentials.secret_key,
            settings.storage.bucket,
            secure=settings.endpoint_secure,
            region=settings.storage.region,
            part_size=settings.part_size,
        )
        store.ensure_bucket()
        return store

    @cached_property
    def locks_versions(self) -> bool:
        """Whether stored versions are put under Object Lock: configured, and the bucket has Object Lock."""
        return self.settings.retention.object_lock and self.store.object_lock_enabled()

    def lock_until(self, record_type: str, created_at: datetime, retain_from: date | None) -> datetime | None:
        """The Object Lock date for a version of such a record, or None (locks off, or retention already over)."""
        from archive.retention_dates import lock_moment, retention_of

        if not self.locks_versions:
            return None
        return lock_moment(self.settings, retention_of(self.settings, record_type, created_at, retain_from), utcnow())

    def part(self, kind: type[T], make: Callable[[Archive], T]) -> T:
        """The one ``kind`` this archive keeps, made by ``make(self)`` the first time it is asked for.

        The floors above keep here what belongs to one open archive (the search index and its
        writer: see search/indexer.py and search/queue.py), so it lives exactly as long as the
        archive, which need not know their types.
        """
        with self._parts_lock:
            if kind not in self._parts:
                self._parts[kind] = make(self)
            return cast(T, self._parts[kind])

    def ready_to_write(self) -> None:
        """Fail early, before a number is taken, if the keyring or the storage is not usable."""
        self.keyring.primary  # noqa: B018 - reading it is the check
        self.store  # noqa: B018 - connecting (and starting embedded storage) is the check

    def close(self) -> None:
        self.catalog.dispose()
