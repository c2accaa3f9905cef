"""Whether a record may be disposed of, and which versions are due to move to the archive tier (pure)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from schedules.retention import RetentionDate


@dataclass(frozen=True)
class DisposalFacts:
    """What decides a disposal, gathered from the catalog."""

    name: str
    state: str
    retention: RetentionDate
    held: bool
    locked_until: datetime | None


def disposal_refusal(facts: DisposalFacts, today: date, now: datetime) -> str | None:
    """Why ``facts.name`` cannot be disposed of now, or None when it can."""
    if facts.state != "active":
        return f"{facts.name} is {facts.state}"
    if facts.held:
        return f"{facts.name} is on legal hold"
    until = facts.retention.until
    if until is None:
        return f"{facts.name} has no retention date yet ({facts.retention.basis})"
    if not facts.retention.due(today):
        return f"{facts.name} must be kept until {until.isoformat()} ({facts.retention.basis})"
    if facts.locked_until is not None and facts.locked_until > now:
        return f"{facts.name} is write-once in storage until {facts.locked_until.isoformat()}"
    return None


def due_for_archive_tier(archived_at: datetime | None, storage_class: str | None, target_class: str,
                         after_days: int, now: datetime) -> bool:
    """An archived version moves to ``target_class`` once it has been archived ``after_days`` days (0: never)."""
    if after_days <= 0 or archived_at is None or storage_class == target_class:
        return False
    return now - archived_at >= timedelta(days=after_days)


def expiring_soon(retention: RetentionDate, today: date, notice_days: int) -> bool:
    """Retention ends within ``notice_days`` (and has not ended yet)."""
    until = retention.until
    return until is not None and today <= until <= today + timedelta(days=notice_days)


def lock_summary(enforced: bool, detail: str, lock_versions: bool) -> str:
    """One line on what write-once storage protects, from the Object Lock probe and ``retention.object_lock``."""
    if not enforced:
        return (f"object lock: NOT enforced ({detail}); the archive still refuses to dispose of a record before "
                "its retention date, but the storage itself does not stop early deletion")
    if not lock_versions:
        return ("object lock: enforced for audit checkpoints; record versions are not locked "
                "(retention.object_lock = false)")
    return "object lock: enforced; every record version is write-once until its retention date"
