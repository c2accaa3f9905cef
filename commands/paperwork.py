"""``strongroom template …``, ``meeting …``, ``compliance …``: minutes and monthly reports, the meeting
register, filing deadlines."""

from __future__ import annotations

import io
import sys
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from commands.common import (
    State,
    actor_option,
    json_option,
    operator_actor,
    pass_state,
    print_json,
)
from errors import StrongroomError, UsageError

LANGUAGE = click.option("--lang", type=click.Choice(["zh", "en"]), default="zh", show_default=True,
                        help="Language of the document (zh: simplified Chinese).")


def _output_options(func: Callable[..., Any]) -> Callable[..., Any]:
    func = click.option("--force", is_flag=True, help="Replace an existing output file.")(func)
    func = click.option("--file", "file_it", is_flag=True,
                        help="File the document into the archive instead, linked to its meeting or month.")(func)
    return click.option("-o", "--output", metavar="PATH|-",
                        help="Where to write the .docx ('-' for stdout).  [default: a name from the meeting or month]")(func)


def _local_archive(state: State) -> Any:
    """The home's archive when working locally on an initialised home, else None (``--server``, or no home)."""
    from config.settings import CONFIG_FILE

    if state.server or not (state.home / CONFIG_FILE).exists():
        return None
    return state.archive


def _settings(state: State, archive: Any) -> Any:
    from config.settings import load_settings

    return archive.settings if archive is not None else load_settings(state.home, require_file=False)


def _now() -> datetime:
    from archive.service import utcnow

    return utcnow()


def _deliver(
    state: State, *, render: Callable[[str | None], bytes], output: str | None, default_name: str, file_it: bool,
    force: bool, actor: str, record_type: str, title: str, link: Callable[[str], None] | None,
) -> None:
    """Write the document, or file it: version 1 as generated, then (once the number is known) version 2
    with the record name in its header. Locally, ``link`` then ties the record to its meeting or month."""
    from paperwork.output import write_document

    if not file_it:
        target = output or default_name
        write_document(target, render(None), force=force)
        if target != "-":
            click.echo(f"wrote {target}")
        return
    if output:
        raise UsageError("-o and --file cannot go together")
    backend = state.backend(actor)
    filed = backend.file_new(io.BytesIO(render(None)), record_type=record_type, year=_now().year, title=title,
                             filename=default_name)
    try:
        if link is not None:
            link(filed.name)
        backend.file_new_version(filed.name, io.BytesIO(render(filed.name)), filename=default_name,
                                 comment="record name in the header")
    except StrongroomError as exc:
        raise type(exc)(f"filed {filed.name}, but could not finish: {exc}") from None
    click.echo(filed.name)
    if link is None:
        click.echo(f"note: {filed.name} counts for compliance by its title; action items are registered only "
                   "when filed on the service host", err=True)


def _linker(archive: Any, actor: str, **link_args: Any) -> Callable[[str], None] | None:
    """Locally, link a filed record (and its action items) in the catalog and record it in the audit trail."""
    if archive is None:
        return None

    def link(name: str) -> None:
        from audit.trail import record as audit
        from operations.context import local_actor
        from paperwork.meetings import link as link_record

        who = local_actor(archive, actor)
        link_record(archive, name, by=who.name, **link_args)
        audit(archive, who, "paperwork.link", record=name,
              detail=_link_detail(link_args.get("meeting"), link_args.get("month")))

    return link


def _link_detail(slot: Any, month: Any) -> dict[str, str]:
    return {"meeting": slot.name, "at": slot.at.isoformat()} if slot else {"month": str(month)}


def _follow_up(given: Any, archive: Any, slot: Any) -> tuple[Any, ...]:
    """The follow-up section: as the input file gives it, else (locally) the open action items
    of the meeting's earlier occurrences."""
    from paperwork.data import FollowUp
    from paperwork.meetings import list_actions

    if given is not None:
        return tuple(given)
    if archive is None or slot is None:
        return ()
    return tuple(FollowUp(item.item, item.owner, item.due)
                 for item in list_actions(archive, open_only=True, meeting=slot.name, before=slot.at))


@click.group()
def template() -> None:
    """Meeting minutes and monthly customer reports as .docx documents.

    \b
    strongroom template minutes                                   (a blank form to fill in by hand)
    strongroom template minutes --meeting weekly --date 2026-11-06 --from minutes.yaml --file
    strongroom template report --month 2026-11 --from report.yaml --lang en -o report.docx
    """


@template.command("minutes")
@click.option("--meeting", metavar="NAME", help="The meeting (a recurring one from paperwork.meetings, or one-off).")
@click.option("--date", "when", metavar="DATE", help="Its day, YYYY-MM-DD (add HH:MM if it met twice that day).")
@click.option("--place", help="Where it took place.  [default: the register's]")
@click.option("--chair", help="Who chaired it.")
@click.option("--recorder", help="Who took the minutes.")
@click.option("--attendee", "attendees", multiple=True, help="An attendee (repeat the option).")
@click.option("--from", "source", type=click.Path(dir_okay=False, path_type=Path),
              help="YAML or JSON with the content (topics, actions, …); options given here win.")
@LANGUAGE
@_output_options
@actor_option
@pass_state
def minutes(
    state: State, meeting: str | None, when: str | None, place: str | None, chair: str | None,
    recorder: str | None, attendees: tuple[str, ...], source: Path | None, lang: str, output: str | None,
    file_it: bool, force: bool, actor: str,
) -> None:
    """Minutes of a meeting: topics, discussion and results, action plan, follow-up, sign-off.

    Without content it is a blank form. Action items need an owner; without a due date they are
    due paperwork.action_due_days after the meeting. Filed locally, the minutes are linked to the
    meeting and their action items registered; the follow-up section lists the open action items
    of the meeting's earlier occurrences unless the file gives 'follow_up'.
    """
    from paperwork.data import MinutesInput, load_file, minutes_input
    from paperwork.meetings import MINUTES_TYPE, resolve, time_zone
    from paperwork.minutes import MinutesDocument, build_minutes
    from paperwork.output import safe_filename
    from paperwork.register import minutes_title

    data = minutes_input(load_file(source), str(source)) if source else MinutesInput()
    data = replace(
        data, meeting=meeting or data.meeting, when=when or data.when, place=place or data.place,
        chair=chair or data.chair, recorder=recorder or data.recorder, attendees=attendees or data.attendees,
    )
    if bool(data.meeting) != bool(data.when):
        raise UsageError("--meeting and --date go together (the meeting and its day)")
    archive = _local_archive(state)
    settings = _settings(state, archive)
    slot = resolve(settings, archive, data.meeting, data.when) if data.meeting and data.when else None
    if file_it and slot is None:
        raise UsageError("--file needs --meeting and --date; a blank form is filed after it is filled in "
                         "('put --type minutes', then 'compliance link')")
    tz = time_zone(settings)
    document = MinutesDocument(data, slot, _follow_up(data.follow_up, archive, slot), lang, tz,
                               settings.paperwork.action_due_days, _now())
    title = minutes_title(slot) if slot else "Minutes"
    name = safe_filename("minutes", slot.name, f"{slot.at:%Y-%m-%d}") if slot else "minutes-blank.docx"
    _deliver(
        state, render=lambda record: build_minutes(document, title, record), output=output, default_name=name,
        file_it=file_it, force=force, actor=actor, record_type=MINUTES_TYPE, title=title,
        link=_linker(archive, actor, meeting=slot, actions=list(data.actions),
                     action_base=slot.at.astimezone(tz).date() if slot else None),
    )


@template.command("report")
@click.option("--month", metavar="YYYY-MM", help="The month reported on.  [required, here or in the file]")
@click.option("--from", "source", type=click.Path(dir_okay=False, path_type=Path),
              help="YAML or JSON with survey counts, complaints, issues and actions.")
@LANGUAGE
@_output_options
@actor_option
@pass_state
def report(
    state: State, month: str | None, source: Path | None, lang: str, output: str | None, file_it: bool, force: bool,
    actor: str,
) -> None:
    """The monthly customer report: satisfaction against its target, complaints against last month,
    issue summary, actions. Rates and changes are computed from the counts. Without content it is a
    blank form for the month."""
    from paperwork.data import ReportInput, load_file, report_input
    from paperwork.meetings import REPORT_TYPE, time_zone
    from paperwork.output import safe_filename
    from paperwork.register import report_title
    from paperwork.report import ReportDocument, build_report
    from schedules.paperwork import ScheduleError, parse_month, report_deadline

    data = report_input(load_file(source), str(source)) if source else ReportInput()
    try:
        chosen = parse_month(month) if month else data.month
    except ScheduleError as exc:
        raise UsageError(str(exc)) from None
    if chosen is None:
        raise UsageError("missing --month (YYYY-MM)")
    if data.month is not None and data.month != chosen:
        raise UsageError(f"--month {chosen} differs from month {data.month} in {source}")
    archive = _local_archive(state)
    settings = _settings(state, archive)
    paperwork = settings.paperwork
    due = report_deadline(chosen, paperwork.report_due_day, time_zone(settings)).date()
    document = ReportDocument(data, chosen, lang, paperwork.satisfaction_target, paperwork.complaint_reduction_target,
                              due, paperwork.action_due_days, _now())
    title = report_title(chosen)
    _deliver(
        state, render=lambda record: build_report(document, title, record), output=output,
        default_name=safe_filename("report", str(chosen)), file_it=file_it, force=force, actor=actor,
        record_type=REPORT_TYPE, title=title,
        link=_linker(archive, actor, month=chosen, actions=list(data.actions), action_base=due),
    )


@click.group()
def meeting() -> None:
    """The meeting register (operator, on the service host): one-off meetings, cancellations, action items.

    \b
    Recurring meetings come from paperwork.meetings (default: weekly, Fridays 15:00; strategy,
    the first Friday of each quarter 10:00), in paperwork.time_zone (default Asia/Shanghai).
    strongroom meeting add client-review --at "2026-11-18 10:00" --place "Branch 3"
    strongroom meeting list [--from 2026-11-01 --to 2026-11-30]
    strongroom meeting cancel weekly --date 2026-12-25
    strongroom meeting actions; strongroom meeting done 4 --note "database updated"
    """


def _when(text: str, settings: Any) -> datetime:
    from paperwork.meetings import time_zone
    from schedules.paperwork import ScheduleError, parse_moment

    try:
        return parse_moment(text, time_zone(settings))
    except ScheduleError as exc:
        raise UsageError(str(exc)) from None


@meeting.command("add")
@click.argument("name")
@click.option("--at", "at_text", required=True, metavar="DATETIME",
              help="Start, 'YYYY-MM-DD HH:MM' in paperwork.time_zone (or with an offset, e.g. +08:00).")
@click.option("--place", help="Where.")
@json_option
@pass_state
def meeting_add(state: State, name: str, at_text: str, place: str | None, as_json: bool) -> None:
    """Put a one-off meeting in the register; its minutes are then due like any other's."""
    from audit.trail import record as audit
    from paperwork.meetings import add_meeting, time_zone
    from schedules.paperwork import ScheduleError, check_meeting_name

    archive = state.archive
    try:
        name = check_meeting_name(name)
    except ScheduleError as exc:
        raise UsageError(str(exc)) from None
    slot = add_meeting(archive, name, _when(at_text, archive.settings), place, operator_actor().name)
    audit(archive, operator_actor(), "meeting.add", detail={"meeting": name, "at": slot.at.isoformat()})
    if as_json:
        print_json(_slot_dict(slot, None))
    else:
        click.echo(f"added {slot.label(time_zone(archive.settings))}")


@meeting.command("cancel")
@click.argument("name")
@click.option("--date", "when", required=True, metavar="DATE", help="Its day, YYYY-MM-DD [HH:MM].")
@pass_state
def meeting_cancel(state: State, name: str, when: str) -> None:
    """Record that a meeting did not take place (a holiday): no minutes are due for it."""
    from audit.trail import record as audit
    from paperwork.meetings import cancel_meeting, time_zone

    archive = state.archive
    slot = cancel_meeting(archive, name, when, operator_actor().name)
    audit(archive, operator_actor(), "meeting.cancel", detail={"meeting": name, "at": slot.at.isoformat()})
    click.echo(f"cancelled {slot.label(time_zone(archive.settings))}")


def _slot_dict(slot: Any, minutes: str | None) -> dict[str, object]:
    return {"name": slot.name, "at": slot.at.isoformat(), "recurring": slot.recurring, "place": slot.place,
            "minutes": minutes}


@meeting.command("list")
@click.option("--from", "start", metavar="DATE", help="First day.  [default: 28 days ago]")
@click.option("--to", "end", metavar="DATE", help="Last day.  [default: 28 days ahead]")
@json_option
@pass_state
def meeting_list(state: State, start: str | None, end: str | None, as_json: bool) -> None:
    """Meetings in a period, recurring and one-off, with the record of their minutes once filed."""
    from datetime import time, timedelta

    from paperwork.meetings import minutes_records, slots, time_zone
    from paperwork.wording import WEEKDAY_NAMES
    from schedules.paperwork import ScheduleError, local, parse_day

    archive = state.archive
    tz = time_zone(archive.settings)
    today = _now().astimezone(tz).date()
    try:
        first = parse_day(start) if start else today - timedelta(days=28)
        last = parse_day(end) if end else today + timedelta(days=28)
    except ScheduleError as exc:
        raise UsageError(str(exc)) from None
    if last < first:
        raise UsageError("--to is before --from")
    found = slots(archive, local(first, time(0), tz), local(last + timedelta(days=1), time(0), tz))
    filed = minutes_records(archive)
    if as_json:
        print_json([_slot_dict(slot, filed.get(slot.key)) for slot in found])
        return
    for slot in found:
        kind = "recurring" if slot.recurring else "one-off"
        day = WEEKDAY_NAMES["en"][slot.at.weekday()][:3]
        minutes_name = filed.get(slot.key) or ("no minutes" if slot.at <= _now() else "")
        click.echo(f"{slot.label(tz):<36} {day}  {kind:<9}  {minutes_name}  {slot.place or ''}".rstrip())
    if not found:
        click.echo(f"no meetings from {first} to {last}")


@meeting.command("actions")
@click.option("--all", "show_all", is_flag=True, help="Include the items marked done.")
@json_option
@pass_state
def meeting_actions(state: State, show_all: bool, as_json: bool) -> None:
    """Action items from filed minutes and reports, by due date (open ones unless --all)."""
    from paperwork.meetings import list_actions

    found = list_actions(state.archive, open_only=not show_all)
    if as_json:
        print_json([item.as_dict() for item in found])
        return
    for item in found:
        done = f"done {item.done_at[:10]} by {item.done_by}" if item.done_at else "open"
        click.echo(f"#{item.id:<5} due {item.due}  {item.owner:<12} {done:<8}  {item.item}  ({item.record})")
    if not found:
        click.echo("no action items" if show_all else "no open action items")


@meeting.command("done")
@click.argument("action_id", type=click.IntRange(min=1))
@click.option("--note", help="How it was carried out.")
@pass_state
def meeting_done(state: State, action_id: int, note: str | None) -> None:
    """Mark an action item as carried out."""
    from audit.trail import record as audit
    from paperwork.meetings import close_action

    item = close_action(state.archive, action_id, operator_actor().name, note)
    audit(state.archive, operator_actor(), "action.done", record=item.record, detail={"action": item.id})
    click.echo(f"#{item.id} done: {item.item}")


@click.group()
def compliance() -> None:
    """Are minutes and monthly reports filed on time, and action items carried out? (operator)

    \b
    strongroom compliance status [--json]        exit 1 when anything is overdue (for cron)
    strongroom compliance link 2026-0012-minutes --meeting weekly --date 2026-11-06
    strongroom compliance link 2026-0003-report --month 2026-11
    """


@compliance.command("status")
@json_option
@pass_state
def status(state: State, as_json: bool) -> None:
    """Minutes missing or filed late, reports missing or late, action items past due.

    Minutes are due paperwork.minutes_deadline_hours after a meeting starts; a month's report by
    the end of day paperwork.report_due_day of the next month, in paperwork.time_zone. Exits 1
    when anything is overdue (missing past its deadline, or an action item past due); a late
    filing is reported but does not fail.
    """
    from paperwork.compliance import ON_TIME
    from paperwork.meetings import compliance_status, time_zone

    archive = state.archive
    result = compliance_status(archive, _now())
    tz = time_zone(archive.settings)
    if as_json:
        print_json({"summary": result.summary(), "overdue": len(result.overdue),
                    "items": [item.as_dict() for item in result.items]})
    else:
        for item in result.items:
            if item.state == ON_TIME:
                continue
            filed = f"filed {item.filed_at.astimezone(tz):%Y-%m-%d %H:%M} as {item.record}" if item.filed_at else (
                f"owner {item.owner}, from {item.record}" if item.owner else "not filed")
            click.echo(f"{item.state.upper():<8} {item.kind:<8} {item.subject:<32} "
                       f"due {item.deadline.astimezone(tz):%Y-%m-%d %H:%M}  {filed}")
        click.echo(result.summary())
    if result.overdue:
        sys.exit(1)


@compliance.command("link")
@click.argument("record_name", metavar="NAME")
@click.option("--meeting", metavar="NAME", help="The meeting these minutes are of …")
@click.option("--date", "when", metavar="DATE", help="… on this day, YYYY-MM-DD [HH:MM].")
@click.option("--month", metavar="YYYY-MM", help="The month this report is on.")
@pass_state
def link(state: State, record_name: str, meeting: str | None, when: str | None, month: str | None) -> None:
    """Link a record filed with 'put' (e.g. a scanned, hand-filled form) to its meeting or month."""
    from audit.trail import record as audit
    from naming import parse_name
    from paperwork.meetings import link as link_record
    from paperwork.meetings import resolve
    from schedules.paperwork import ScheduleError, parse_month

    name = str(parse_name(record_name))
    archive = state.archive
    if month and not meeting and not when:
        try:
            chosen = parse_month(month)
        except ScheduleError as exc:
            raise UsageError(str(exc)) from None
        link_record(archive, name, by=operator_actor().name, month=chosen)
        audit(archive, operator_actor(), "paperwork.link", record=name, detail=_link_detail(None, chosen))
        click.echo(f"{name} is the report for {chosen}")
    elif meeting and when and not month:
        slot = resolve(archive.settings, archive, meeting, when)
        link_record(archive, name, by=operator_actor().name, meeting=slot)
        audit(archive, operator_actor(), "paperwork.link", record=name, detail=_link_detail(slot, None))
        click.echo(f"{name} are the minutes of {slot.label(slot.at.tzinfo)}")
    else:
        raise UsageError("give --meeting NAME --date DATE (minutes) or --month YYYY-MM (a report)")
