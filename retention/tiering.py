"""Moving superseded versions to a cheaper storage class after ``retention.archive_after_days``.

A move is a server-side copy of the archived object onto its own key in the target
class, carrying the same Object Lock date; the catalog then points at the copy (checked
by its nonce) and the old S3 version is deleted. Reads are unchanged: they ask for the
version id the catalog pins, whatever its class. Where Object Lock keeps the old version
until its retention date, it stays (unreferenced, still encrypted) and goes with the record
at disposal: the summary counts these.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from archive.objects import copy_checked
from archive.service import Archive, as_utc
from catalog.schema import Record, RecordState, Version, VersionState
from retention.rules import due_for_archive_tier


@dataclass
class TierReport:
    moved: int = 0
    old_copies_locked: int = 0


@dataclass(frozen=True)
class _Move:
    row_id: int
    key: str
    s3_version_id: str
    nonce: str
    locked_until: datetime | None


def due_moves(archive: Archive, now: datetime) -> list[_Move]:
    settings = archive.settings.retention
    with archive.catalog.read() as session:
        rows = session.scalars(
            select(Version).join(Record)
            .where(Version.state == VersionState.ARCHIVED, Record.state == RecordState.ACTIVE)
            .order_by(Version.id)
        )
        return [
            _Move(v.id, v.object_key, v.s3_version_id or "", v.nonce,
                  as_utc(v.locked_until) if v.locked_until else None)
            for v in rows
            if due_for_archive_tier(as_utc(v.archived_at) if v.archived_at else None, v.storage_class,
                                    settings.archive_storage_class, settings.archive_after_days, now)
        ]


def move_to_archive_tier(archive: Archive, now: datetime) -> TierReport:
    report = TierReport()
    target = archive.settings.retention.archive_storage_class
    store = archive.store
    for move in due_moves(archive, now):
        copied = copy_checked(archive, move.key, move.s3_version_id, move.key, nonce=move.nonce,
                              locked_until=move.locked_until, storage_class=target,
                              what=f"moving {move.key} to {target}")
        with archive.catalog.write() as session:
            version = session.get(Version, move.row_id)
            changed = version is None or version.s3_version_id != move.s3_version_id
            if not changed:
                version.s3_version_id = copied  # type: ignore[union-attr]
                version.storage_class = target  # type: ignore[union-attr]
        if changed:  # the version was re-encrypted meanwhile: this copy is not needed
            store.delete_unless_retained(move.key, copied)
            continue
        report.moved += 1
        if not store.delete_unless_retained(move.key, move.s3_version_id):
            report.old_copies_locked += 1
    return report
