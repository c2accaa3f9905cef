"""Retention, legal holds and disposal on behalf of an actor (CLI and API alike)."""

from __future__ import annotations

from datetime import date

from archive.service import utcnow
from naming import parse_name
from operations.context import Context
from retention import disposal, holds, status, trigger
from retention.disposal import Certificate, DisposalView
from retention.holds import HoldView
from retention.status import RetentionView


def show(ctx: Context, name_text: str) -> RetentionView:
    """A record's retention date, why, its lock and hold (the ``retention`` right)."""
    name = str(parse_name(name_text))
    ctx.require("retention", "retention.show", record_name=name)
    with ctx.archive.catalog.read() as session:
        return status.show(session, ctx.archive, name, utcnow())


def due(ctx: Context) -> list[RetentionView]:
    """Records past retention and not on hold (the ``retention`` right)."""
    ctx.require("retention", "retention.due")
    with ctx.archive.catalog.read() as session:
        return status.due(session, ctx.archive, utcnow())


def set_trigger(ctx: Context, name: str, day: date, reason: str) -> RetentionView:
    """Give or correct the date NAME's retention counts from (``dispose`` right); its locks follow."""
    trigger.set_trigger(ctx.archive, ctx.policy, ctx.actor, name, day, reason)
    with ctx.archive.catalog.read() as session:
        return status.show(session, ctx.archive, name, utcnow())


def dispose(ctx: Context, names: list[str], reason: str) -> DisposalView:
    return disposal.request_disposal(ctx.archive, ctx.policy, ctx.actor, names, reason)


def approve(ctx: Context, request_id: int) -> DisposalView:
    return disposal.approve(ctx.archive, ctx.policy, ctx.actor, request_id)


def deny(ctx: Context, request_id: int, reason: str) -> DisposalView:
    return disposal.deny(ctx.archive, ctx.policy, ctx.actor, request_id, reason)


def requests(ctx: Context, *, pending_only: bool) -> list[DisposalView]:
    return disposal.list_requests(ctx.archive, ctx.policy, ctx.actor, pending_only=pending_only)


def certificate(ctx: Context, name: str) -> Certificate:
    return disposal.certificate(ctx.archive, ctx.policy, ctx.actor, name)


def hold_place(ctx: Context, name: str, reason: str) -> HoldView:
    return holds.place(ctx.archive, ctx.policy, ctx.actor, name, reason)


def hold_release(ctx: Context, name: str, reason: str | None) -> HoldView:
    return holds.release(ctx.archive, ctx.policy, ctx.actor, name, reason)


def hold_list(ctx: Context, *, include_released: bool) -> list[HoldView]:
    return holds.list_holds(ctx.archive, ctx.policy, ctx.actor, include_released=include_released)


def delete(ctx: Context, name: str) -> None:
    """There is no deletion: the attempt is recorded and refused (disposal is the only way out)."""
    raise disposal.refuse_delete(ctx.archive, ctx.actor, name)

