"""``strongroom access …``: ask for access to a record; the director decides."""

from __future__ import annotations

import click

from access.purposes import Purpose
from commands.common import (
    State,
    actor_option,
    json_option,
    pass_state,
    print_item,
    print_items,
)


@click.group()
def access() -> None:
    """Request, grant and revoke access to records.

    \b
    strongroom access request 2026-0001-contract --reason "loan review" --days 3
    strongroom access request 2026-0001-contract --reason "signed copy" --purpose amend
    strongroom access pending                      (director)
    strongroom access approve 12 [--days 7]        (director; nobody approves their own)
    strongroom access grants                       (the director sees every active grant)
    """


def _request_line(item: object) -> str:
    r = item  # RequestView
    decided = f" by {r.decided_by}" if r.decided_by else ""  # type: ignore[attr-defined]
    why = f": {r.decision_reason}" if r.decision_reason else ""  # type: ignore[attr-defined]
    return (f"#{r.id:<5} {r.record:<24} {r.requester:<14} {r.purpose:<6} {r.days:>3}d  "  # type: ignore[attr-defined]
            f"{r.state}{decided}{why}  ({r.reason})")  # type: ignore[attr-defined]


def _grant_line(g: object) -> str:
    state = "active" if g.active else ("revoked" if g.revoked_at else "expired")  # type: ignore[attr-defined]
    return (f"grant {g.id:<5} {g.user:<14} {g.record:<24} {g.purpose:<6} "  # type: ignore[attr-defined]
            f"until {g.expires_at}  {state}")  # type: ignore[attr-defined]


@access.command("request")
@click.argument("name")
@click.option("--reason", required=True, help="Why you need it (shown to the director, kept in the audit trail).")
@click.option("--days", type=click.IntRange(min=1), help="How long.  [default: access.default_grant_days, 7]")
@click.option("--purpose", type=click.Choice(Purpose.ALL), default=Purpose.READ, show_default=True,
              help="read: read it; amend: read it and file new versions (e.g. the signed copy).")
@actor_option
@json_option
@pass_state
def request(state: State, name: str, reason: str, days: int | None, purpose: str, actor: str, as_json: bool) -> None:
    """Ask the director for access to NAME: to read it, or to amend it."""
    made = state.backend(actor).request(name, reason, days, purpose)
    print_item(made, as_json, f"request #{made.id} to {made.purpose} {made.record} sent; "
                              "the director decides ('strongroom access mine')")


@access.command("mine")
@actor_option
@json_option
@pass_state
def mine(state: State, actor: str, as_json: bool) -> None:
    """My requests and how they were decided."""
    found = state.backend(actor).mine()
    print_items(found, as_json, _request_line, "no requests")


@access.command("pending")
@actor_option
@json_option
@pass_state
def pending(state: State, actor: str, as_json: bool) -> None:
    """Requests awaiting a decision (director)."""
    found = state.backend(actor).pending()
    print_items(found, as_json, _request_line, "no pending requests")


@access.command("approve")
@click.argument("request_id", type=click.IntRange(min=1))
@click.option("--days", type=click.IntRange(min=1), help="Grant length.  [default: as requested]")
@actor_option
@json_option
@pass_state
def approve(state: State, request_id: int, days: int | None, actor: str, as_json: bool) -> None:
    """Approve a request: the requester may read (or amend) the record until the grant expires."""
    grant = state.backend(actor).approve(request_id, days)
    print_item(grant, as_json, f"approved #{request_id}: {_grant_line(grant)}")


@access.command("deny")
@click.argument("request_id", type=click.IntRange(min=1))
@click.option("--reason", required=True, help="Why (the requester sees it).")
@actor_option
@json_option
@pass_state
def deny(state: State, request_id: int, reason: str, actor: str, as_json: bool) -> None:
    """Deny a request."""
    denied = state.backend(actor).deny(request_id, reason)
    print_item(denied, as_json, f"denied #{denied.id} ({denied.record} for {denied.requester})")


@access.command("revoke")
@click.argument("grant_id", type=click.IntRange(min=1))
@actor_option
@json_option
@pass_state
def revoke(state: State, grant_id: int, actor: str, as_json: bool) -> None:
    """Revoke a grant at once."""
    grant = state.backend(actor).revoke(grant_id)
    print_item(grant, as_json, f"revoked {_grant_line(grant)}")


@access.command("grants")
@click.option("--inactive", is_flag=True, help="Include expired and revoked grants.")
@actor_option
@json_option
@pass_state
def grants(state: State, inactive: bool, actor: str, as_json: bool) -> None:
    """List grants: every grant to whoever decides requests (director), otherwise my own."""
    found = state.backend(actor).list_grants(include_inactive=inactive)
    print_items(found, as_json, _grant_line, "no grants" if inactive else "no active grants")
