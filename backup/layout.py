"""Where things live in a backup target, and how snapshots are named (pure).

::

    strongroom-backup.json          {"format": 1}: marks the target, no secrets
    blobs/ab/abcdef…                one stored object version (or sealed catalog copy), named by SHA-256
    snapshots/20260107T030001Z-1a2b3c4d   the sealed manifest of one complete snapshot

A snapshot id starts with the UTC time the run started (see :func:`new_snapshot_id`),
so ids sort by age and the age of the newest snapshot can be seen from a listing (``--if-due`` still opens and
authenticates that manifest before trusting it).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

MARKER_KEY = "strongroom-backup.json"
MARKER_FORMAT = 1
BLOBS = "blobs/"
SNAPSHOTS = "snapshots/"
SNAPSHOT_ID = re.compile(r"^(\d{8}T\d{6}Z)-([0-9a-f]{8})\Z")
DIGEST = re.compile(r"^[0-9a-f]{64}\Z")
TIME_FORMAT = "%Y%m%dT%H%M%SZ"


def blob_key(digest: str) -> str:
    if not DIGEST.match(digest):
        raise ValueError(f"not a SHA-256 hex digest: {digest!r}")
    return f"{BLOBS}{digest[:2]}/{digest}"


def digest_of(key: str) -> str | None:
    """The digest a blob key names, or None for anything else under ``blobs/``."""
    if not key.startswith(BLOBS):
        return None
    shard, _, digest = key[len(BLOBS):].partition("/")
    return digest if DIGEST.match(digest) and shard == digest[:2] else None


def snapshot_key(snapshot_id: str) -> str:
    snapshot_time(snapshot_id)
    return f"{SNAPSHOTS}{snapshot_id}"


def snapshot_id_of(key: str) -> str | None:
    """The snapshot id a manifest key names, or None for anything else."""
    if not key.startswith(SNAPSHOTS):
        return None
    candidate = key[len(SNAPSHOTS):]
    return candidate if SNAPSHOT_ID.match(candidate) else None


def new_snapshot_id(started: datetime, random_hex: str, existing: list[str] | None = None) -> str:
    """``YYYYMMDDTHHMMSSZ-xxxxxxxx`` from the start time and 8 random hex digits.

    The time is moved on to one second after the newest of ``existing`` if need be
    (two runs within a second, or a clock set back), so ids sort in the order the
    snapshots were taken and ``latest`` is always the last one.
    """
    moment = started.astimezone(UTC).replace(microsecond=0)
    if existing:
        moment = max(moment, max(snapshot_time(s) for s in existing) + timedelta(seconds=1))
    snapshot_id = f"{moment.strftime(TIME_FORMAT)}-{random_hex}"
    snapshot_time(snapshot_id)
    return snapshot_id


def snapshot_time(snapshot_id: str) -> datetime:
    """The start time a snapshot id carries; ValueError if it is not a snapshot id."""
    match = SNAPSHOT_ID.match(snapshot_id)
    if match is None:
        raise ValueError(f"not a snapshot id: {snapshot_id!r}")
    return datetime.strptime(match.group(1), TIME_FORMAT).replace(tzinfo=UTC)
