"""Per-record grants: one user may read and view one record until the grant expires or is revoked.

A grant's purpose is ``read`` (the default: read and view only) or ``amend`` (read, view and
file new versions, for a user whose role may file versions of that record type: see
:meth:`access.policy.AccessPolicy.allows`). Grants are rows of the catalog table ``grants``
(never Casbin policy lines); the access policy asks :func:`live_purposes` at decision time,
so an expired or revoked grant stops working at once. :func:`expire_due` only records
expiries in the audit trail.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from archive.service import as_utc, utcnow
from audit import trail
from audit.actor import Actor
from catalog.schema import Grant
from errors import Conflict, Forbidden, NotFound
from naming import parse_name

if TYPE_CHECKING:
    from access.policy import AccessPolicy
    from archive.service import Archive

SYSTEM_ACTOR = "system"
SYSTEM_SOURCE = "service"


@dataclass(frozen=True)
class GrantView:
    id: int
    user: str
    record: str
    purpose: str
    granted_by: str
    created_at: str
    expires_at: str
    revoked_at: str | None
    revoked_by: str | None
    request_id: int | None
    active: bool

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _utc(moment: datetime | None) -> datetime:
    """``moment`` (default: now) as an aware UTC datetime; naive values are taken as UTC."""
    if moment is None:
        return datetime.now(UTC)
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


def is_active(grant: Grant, now: datetime) -> bool:
    return grant.revoked_at is None and as_utc(grant.expires_at) > _utc(now)


def grant_view(grant: Grant, now: datetime | None = None) -> GrantView:
    return GrantView(
        id=grant.id,
        user=grant.user_name,
        record=grant.record_name,
        purpose=grant.purpose,
        granted_by=grant.granted_by,
        created_at=as_utc(grant.created_at).isoformat(),
        expires_at=as_utc(grant.expires_at).isoformat(),
        revoked_at=as_utc(grant.revoked_at).isoformat() if grant.revoked_at else None,
        revoked_by=grant.revoked_by,
        request_id=grant.request_id,
        active=is_active(grant, _utc(now)),
    )


# Built once: constructing a SQLAlchemy statement per call costs more than running it.
_LIVE_PURPOSES = (
    select(Grant.purpose)
    .where(
        Grant.user_name == bindparam("user"),
        Grant.record_name == bindparam("record"),
        Grant.expires_at > bindparam("now", type_=Grant.expires_at.type),
        Grant.revoked_at.is_(None),
    )
)


def live_purposes(session: Session, user: str, record_name: str, now: datetime) -> frozenset[str]:
    """The purposes of ``user``'s grants on ``record_name`` that are neither expired nor revoked at ``now``.

    Empty when there is none. One indexed query (``ix_grants_user_record``: user, record,
    expiry), run on the session's connection through SQLAlchemy Core: this is on the path
    of every read decision.
    """
    params = {"user": user, "record": record_name, "now": _utc(now)}
    return frozenset(session.connection().execute(_LIVE_PURPOSES, params).scalars())


def list_grants(
    archive: Archive,
    *,
    user: str | None = None,
    record: str | None = None,
    active_only: bool = True,
    now: datetime | None = None,
) -> list[GrantView]:
    """Grants, oldest first, optionally of one user and/or one record (no permission check here)."""
    moment = _utc(now)
    query = select(Grant).order_by(Grant.id)
    if user is not None:
        query = query.where(Grant.user_name == user)
    if record is not None:
        query = query.where(Grant.record_name == str(parse_name(record)))
    if active_only:
        query = query.where(Grant.revoked_at.is_(None), Grant.expires_at > moment)
    with archive.catalog.read() as session:
        return [grant_view(grant, moment) for grant in session.scalars(query)]


def revoke(archive: Archive, policy: AccessPolicy, actor: Actor, grant_id: int) -> GrantView:
    """End an active grant now. Needs the "grant" right; Conflict if it already ended."""
    record: str | None = None
    try:
        with archive.catalog.write() as session:
            grant = session.get(Grant, grant_id)
            if grant is None:
                policy.require(session, actor, "grant")  # only those who may revoke learn what exists
                raise NotFound(f"no grant {grant_id}")
            record = grant.record_name
            policy.require(session, actor, "grant", record_name=grant.record_name)
            now = utcnow()
            if grant.revoked_at is not None:
                raise Conflict(f"grant {grant_id} was already revoked by {grant.revoked_by}")
            if as_utc(grant.expires_at) <= now:
                raise Conflict(f"grant {grant_id} already expired at {as_utc(grant.expires_at).isoformat()}")
            grant.revoked_at = now
            grant.revoked_by = actor.name
            session.flush()
            trail.append(
                session, actor=actor.name, action="access.revoke", source=actor.source, record=grant.record_name,
                detail={"grant": grant.id, "user": grant.user_name, "purpose": grant.purpose},
            )
            return grant_view(grant, now)
    except Forbidden as exc:
        trail.refused(archive, actor, "access.revoke", exc, record=record, grant=grant_id)
        raise


def expire_due(archive: Archive, now: datetime | None = None) -> list[GrantView]:
    """Record, once each, the expiry of grants that have run out (revoked ones ended already)."""
    moment = _utc(now)
    with archive.catalog.write() as session:
        due = session.scalars(
            select(Grant)
            .where(Grant.expiry_recorded.is_(False), Grant.revoked_at.is_(None), Grant.expires_at <= moment)
            .order_by(Grant.expires_at, Grant.id)
            .with_for_update()
        ).all()
        views = []
        for grant in due:
            grant.expiry_recorded = True
            trail.append(
                session, actor=SYSTEM_ACTOR, action="access.expire", source=SYSTEM_SOURCE, record=grant.record_name,
                detail={"grant": grant.id, "user": grant.user_name, "expires_at": as_utc(grant.expires_at).isoformat()},
            )
            views.append(grant_view(grant, moment))
        return views
