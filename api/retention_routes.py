"""Retention, disposal and legal holds over HTTP."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field

from api.auth import Call
from api.errors import ERROR_RESPONSES
from archive import fields
from operations import retention

router = APIRouter(tags=["retention"], responses=ERROR_RESPONSES)

ID = Path(ge=1, le=2**62)
NAME = Path(description="Record name YEAR-NUMBER-TYPE", examples=["2026-0001-contract"], max_length=64)
RecordName = Annotated[str, Field(min_length=1, max_length=64, examples=["2026-0001-contract"])]
Reason = Annotated[str, Field(json_schema_extra=fields.schema(fields.REASON, required=True))]


class TriggerForm(BaseModel):
    date: dt.date
    reason: Reason


class DisposeForm(BaseModel):
    records: list[RecordName] = Field(min_length=1, max_length=1000)
    reason: Reason


class DenyForm(BaseModel):
    reason: Reason


class HoldForm(BaseModel):
    record: RecordName
    reason: Reason


class ReleaseForm(BaseModel):
    reason: str | None = Field(default=None, json_schema_extra=fields.schema(fields.REASON))


@router.get("/retention/records/{name}", summary="A record's retention date and why, its write-once date and any hold")
async def show(call: Call, name: Annotated[str, NAME]) -> dict[str, Any]:
    view = await call.run(retention.show, name)
    return view.as_dict()


@router.post("/retention/records/{name}/trigger",
             summary="Give or correct the date a record's retention counts from (e.g. a contract's end date)")
async def set_trigger(call: Call, name: Annotated[str, NAME], form: TriggerForm) -> dict[str, Any]:
    view = await call.run(retention.set_trigger, name, form.date, form.reason)
    return view.as_dict()


@router.get("/retention/due", summary="Records past their retention date and not on hold")
async def due(call: Call) -> list[dict[str, Any]]:
    found = await call.run(retention.due)
    return [view.as_dict() for view in found]


@router.post("/retention/disposals", status_code=201,
             summary="Ask for records past retention to be disposed of (manager); the director approves")
async def dispose(call: Call, form: DisposeForm) -> dict[str, Any]:
    made = await call.run(retention.dispose, form.records, form.reason)
    return made.as_dict()


@router.get("/retention/disposals", summary="Disposal requests awaiting a decision (or all of them, all=true)")
async def requests(
    call: Call, all: Annotated[bool, Query(description="Decided requests too")] = False
) -> list[dict[str, Any]]:
    found = await call.run(retention.requests, pending_only=not all)
    return [item.as_dict() for item in found]


@router.post("/retention/disposals/{request_id}/approve",
             summary="Approve a disposal request (director, never one's own) and carry it out")
async def approve(call: Call, request_id: Annotated[int, ID]) -> dict[str, Any]:
    done = await call.run(retention.approve, request_id)
    return done.as_dict()


@router.post("/retention/disposals/{request_id}/deny", summary="Refuse a disposal request, with a reason (director)")
async def deny(call: Call, request_id: Annotated[int, ID], form: DenyForm) -> dict[str, Any]:
    denied = await call.run(retention.deny, request_id, form.reason)
    return denied.as_dict()


@router.get("/retention/certificates/{name}", summary="The disposal certificate of a record, as kept in the audit trail")
async def certificate(call: Call, name: Annotated[str, NAME]) -> dict[str, Any]:
    cert = await call.run(retention.certificate, name)
    return cert.as_dict()


@router.post("/holds", status_code=201, summary="Put a record on legal hold (director)")
async def hold_place(call: Call, form: HoldForm) -> dict[str, Any]:
    view = await call.run(retention.hold_place, form.record, form.reason)
    return view.as_dict()


@router.post("/holds/{name}/release", summary="Release a record's legal hold (director)")
async def hold_release(call: Call, name: Annotated[str, NAME], form: ReleaseForm) -> dict[str, Any]:
    view = await call.run(retention.hold_release, name, form.reason)
    return view.as_dict()


@router.get("/holds", summary="Legal holds in force (or every hold ever placed, all=true)")
async def hold_list(
    call: Call, all: Annotated[bool, Query(description="Released holds too")] = False
) -> list[dict[str, Any]]:
    found = await call.run(retention.hold_list, include_released=all)
    return [view.as_dict() for view in found]
