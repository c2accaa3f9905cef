"""The audit trail over HTTP, for auditors."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response
from pydantic import AfterValidator

from api.auth import Call
from api.errors import ERROR_RESPONSES
from audit.log import write_csv
from operations import access

router = APIRouter(prefix="/audit", tags=["audit"], responses=ERROR_RESPONSES)


def _in_utc(moment: datetime) -> datetime:
    """Bounds are compared in UTC; one with no UTC equivalent (0001-01-01T00:00+01:00) is invalid, not a 500."""
    try:
        return moment.astimezone(UTC) if moment.tzinfo else moment
    except OverflowError:
        raise ValueError("outside the years 1-9999 in UTC") from None


Moment = Annotated[datetime, AfterValidator(_in_utc)]


@router.get(
    "/events",
    summary="Audit events, oldest first (format=csv for a spreadsheet)",
    response_model=None,
    responses={200: {"content": {"application/json": {}, "text/csv": {}}, "description": "The events"}},
)
async def events(
    call: Call,
    record: Annotated[str | None, Query(max_length=64)] = None,
    user: Annotated[str | None, Query(max_length=128)] = None,
    action: Annotated[str | None, Query(max_length=64)] = None,
    since: Moment | None = None,
    until: Moment | None = None,
    limit: Annotated[int | None, Query(ge=1, le=1_000_000)] = None,
    format: Literal["json", "csv"] = "json",
) -> list[dict[str, Any]] | Response:
    found = await call.run(
        access.audit_log, record=record, user=user, action=action, since=since, until=until, limit=limit
    )
    if format == "csv":
        out = io.StringIO()
        write_csv(found, out)
        return Response(out.getvalue(), media_type="text/csv; charset=utf-8")
    return [event.as_dict() for event in found]


@router.get("/verify", summary="Walk the hash chain and compare it with the checkpoints in the bucket")
async def verify(call: Call) -> dict[str, Any]:
    report = await call.run(access.audit_verify)
    return report.as_dict()
