"""Checkpoints of the audit chain head, written once into the bucket.

A checkpoint is a tiny JSON object ``audit/checkpoints/{seq:012d}.json`` holding only the
sequence number and hash of one event (never a title, actor, detail or other user data).
Where the bucket supports S3 Object Lock the checkpoint is put under COMPLIANCE retention
for ``audit.checkpoint_retention_days``, so that nobody, the catalog's owner included,
can delete it before then. Someone who rewrites or truncates the catalog's audit trail
then no longer matches the checkpoints: :mod:`audit.verify` compares them.

Checkpoints are read from every stored version (delete markers ignored), so hiding a
checkpoint behind a delete marker or a newer forged version does not hide it from
verification.
"""

from __future__ import annotations

import json
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select

from catalog.schema import AuditEvent
from errors import StorageUnavailable
from storage.s3 import LockProbe, MissingObject, ObjectStore, StoredVersion

if TYPE_CHECKING:
    from archive.service import Archive

PREFIX = "audit/checkpoints/"
FORMAT = 1
READ_THREADS = 8

log = logging.getLogger(__name__)

@dataclass(frozen=True)
class Checkpoint:
    seq: int
    hash: str
    at: str
    locked: bool

    def as_dict(self) -> dict[str, object]:
        return {"seq": self.seq, "hash": self.hash, "at": self.at, "locked": self.locked}


class BadCheckpoint(Exception):
    """An object under the checkpoint prefix that is not a valid checkpoint."""


def checkpoint_key(seq: int) -> str:
    return f"{PREFIX}{seq:012d}.json"


def encode(seq: int, digest: str, at: str) -> bytes:
    return json.dumps({"seq": seq, "hash": digest, "at": at, "format": FORMAT}, sort_keys=True).encode("ascii")


def decode(key: str, data: bytes, locked: bool) -> Checkpoint:
    """Parse one checkpoint object, or raise BadCheckpoint."""
    try:
        body = json.loads(data.decode("utf-8"))
        seq, digest, at = body["seq"], body["hash"], body["at"]
    except (ValueError, KeyError, TypeError, UnicodeDecodeError):
        raise BadCheckpoint(f"checkpoint object {key} is not valid JSON with seq, hash and at") from None
    if not isinstance(seq, int) or isinstance(seq, bool) or not isinstance(digest, str) or not isinstance(at, str):
        raise BadCheckpoint(f"checkpoint object {key} has fields of the wrong type")
    if body.get("format") != FORMAT:
        raise BadCheckpoint(f"checkpoint object {key} has an unknown format {body.get('format')!r}")
    if key != checkpoint_key(seq):
        raise BadCheckpoint(f"checkpoint object {key} names event {seq}, not the one its key names")
    return Checkpoint(seq=seq, hash=digest, at=at, locked=locked)


def _event(archive: Archive, seq: int | None) -> tuple[int, str] | None:
    """(seq, hash) of event ``seq``, or of the chain head when ``seq`` is None."""
    query = select(AuditEvent.seq, AuditEvent.hash)
    query = query.order_by(AuditEvent.seq.desc()).limit(1) if seq is None else query.where(AuditEvent.seq == seq)
    with archive.catalog.read() as session:
        row = session.execute(query).first()
    return (row[0], row[1]) if row else None


def write_checkpoint(archive: Archive, lock: LockProbe | None = None) -> Checkpoint | None:
    """Checkpoint the current chain head; None if the trail is empty or the head is already checkpointed.

    The checkpoint is locked (COMPLIANCE retention for ``audit.checkpoint_retention_days``)
    when the bucket takes Object Lock, a plain versioned object otherwise. A checkpoint that
    already exists for the head's seq is never overwritten, even if its hash differs
    (that difference is evidence for :func:`audit.verify.verify_audit`).
    """
    return _checkpoint(archive, None, lock)


def _checkpoint(archive: Archive, seq: int | None, lock: LockProbe | None) -> Checkpoint | None:
    event = _event(archive, seq)
    if event is None:
        return None
    seq, digest = event
    key = checkpoint_key(seq)
    store = archive.store
    try:
        store.read_object(key)
        return None
    except MissingObject:
        pass
    lock = lock or archive.store.lock_probe()
    moment = datetime.now(UTC)
    at = moment.isoformat(timespec="seconds")
    retain_until = moment + timedelta(days=archive.settings.audit.checkpoint_retention_days) if lock.available else None
    store.put_locked(key, encode(seq, digest, at), retain_until)
    return Checkpoint(seq=seq, hash=digest, at=at, locked=retain_until is not None)


def _read_version(store: ObjectStore, key: str, version_id: str) -> Checkpoint:
    stored = store.read_object(key, version_id)
    locked = stored.lock_mode is not None and stored.retain_until is not None and stored.retain_until > datetime.now(UTC)
    return decode(key, stored.data, locked)


def read_all(archive: Archive) -> tuple[list[Checkpoint], list[str]]:
    """Every checkpoint in every stored version, deduplicated, sorted by seq; and the problems found.

    A version that is not a valid checkpoint is not returned but reported as a problem.
    """
    store = archive.store
    versions = [v for v in store.list_versions(PREFIX) if v.key.startswith(PREFIX)]
    problems: list[str] = []
    found: dict[tuple[int, str], Checkpoint] = {}

    def load(version: StoredVersion) -> Checkpoint | str:
        try:
            return _read_version(store, version.key, version.version_id)
        except BadCheckpoint as exc:
            return str(exc)
        except MissingObject:
            return ""  # deleted between listing and reading: an unlocked version, nothing to compare

    with ThreadPoolExecutor(max_workers=READ_THREADS) as pool:
        for result in pool.map(load, versions):
            if isinstance(result, str):
                if result:
                    problems.append(result)
                continue
            earlier = found.get((result.seq, result.hash))
            found[(result.seq, result.hash)] = result if earlier is None else _merge(earlier, result)
    return sorted(found.values(), key=lambda c: (c.seq, c.at, c.hash)), sorted(problems)


def _merge(a: Checkpoint, b: Checkpoint) -> Checkpoint:
    """Two stored copies of the same checkpoint (concurrent writers): the earliest, locked if either is."""
    first = min(a, b, key=lambda c: c.at)
    return Checkpoint(seq=first.seq, hash=first.hash, at=first.at, locked=a.locked or b.locked)


def list_checkpoints(archive: Archive) -> list[Checkpoint]:
    """Every checkpoint in the bucket, sorted by seq (all stored versions; invalid objects skipped)."""
    return read_all(archive)[0]


def checkpoint_if_due(archive: Archive, head_seq: int) -> Checkpoint | None:
    """Checkpoint event ``head_seq`` when it is a multiple of ``audit.checkpoint_every``.

    Best effort: the event is already committed in the catalog, so a storage failure is
    logged and swallowed (None is returned); the next due checkpoint covers it.
    """
    if head_seq < 1 or head_seq % archive.settings.audit.checkpoint_every != 0:
        return None
    try:
        return _checkpoint(archive, head_seq, None)
    except StorageUnavailable as exc:
        log.warning("audit checkpoint at event %d not written: %s", head_seq, exc)
        return None
