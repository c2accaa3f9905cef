"""Legal holds: while a record is held it cannot be disposed of, whatever its retention date.

A hold lives in the catalog (what the archive itself enforces) and, where the bucket has
Object Lock, as S3 legal hold on every object version of the record (what the storage
enforces). Placing and releasing are audited in the same transaction; refusals in their own.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from archive.fields import REASON, check_text, required_text
from archive.objects import record_objects
from archive.records import find_record
from archive.service import as_utc, utcnow
from audit import trail
from audit.actor import Actor
from catalog.schema import Hold, RecordState
from errors import Conflict, Forbidden, NotFound
from naming import parse_name

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from access.policy import AccessPolicy
    from archive.service import Archive


@dataclass(frozen=True)
class HoldView:
    id: int
    record: str
    reason: str
    placed_by: str
    placed_at: str
    released_by: str | None
    released_at: str | None
    release_reason: str | None
    storage: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def hold_view(hold: Hold, storage: str = "") -> HoldView:
    return HoldView(
        id=hold.id, record=hold.record_name, reason=hold.reason, placed_by=hold.placed_by,
        placed_at=as_utc(hold.placed_at).isoformat(), released_by=hold.released_by,
        released_at=as_utc(hold.released_at).isoformat() if hold.released_at else None,
        release_reason=hold.release_reason, storage=storage,
    )


def active_hold(session: Session, name: str) -> Hold | None:
    return session.scalar(
        select(Hold).where(Hold.record_name == name, Hold.released_at.is_(None)).order_by(Hold.id).limit(1)
    )


def held_names(session: Session) -> set[str]:
    return set(session.scalars(select(Hold.record_name).where(Hold.released_at.is_(None))))


def place(archive: Archive, policy: AccessPolicy, actor: Actor, name_text: str, reason: str) -> HoldView:
    """Put a record on legal hold (the ``hold`` right). A record already held is a conflict."""
    name = str(parse_name(name_text))
    reason = required_text(REASON, reason)
    try:
        with archive.catalog.write() as session:
            policy.require(session, actor, "hold", record_name=name)
            record = find_record(session, parse_name(name))
            if record.state in (RecordState.DISPOSED, RecordState.DISPOSING, RecordState.VOID):
                raise Conflict(f"{name} is {record.state}; there is nothing to hold")
            existing = active_hold(session, name)
            if existing is not None:
                raise Conflict(
                    f"{name} is already on hold since {as_utc(existing.placed_at).date().isoformat()} "
                    f"(hold {existing.id}, by {existing.placed_by}: {existing.reason})"
                )
            hold = Hold(record_name=name, reason=reason, placed_by=actor.name, placed_at=utcnow())
            session.add(hold)
            session.flush()
            trail.append(session, actor=actor.name, action="hold.place", source=actor.source, record=name,
                         detail={"hold": hold.id, "reason": reason})
            view = hold_view(hold)
    except Forbidden as exc:
        trail.refused(archive, actor, "hold.place", exc, record=name)
        raise
    return _with_storage(view, set_storage_hold(archive, name, True))


def release(archive: Archive, policy: AccessPolicy, actor: Actor, name_text: str, reason: str | None) -> HoldView:
    """Release a record's hold (the ``hold`` right)."""
    name = str(parse_name(name_text))
    note = check_text(REASON, reason)
    try:
        with archive.catalog.write() as session:
            policy.require(session, actor, "hold", record_name=name)
            hold = active_hold(session, name)
            if hold is None:
                raise NotFound(f"{name} is not on hold")
            hold.released_by = actor.name
            hold.released_at = utcnow()
            hold.release_reason = note
            trail.append(session, actor=actor.name, action="hold.release", source=actor.source, record=name,
                         detail={"hold": hold.id, "reason": note})
            view = hold_view(hold)
    except Forbidden as exc:
        trail.refused(archive, actor, "hold.release", exc, record=name)
        raise
    return _with_storage(view, set_storage_hold(archive, name, False))


def list_holds(archive: Archive, policy: AccessPolicy, actor: Actor, *, include_released: bool = False) -> list[HoldView]:
    """Holds in force (or every hold ever placed), oldest first. Needs ``retention`` or ``hold``."""
    with archive.catalog.read() as session:
        if not policy.allows(session, actor, "hold"):
            try:
                policy.require(session, actor, "retention")
            except Forbidden as exc:
                trail.refused(archive, actor, "hold.list", exc)
                raise
        query = select(Hold).order_by(Hold.id)
        if not include_released:
            query = query.where(Hold.released_at.is_(None))
        return [hold_view(hold) for hold in session.scalars(query)]


def set_storage_hold(archive: Archive, name: str, on: bool) -> str:
    """Turn S3 legal hold on or off for every object version of the record; say what was done."""
    if not archive.locks_versions:
        return "the archive enforces the hold itself (the bucket has no Object Lock)"
    objects = [item for item in record_objects(archive.store, name) if not item.is_delete_marker]
    for item in objects:
        archive.store.set_legal_hold(item.key, item.version_id, on)
    state = "on" if on else "off"
    return f"S3 legal hold {state} for {len(objects)} object version(s)"


def reassert(archive: Archive) -> int:
    """Put S3 legal hold (again) on every object version of every held record; return how many records.

    Repairs a hold whose storage part failed after the catalog recorded it (``retention apply``).
    """
    if not archive.locks_versions:
        return 0
    with archive.catalog.read() as session:
        names = sorted(held_names(session))
    for name in names:
        set_storage_hold(archive, name, True)
    return len(names)


def _with_storage(view: HoldView, storage: str) -> HoldView:
    return HoldView(**{**view.as_dict(), "storage": storage})
