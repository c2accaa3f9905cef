"""The audit trail for auditors and the director: filtered events, CSV export, the chain's status."""

from __future__ import annotations

import io
import json
from datetime import date, datetime, time, timedelta
from typing import Annotated
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query
from starlette.responses import Response

from audit.log import write_csv
from audit.trail import Event
from audit.verify import AuditReport
from operations import access
from operations.context import Context
from web.forms import optional_date, optional_text
from web.render import page
from web.session import Page

router = APIRouter()
SHOWN = 500
DEFAULT_DAYS = 7
TEXT = Annotated[str, Query(max_length=128)]


def _start_of(day: date | None, zone: ZoneInfo) -> datetime | None:
    return datetime.combine(day, time(0), tzinfo=zone) if day else None


def _filters(visit: Page, record: str, user: str, action: str, since: str, until: str) -> dict[str, object]:
    """The query's filters: days are whole days in the department's time zone, ``until`` included."""
    zone = ZoneInfo(visit.archive.settings.paperwork.time_zone)
    last = optional_date(until, "until")
    return {
        "record": optional_text(record), "user": optional_text(user), "action": optional_text(action),
        "since": _start_of(optional_date(since, "since"), zone),
        "until": _start_of(last + timedelta(days=1), zone) if last else None,
    }


@router.get("/audit")
async def audit_page(
    visit: Page, record: TEXT = "", user: TEXT = "", action: TEXT = "", since: TEXT = "", until: TEXT = "",
    verify: TEXT = "",
) -> Response:
    if not any((record, user, action, since, until)):
        since = (datetime.now(ZoneInfo(visit.archive.settings.paperwork.time_zone)).date()
                 - timedelta(days=DEFAULT_DAYS)).isoformat()
    filters = _filters(visit, record, user, action, since, until)

    def work(ctx: Context) -> tuple[list[Event], AuditReport | None]:
        report = access.audit_verify(ctx) if verify else None
        return access.audit_log(ctx, limit=SHOWN + 1, **filters), report  # type: ignore[arg-type]

    events, report = await visit.run(work)
    asked = {"record": record, "user": user, "action": action, "since": since, "until": until}
    return page(
        visit.request, "audit.html", events=events[:SHOWN], more=len(events) > SHOWN, shown=SHOWN, report=report,
        asked=asked, csv_link="audit/events.csv?" + urlencode({k: v for k, v in asked.items() if v}),
        detail=lambda event: json.dumps(event.detail, ensure_ascii=False, sort_keys=True)[:300],
    )


@router.get("/audit/events.csv")
async def audit_csv(
    visit: Page, record: TEXT = "", user: TEXT = "", action: TEXT = "", since: TEXT = "", until: TEXT = "",
) -> Response:
    filters = _filters(visit, record, user, action, since, until)
    events = await visit.run(access.audit_log, **filters)
    out = io.StringIO()
    write_csv(events, out)
    return Response(out.getvalue(), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": "attachment; filename=strongroom-audit.csv"})
