"""The audit trail over HTTP, for auditors."""

from __future__ import annotations

import io
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from api.auth import Ctx
from audit.log import write_csv
from operations import access

router = APIRouter(prefix="/audit", tags=["audit"])


@router.get("/events", summary="Audit events, oldest first (format=csv for a spreadsheet)", response_model=None)
async def events(
    ctx: Ctx,
    record: Annotated[str | None, Query(max_length=64)] = None,
    user: Annotated[str | None, Query(max_length=128)] = None,
    action: Annotated[str | None, Query(max_length=64)] = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: Annotated[int | None, Query(ge=1, le=1_000_000)] = None,
    format: Literal["json", "csv"] = "json",
) -> list[dict[str, Any]] | Response:
    found = await run_in_threadpool(
        access.audit_log, ctx, record=record, user=user, action=action, since=since, until=until, limit=limit
    )
    if format == "csv":
        out = io.StringIO()
        write_csv(found, out)
        return Response(out.getvalue(), media_type="text/csv; charset=utf-8")
    return [event.as_dict() for event in found]


@router.get("/verify", summary="Walk the hash chain and compare it with the checkpoints in the bucket")
async def verify(ctx: Ctx) -> dict[str, Any]:
    report = await run_in_threadpool(access.audit_verify, ctx)
    return report.as_dict()
