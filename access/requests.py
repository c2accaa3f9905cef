"""Access requests: a user asks to read (or amend) one record for some days; a holder of "grant" decides.

A request states its purpose: ``read`` (the default) or ``amend`` (read and file new versions;
only for a user whose role may file versions of that record type). Approving creates a
:class:`catalog.schema.Grant` of the same purpose; nobody approves their own request.
Every change is audited in the same transaction; every refusal for lack of permission is
audited with outcome "denied" in a transaction of its own (the refused one rolls back).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from access.grants import GrantView, grant_view
from access.purposes import Purpose
from archive.fields import REASON, required_text
from archive.records import find_record
from archive.service import as_utc, utcnow
from audit import trail
from audit.actor import Actor
from catalog.schema import AccessRequest, Grant, RecordState, RequestState
from errors import Conflict, Forbidden, NotFound, UsageError
from naming import parse_name

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from access.policy import AccessPolicy
    from archive.service import Archive
    from config.settings import Settings


@dataclass(frozen=True)
class RequestView:
    id: int
    record: str
    requester: str
    reason: str
    days: int
    purpose: str
    state: str
    created_at: str
    decided_by: str | None
    decided_at: str | None
    decision_reason: str | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def request_view(request: AccessRequest) -> RequestView:
    return RequestView(
        id=request.id,
        record=request.record_name,
        requester=request.requester,
        reason=request.reason,
        days=request.days,
        purpose=request.purpose,
        state=request.state,
        created_at=as_utc(request.created_at).isoformat(),
        decided_by=request.decided_by,
        decided_at=as_utc(request.decided_at).isoformat() if request.decided_at else None,
        decision_reason=request.decision_reason,
    )


def _check_days(settings: Settings, days: int) -> int:
    maximum = settings.access.max_grant_days
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= maximum:
        raise UsageError(f"days must be a whole number from 1 to {maximum}, not {days!r}")
    return days


def _check_purpose(purpose: object) -> str:
    """``purpose`` if it is one a request may state; UsageError otherwise."""
    if purpose not in Purpose.ALL:
        raise UsageError(f"purpose must be {' or '.join(Purpose.ALL)}, not {purpose!r}")
    return str(purpose)


def _check_needed(session: Session, policy: AccessPolicy, actor: Actor, name: str, purpose: str,
                  now: datetime) -> None:
    """Refuse a request that could not help: the actor already may, or (amend) never could, do it."""
    if purpose == Purpose.READ:
        if policy.allows(session, actor, "read", record_name=name, now=now):
            raise Conflict(f"you can already read {name}; no request needed")
        return
    record_type = parse_name(name).type
    if not policy.allows(session, actor, "version", record_type=record_type, now=now):
        raise Forbidden(f"{actor.name} ({actor.role}) may not file versions of {record_type} records; "
                        "an amend grant cannot change that")
    if policy.allows(session, actor, "version", record_name=name, now=now):
        raise Conflict(f"you can already file new versions of {name}; no request needed")


def request_access(
    archive: Archive, policy: AccessPolicy, actor: Actor, record_name: str, reason: str, days: int | None = None,
    purpose: str = Purpose.READ,
) -> RequestView:
    """Ask to read (``purpose`` ``read``) or amend one record for ``days`` (default ``access.default_grant_days``).

    ``amend`` is refused (Forbidden) to a role that may not file versions of the record's type.
    """
    name = str(parse_name(record_name))
    reason = required_text(REASON, reason)
    days = _check_days(archive.settings, archive.settings.access.default_grant_days if days is None else days)
    purpose = _check_purpose(purpose)
    try:
        with archive.catalog.write() as session:
            record = find_record(session, parse_name(name))
            if record.state != RecordState.ACTIVE:
                raise NotFound(f"{name} is not an active record ({record.state})")
            now = utcnow()
            policy.require(session, actor, "request", record_name=name, now=now)
            _check_needed(session, policy, actor, name, purpose, now)
            pending = session.scalar(
                select(AccessRequest.id).where(
                    AccessRequest.requester == actor.name,
                    AccessRequest.record_name == name,
                    AccessRequest.state == RequestState.PENDING,
                ).limit(1)
            )
            if pending is not None:
                raise Conflict(f"you already have a pending request for {name} (request {pending})")
            request = AccessRequest(
                record_name=name, requester=actor.name, reason=reason, days=days, purpose=purpose,
                state=RequestState.PENDING, created_at=now,
            )
            session.add(request)
            session.flush()
            trail.append(
                session, actor=actor.name, action="access.request", source=actor.source, record=name,
                detail={"request": request.id, "days": days, "purpose": purpose, "reason": reason},
            )
            return request_view(request)
    except Forbidden as exc:
        trail.refused(archive, actor, "access.request", exc, record=name, purpose=purpose)
        raise


def my_requests(archive: Archive, actor: Actor) -> list[RequestView]:
    """The actor's own requests, oldest first, in every state."""
    with archive.catalog.read() as session:
        rows = session.scalars(
            select(AccessRequest).where(AccessRequest.requester == actor.name).order_by(AccessRequest.id)
        )
        return [request_view(row) for row in rows]


def pending_requests(archive: Archive, policy: AccessPolicy, actor: Actor) -> list[RequestView]:
    """Every request waiting for a decision, oldest first. Needs the "grant" right."""
    try:
        with archive.catalog.read() as session:
            policy.require(session, actor, "grant")
            rows = session.scalars(
                select(AccessRequest).where(AccessRequest.state == RequestState.PENDING).order_by(AccessRequest.id)
            )
            return [request_view(row) for row in rows]
    except Forbidden as exc:
        trail.refused(archive, actor, "access.pending", exc)
        raise


def _pending_request(session: Session, policy: AccessPolicy, actor: Actor, request_id: int) -> AccessRequest:
    """The request to decide, once the actor is known to hold "grant" for its record."""
    request = session.get(AccessRequest, request_id)
    if request is None:
        policy.require(session, actor, "grant")  # only those who may decide learn which requests exist
        raise NotFound(f"no access request {request_id}")
    policy.require(session, actor, "grant", record_name=request.record_name)
    return request


def approve(
    archive: Archive, policy: AccessPolicy, actor: Actor, request_id: int, days: int | None = None
) -> GrantView:
    """Grant a pending request for ``days`` (default: the days asked for). Needs "grant"; never one's own."""
    if days is not None:
        _check_days(archive.settings, days)
    record: str | None = None
    try:
        with archive.catalog.write() as session:
            request = _pending_request(session, policy, actor, request_id)
            record = request.record_name
            if request.requester == actor.name:
                raise Forbidden("nobody approves their own request")
            if request.state != RequestState.PENDING:
                raise Conflict(f"request {request_id} is already {request.state}")
            granted_days = _check_days(archive.settings, request.days if days is None else days)
            now = utcnow()
            grant = Grant(
                user_name=request.requester, record_name=request.record_name, request_id=request.id,
                purpose=request.purpose, granted_by=actor.name, created_at=now,
                expires_at=now + timedelta(days=granted_days),
                expiry_recorded=False,
            )
            session.add(grant)
            request.state = RequestState.APPROVED
            request.decided_by = actor.name
            request.decided_at = now
            session.flush()
            trail.append(
                session, actor=actor.name, action="access.approve", source=actor.source, record=request.record_name,
                detail={"request": request.id, "grant": grant.id, "user": request.requester,
                        "purpose": grant.purpose, "expires_at": as_utc(grant.expires_at).isoformat()},
            )
            return grant_view(grant, now)
    except Forbidden as exc:
        trail.refused(archive, actor, "access.approve", exc, record=record, request=request_id)
        raise


def deny(archive: Archive, policy: AccessPolicy, actor: Actor, request_id: int, reason: str) -> RequestView:
    """Refuse a pending request, saying why. Needs the "grant" right."""
    reason = required_text(REASON, reason, "reason for the denial")
    record: str | None = None
    try:
        with archive.catalog.write() as session:
            request = _pending_request(session, policy, actor, request_id)
            record = request.record_name
            if request.state != RequestState.PENDING:
                raise Conflict(f"request {request_id} is already {request.state}")
            request.state = RequestState.DENIED
            request.decided_by = actor.name
            request.decided_at = utcnow()
            request.decision_reason = reason
            session.flush()
            trail.append(
                session, actor=actor.name, action="access.deny", source=actor.source, record=request.record_name,
                detail={"request": request.id, "user": request.requester, "purpose": request.purpose,
                        "reason": reason},
            )
            return request_view(request)
    except Forbidden as exc:
        trail.refused(archive, actor, "access.deny", exc, record=record, request=request_id)
        raise
