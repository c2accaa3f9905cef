"""The compliance page: minutes and monthly reports missing or late, action items past due, blank templates.

``paperwork`` keeps no permission check of its own (its commands are the operator's); the page
is for those the access policy lets read both minutes and reports, since it shows what they
contain (meetings, record names, action items). That decision is the Casbin policy's, asked
through :meth:`operations.context.Context.require`, and a refusal is audited like any other.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Query
from starlette.responses import Response

from archive.service import utcnow
from errors import UsageError
from operations.context import Context
from paperwork.compliance import LATE, ON_TIME, OVERDUE, PENDING, Item, Status
from paperwork.data import FollowUp, MinutesInput, ReportInput
from paperwork.meetings import (
    compliance_status,
    list_actions,
    resolve,
    time_zone,
)
from paperwork.minutes import MinutesDocument, build_minutes
from paperwork.output import safe_filename
from paperwork.register import minutes_title, report_title
from paperwork.report import ReportDocument, build_report
from schedules.paperwork import ScheduleError, parse_month, report_deadline
from web.i18n import language
from web.navigation import COMPLIANCE_TYPES
from web.render import page
from web.session import Page

router = APIRouter()
AUDIT_ACTION = "compliance.status"
TEXT = Annotated[str, Query(max_length=100)]
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def _require(ctx: Context) -> None:
    for record_type in COMPLIANCE_TYPES:
        ctx.require("read", AUDIT_ACTION, record_type=record_type)


def _status(ctx: Context) -> Status:
    _require(ctx)
    return compliance_status(ctx.archive, utcnow())


def template_link(item: Item) -> str | None:
    """The query of a blank template for a missing item: the meeting's minutes, or the month's report."""
    if item.state not in (OVERDUE, PENDING):
        return None
    if item.kind == "minutes":
        meeting, day, at = item.subject.rsplit(" ", 2)  # MeetingSlot.label: "NAME YYYY-MM-DD HH:MM"
        return f"kind=minutes&meeting={quote(meeting)}&when={quote(f'{day} {at}')}"
    if item.kind == "report":
        return f"kind=report&month={quote(item.subject)}"
    return None


@router.get("/compliance")
async def compliance(visit: Page) -> Response:
    status = await visit.run(_status)
    order = {OVERDUE: 0, PENDING: 1, LATE: 2, ON_TIME: 3}
    items = sorted((i for i in status.items if i.state != ON_TIME), key=lambda i: (order[i.state], i.deadline))
    counts = {state: sum(1 for i in status.items if i.state == state) for state in order}
    return page(visit.request, "compliance.html", items=items, counts=counts, template_link=template_link)


def _minutes(ctx: Context, meeting: str, when: str, lang: str) -> tuple[str, bytes]:
    settings, tz = ctx.archive.settings, time_zone(ctx.archive.settings)
    if not meeting:
        document = MinutesDocument(MinutesInput(), None, (), lang, tz, settings.paperwork.action_due_days, utcnow())
        return "minutes-blank.docx", build_minutes(document, "Minutes")
    slot = resolve(settings, ctx.archive, meeting, when)
    follow_up = tuple(FollowUp(a.item, a.owner, a.due)
                      for a in list_actions(ctx.archive, open_only=True, meeting=slot.name, before=slot.at))
    document = MinutesDocument(MinutesInput(), slot, follow_up, lang, tz, settings.paperwork.action_due_days, utcnow())
    return safe_filename("minutes", slot.name, f"{slot.at.astimezone(tz):%Y-%m-%d}"), build_minutes(
        document, minutes_title(slot))


def _report(ctx: Context, month_text: str, lang: str) -> tuple[str, bytes]:
    try:
        month = parse_month(month_text)
    except ScheduleError as exc:
        raise UsageError(str(exc)) from None
    paperwork, tz = ctx.archive.settings.paperwork, time_zone(ctx.archive.settings)
    due = report_deadline(month, paperwork.report_due_day, tz).date()
    document = ReportDocument(ReportInput(), month, lang, paperwork.satisfaction_target,
                              paperwork.complaint_reduction_target, due, paperwork.action_due_days, utcnow())
    return safe_filename("report", str(month)), build_report(document, report_title(month))


def _template(ctx: Context, kind: str, meeting: str, when: str, month: str, lang: str) -> tuple[str, bytes]:
    _require(ctx)
    if kind == "minutes":
        return _minutes(ctx, meeting.strip(), when.strip(), lang)
    if kind == "report":
        return _report(ctx, month, lang)
    raise UsageError("kind must be minutes or report")


@router.get("/compliance/template")
async def template(visit: Page, kind: TEXT = "", meeting: TEXT = "", when: TEXT = "", month: TEXT = "") -> Response:
    """A blank minutes form (for a meeting, or without one) or a month's blank report, in the page's language."""
    name, data = await visit.run(_template, kind, meeting, when, month, language(visit.request))
    return Response(data, media_type=DOCX, headers={"Content-Disposition": f"attachment; filename={quote(name)}"})
