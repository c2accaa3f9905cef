"""``strongroom retention …`` and ``strongroom hold …``: how long records are kept, holds, approved disposal."""

from __future__ import annotations

from datetime import datetime

import click

from commands.common import (
    State,
    actor_option,
    json_option,
    operator_actor,
    pass_state,
    print_item,
    print_items,
    print_json,
)


@click.group()
def retention() -> None:
    """Retention dates, disposal of records past retention (approved by the director), daily upkeep.

    \b
    strongroom retention show 2026-0001-contract
    strongroom retention trigger 2026-0001-contract --date 2031-06-30 --reason "contract ended"
    strongroom retention due [--json]
    strongroom retention dispose 2016-0003-minutes --reason "retention ended"   (manager)
    strongroom retention approve 4                                               (director)
    strongroom retention certificate 2016-0003-minutes
    strongroom retention apply                    (daily from cron, on the server host)

    There is no other way to delete a record.
    """


def _retention_lines(view: object) -> list[str]:
    v = view  # RetentionView
    lines = [
        f"{v.name}  ({v.type}, {v.state})",  # type: ignore[attr-defined]
        f"  schedule:       {v.schedule}",  # type: ignore[attr-defined]
        f"  retained until: {v.retain_until or 'not known yet'}  ({v.basis})",  # type: ignore[attr-defined]
    ]
    if v.locked_until:  # type: ignore[attr-defined]
        lines.append(f"  write-once until {v.locked_until} (S3 Object Lock, compliance mode)")  # type: ignore[attr-defined]
    if v.held:  # type: ignore[attr-defined]
        lines.append("  on legal hold")
    if v.disposed_at:  # type: ignore[attr-defined]
        lines.append(f"  disposed of {v.disposed_at}")  # type: ignore[attr-defined]
    elif v.disposable:  # type: ignore[attr-defined]
        lines.append("  past retention: may be disposed of ('strongroom retention dispose')")
    else:
        lines.append(f"  not disposable now: {v.blocked_by}")  # type: ignore[attr-defined]
    return lines


@retention.command("show")
@click.argument("name")
@actor_option
@json_option
@pass_state
def show(state: State, name: str, actor: str, as_json: bool) -> None:
    """NAME's retention date and why, its write-once date and any hold."""
    view = state.backend(actor).retention_show(name)
    if as_json:
        print_json(view.as_dict())
        return
    for line in _retention_lines(view):
        click.echo(line)


@retention.command("due")
@actor_option
@json_option
@pass_state
def due(state: State, actor: str, as_json: bool) -> None:
    """Records past their retention date and not on hold."""
    found = state.backend(actor).retention_due()
    print_items(found, as_json, lambda view: f"{view.name:<26} retained until {view.retain_until}  ({view.basis})")
    if not as_json:
        click.echo(f"{len(found)} record(s) past retention")


@retention.command("trigger")
@click.argument("name")
@click.option("--date", "day", required=True, type=click.DateTime(formats=["%Y-%m-%d"]), metavar="YYYY-MM-DD",
              help="The date NAME's retention counts from (e.g. the contract's end date).")
@click.option("--reason", required=True, help="Why (kept in the audit trail).")
@actor_option
@json_option
@pass_state
def trigger(state: State, name: str, day: datetime, reason: str, actor: str, as_json: bool) -> None:
    """Give or correct the date NAME's retention counts from, when it was not known at filing (manager)."""
    view = state.backend(actor).retention_trigger(name, day.date(), reason)
    if as_json:
        print_json(view.as_dict())
        return
    for line in _retention_lines(view):
        click.echo(line)


def _request_line(item: object) -> str:
    r = item  # DisposalView
    decided = f" by {r.decided_by}" if r.decided_by else ""  # type: ignore[attr-defined]
    why = f": {r.decision_reason}" if r.decision_reason else ""  # type: ignore[attr-defined]
    return (f"disposal #{r.id:<4} {r.state}{decided}{why}  requested by {r.requested_by} "  # type: ignore[attr-defined]
            f"({r.reason}): {', '.join(r.records)}")  # type: ignore[attr-defined]


@retention.command("dispose")
@click.argument("names", nargs=-1, required=True, metavar="NAME...")
@click.option("--reason", required=True, help="Why (kept in the request and on the disposal certificate).")
@actor_option
@json_option
@pass_state
def dispose(state: State, names: tuple[str, ...], reason: str, actor: str, as_json: bool) -> None:
    """Ask for records past retention to be disposed of (manager); the director approves."""
    made = state.backend(actor).retention_dispose(list(names), reason)
    print_item(made, as_json, f"disposal request #{made.id} for {len(made.records)} record(s) sent; "
                         f"the director approves ('strongroom retention approve {made.id}')")


@retention.command("requests")
@click.option("--all", "everything", is_flag=True, help="Every request, not only pending ones.")
@actor_option
@json_option
@pass_state
def requests(state: State, everything: bool, actor: str, as_json: bool) -> None:
    """Disposal requests awaiting a decision (or all of them)."""
    found = state.backend(actor).retention_requests(pending_only=not everything)
    print_items(found, as_json, _request_line,
                "no disposal requests" if everything else "no pending disposal requests")


@retention.command("approve")
@click.argument("request_id", type=click.IntRange(min=1), metavar="ID")
@actor_option
@json_option
@pass_state
def approve(state: State, request_id: int, actor: str, as_json: bool) -> None:
    """Approve disposal request ID (director) and carry it out: every version is deleted, a certificate kept."""
    done = state.backend(actor).retention_approve(request_id)
    if as_json:
        print_json(done.as_dict())
        return
    for name, seq in done.certificates.items():
        click.echo(f"{name} disposed of; certificate: audit event {seq} ('strongroom retention certificate {name}')")


@retention.command("deny")
@click.argument("request_id", type=click.IntRange(min=1), metavar="ID")
@click.option("--reason", required=True, help="Why (shown to the requester).")
@actor_option
@json_option
@pass_state
def deny(state: State, request_id: int, reason: str, actor: str, as_json: bool) -> None:
    """Refuse disposal request ID (director)."""
    done = state.backend(actor).retention_deny(request_id, reason)
    print_item(done, as_json, f"disposal request #{done.id} denied")


@retention.command("certificate")
@click.argument("name")
@actor_option
@json_option
@pass_state
def certificate(state: State, name: str, actor: str, as_json: bool) -> None:
    """Print the disposal certificate of NAME, as kept in the audit trail."""
    cert = state.backend(actor).retention_certificate(name)
    if as_json:
        print_json(cert.as_dict())
        return
    d = cert.detail
    click.echo(f"DISPOSAL CERTIFICATE — {d['record']} ({d['type']})")
    click.echo(f"  filed:        {d['filed_at']}")
    click.echo(f"  retention:    {d['retention']} (until {d['retain_until']})")
    for version in d["versions"]:
        click.echo(f"  version {version['version']}:    sha256 {version['sha256']}  {version['size']} bytes, "
                   f"filed {version['filed_at']} by {version['filed_by']}")
    click.echo(f"  requested by: {d['requested_by']} at {d['requested_at']} — {d['reason']}")
    click.echo(f"  approved by:  {d['approved_by']} at {d['approved_at']}")
    click.echo(f"  disposed of:  {d['disposed_at']}; every stored version deleted from the bucket")
    click.echo(f"  audit event {cert.seq} at {cert.at}, chain hash {cert.hash} ('strongroom audit verify')")


@retention.command("apply")
@json_option
@pass_state
def apply_command(state: State, as_json: bool) -> None:
    """Daily upkeep (cron, on the server host): finish disposals, extend locks, archive-tier moves, notices.

    Prints one summary line; exits 1 when something needs attention (listed on stderr).
    """
    from archive.service import utcnow
    from audit.trail import record
    from retention.apply import apply

    archive = state.archive
    report = apply(archive, utcnow())
    record(archive, operator_actor(), "retention.apply", outcome="failed" if report.problems else "ok",
           detail={k: v for k, v in report.as_dict().items() if k not in ("due", "expiring")}
           | {"due": len(report.due), "expiring": len(report.expiring)})
    if as_json:
        print_json(report.as_dict())
    else:
        click.echo(report.summary())
        for problem in report.problems:
            click.echo(f"strongroom: {problem}", err=True)
    if report.problems:
        raise SystemExit(1)


@click.group()
def hold() -> None:
    """Legal holds: a held record cannot be disposed of, whatever its retention date (director).

    \b
    strongroom hold place 2026-0001-contract --reason "litigation 2026-17"
    strongroom hold release 2026-0001-contract [--reason TEXT]
    strongroom hold list [--all]
    """


def _hold_line(view: object) -> str:
    h = view  # HoldView
    released = f", released {h.released_at} by {h.released_by}" if h.released_at else ""  # type: ignore[attr-defined]
    return f"hold {h.id:<4} {h.record:<26} since {h.placed_at} by {h.placed_by}: {h.reason}{released}"  # type: ignore[attr-defined]


@hold.command("place")
@click.argument("name")
@click.option("--reason", required=True, help="The matter (litigation, investigation, audit) — recorded.")
@actor_option
@json_option
@pass_state
def place(state: State, name: str, reason: str, actor: str, as_json: bool) -> None:
    """Put NAME on legal hold."""
    view = state.backend(actor).hold_place(name, reason)
    print_item(view, as_json, f"{view.record} is on hold (hold {view.id}); {view.storage}")


@hold.command("release")
@click.argument("name")
@click.option("--reason", help="Why it is released (recorded).")
@actor_option
@json_option
@pass_state
def release(state: State, name: str, reason: str | None, actor: str, as_json: bool) -> None:
    """Release NAME's legal hold."""
    view = state.backend(actor).hold_release(name, reason)
    print_item(view, as_json, f"{view.record}: hold {view.id} released; {view.storage}")


@hold.command("list")
@click.option("--all", "everything", is_flag=True, help="Released holds too.")
@actor_option
@json_option
@pass_state
def list_holds(state: State, everything: bool, actor: str, as_json: bool) -> None:
    """Holds in force (or all of them)."""
    found = state.backend(actor).hold_list(include_released=everything)
    print_items(found, as_json, _hold_line, "no holds")


@click.command("rm", hidden=True)
@click.argument("name")
@actor_option
@pass_state
def rm(state: State, name: str, actor: str) -> None:
    """There is no deletion: records leave only by approved disposal. The attempt is refused and recorded."""
    state.backend(actor).delete(name)
