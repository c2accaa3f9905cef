"""``strongroom audit …``: the tamper-evident audit trail, for auditors."""

from __future__ import annotations

import sys
from datetime import datetime

import click

from commands.common import State, actor_option, json_option, pass_state, print_json


@click.group()
def audit() -> None:
    """Read and verify the hash-chained audit trail (auditors, director)."""


@audit.command("log")
@click.option("--record", metavar="NAME", help="Only events about this record.")
@click.option("--user", metavar="USER", help="Only events by this user.")
@click.option("--action", metavar="ACTION", help="Only this action, e.g. record.read, auth.login.")
@click.option("--since", type=click.DateTime(), help="From this date/time (UTC).")
@click.option("--until", type=click.DateTime(), help="Up to this date/time (UTC).")
@click.option("--limit", type=click.IntRange(min=1), help="At most this many events.")
@click.option("--csv", "as_csv", is_flag=True, help="Print CSV (for a spreadsheet).")
@actor_option
@json_option
@pass_state
def log(state: State, record: str | None, user: str | None, action: str | None, since: datetime | None,
        until: datetime | None, limit: int | None, as_csv: bool, actor: str, as_json: bool) -> None:
    """List audit events, oldest first."""
    from audit.log import write_csv
    from errors import UsageError

    if as_csv and as_json:
        raise UsageError("--csv and --json are alternatives")
    events = state.backend(actor).audit_log(
        record=record, user=user, action=action, since=_utc(since), until=_utc(until), limit=limit
    )
    if as_json:
        print_json([event.as_dict() for event in events])
    elif as_csv:
        write_csv(events, sys.stdout)
    else:
        for e in events:
            where = f" {e.record}" + (f" v{e.version}" if e.version else "") if e.record else ""
            click.echo(f"{e.seq:>7} {e.at[:19]}Z {e.actor:<16} {e.action:<16} {e.outcome:<7}{where}  [{e.source}]")


def _utc(moment: datetime | None) -> datetime | None:
    from datetime import UTC

    return moment.replace(tzinfo=UTC) if moment and moment.tzinfo is None else moment


@audit.command("verify")
@actor_option
@json_option
@pass_state
def verify(state: State, actor: str, as_json: bool) -> None:
    """Walk the whole chain and compare it with the checkpoints in the bucket.

    Exits 1 and names the first broken link if any event was edited, deleted,
    inserted or reordered, or the trail was cut short.
    """
    report = state.backend(actor).audit_verify()
    if as_json:
        print_json(report.as_dict())
    else:
        lock = report.lock
        click.echo(f"audit trail: {report.checked} event(s), head {report.head_seq} {report.head_hash[:16]}, "
                   f"{report.checkpoints} checkpoint(s)")
        if lock is not None:
            click.echo("checkpoints are write-once (object lock enforced)" if lock.enforced
                       else f"warning: checkpoints are not write-once: {lock.detail}")
        click.echo("chain OK" if report.ok else f"BROKEN at event {report.first_bad}: {report.problem}")
    if not report.ok:
        sys.exit(1)


@audit.command("checkpoint")
@pass_state
def checkpoint(state: State) -> None:
    """Write the chain head into the bucket now (operator; the service does this regularly)."""
    from audit.checkpoints import write_checkpoint

    made = write_checkpoint(state.archive)
    if made is None:
        click.echo("nothing new to checkpoint")
    else:
        click.echo(f"checkpoint at event {made.seq} ({'locked' if made.locked else 'not locked'})")
