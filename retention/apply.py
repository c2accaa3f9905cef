"""``strongroom retention apply``: the daily scheduled retention work, resumable and idempotent.

1. finish disposals that were approved but interrupted, and put S3 legal hold (again) on
   held records' objects (repairing a hold whose storage part failed);
2. put or lengthen Object Lock on stored versions whose record's retention date now
   reaches further (a schedule made longer, a trigger date given later);
3. move superseded versions to the archive storage class once they are old enough;
4. count records past retention and those whose retention ends soon (notices).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select

from archive.retention_dates import lock_moment, retention_of, scheduled
from archive.service import Archive, as_utc
from catalog.schema import Record, RecordState, Version
from errors import StrongroomError
from retention import disposal, holds, status, tiering
from retention.status import LIVE_VERSIONS


@dataclass
class ApplyReport:
    disposals_finished: int = 0
    holds_reasserted: int = 0
    locks_extended: int = 0
    moved_to_archive_tier: int = 0
    old_copies_locked: int = 0
    due: list[str] = field(default_factory=list)
    expiring: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def summary(self) -> str:
        parts = [
            f"{self.disposals_finished} disposal(s) finished",
            f"{self.locks_extended} lock(s) extended",
            f"{self.moved_to_archive_tier} version(s) moved to the archive tier",
            f"{len(self.due)} record(s) past retention",
            f"{len(self.expiring)} ending within the notice period",
        ]
        if self.old_copies_locked:
            parts.append(f"{self.old_copies_locked} old copies kept by Object Lock")
        if self.problems:
            parts.append(f"{len(self.problems)} problem(s)")
        return "retention apply: " + ", ".join(parts)


def extend_locks(archive: Archive, now: datetime, name: str | None = None) -> int:
    """Lengthen each live version's lock to its record's current retention date; return how many changed.

    Every active record, or only the one named.
    """
    if not archive.locks_versions:
        return 0
    query = (
        select(Version.id, Version.object_key, Version.s3_version_id, Version.locked_until, Record.type,
               Record.created_at, Record.retain_from)
        .join(Record)
        .where(Record.state == RecordState.ACTIVE, Version.state.in_(LIVE_VERSIONS))
    )
    if name is not None:
        query = query.where(Record.name == name)
    todo: list[tuple[int, str, str, datetime]] = []
    with archive.catalog.read() as session:
        for row_id, key, s3_version_id, locked, record_type, created, retain_from in session.execute(query):
            if not scheduled(archive.settings, record_type):
                continue
            retention = retention_of(archive.settings, record_type, as_utc(created), retain_from)
            wanted = lock_moment(archive.settings, retention, now)
            if wanted is not None and (locked is None or as_utc(locked) < wanted):
                todo.append((row_id, key, s3_version_id or "", wanted))
    for row_id, key, s3_version_id, wanted in todo:
        archive.store.extend_retention(key, s3_version_id, wanted)
        with archive.catalog.write() as session:
            version = session.get(Version, row_id)
            if version is not None and version.s3_version_id == s3_version_id:
                version.locked_until = wanted
    return len(todo)


def apply(archive: Archive, now: datetime) -> ApplyReport:
    report = ApplyReport()
    for request_id in disposal.unfinished(archive):
        try:
            disposal.carry_out(archive, request_id)
            report.disposals_finished += 1
        except StrongroomError as exc:  # one stuck disposal must not stop the daily work
            report.problems.append(f"disposal request {request_id}: {exc}")
    report.holds_reasserted = holds.reassert(archive)
    report.locks_extended = extend_locks(archive, now)
    moved = tiering.move_to_archive_tier(archive, now)
    report.moved_to_archive_tier, report.old_copies_locked = moved.moved, moved.old_copies_locked
    with archive.catalog.read() as session:
        report.due = [view.name for view in status.due(session, archive, now)]
        report.expiring = [view.name for view in status.expiring(session, archive, now)]
    return report
