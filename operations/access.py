"""Access requests, grants and the audit trail on behalf of an actor (CLI and API alike)."""

from __future__ import annotations

from datetime import datetime

from access import grants, requests
from access.grants import GrantView
from access.purposes import Purpose
from access.requests import RequestView
from audit.log import query
from audit.trail import Event
from audit.trail import record as audit
from audit.verify import AuditReport, verify_audit
from operations.context import Context


def request(ctx: Context, name: str, reason: str, days: int | None, purpose: str = Purpose.READ) -> RequestView:
    return requests.request_access(ctx.archive, ctx.policy, ctx.actor, name, reason, days, purpose)


def mine(ctx: Context) -> list[RequestView]:
    return requests.my_requests(ctx.archive, ctx.actor)


def pending(ctx: Context) -> list[RequestView]:
    return requests.pending_requests(ctx.archive, ctx.policy, ctx.actor)


def approve(ctx: Context, request_id: int, days: int | None) -> GrantView:
    return requests.approve(ctx.archive, ctx.policy, ctx.actor, request_id, days)


def deny(ctx: Context, request_id: int, reason: str) -> RequestView:
    return requests.deny(ctx.archive, ctx.policy, ctx.actor, request_id, reason)


def revoke(ctx: Context, grant_id: int) -> GrantView:
    return grants.revoke(ctx.archive, ctx.policy, ctx.actor, grant_id)


def decides(ctx: Context) -> bool:
    """Whether the actor decides access requests and revokes grants (policy ``grant``)."""
    return ctx.allows("grant")


def list_grants(ctx: Context, *, include_inactive: bool = False) -> list[GrantView]:
    """Every grant to those who decide them (policy ``grant``), otherwise the actor's own; active ones unless asked."""
    user = None if decides(ctx) else ctx.actor.name
    return grants.list_grants(ctx.archive, user=user, active_only=not include_inactive)


def audit_log(
    ctx: Context, *, record: str | None = None, user: str | None = None, action: str | None = None,
    since: datetime | None = None, until: datetime | None = None, limit: int | None = None,
) -> list[Event]:
    """Audit events for an auditor; reading the trail is itself recorded."""
    ctx.require("audit", "audit.log")
    events = query(ctx.archive, record=record, actor=user, action=action, since=since, until=until, limit=limit)
    audit(ctx.archive, ctx.actor, "audit.log", record=record,
          detail={"user": user, "action": action, "events": len(events)})
    return events


def audit_verify(ctx: Context) -> AuditReport:
    ctx.require("audit", "audit.verify")
    report = verify_audit(ctx.archive)
    audit(ctx.archive, ctx.actor, "audit.verify", outcome="ok" if report.ok else "failed",
          detail={"checked": report.checked, "first_bad": report.first_bad})
    return report
