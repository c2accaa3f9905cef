"""Access requests and grants over HTTP."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field

from access.purposes import PurposeName
from api.auth import Call
from api.errors import ERROR_RESPONSES
from archive import fields
from operations import access

router = APIRouter(prefix="/access", tags=["access"], responses=ERROR_RESPONSES)
ID = Path(ge=1, le=2**62)


class RequestForm(BaseModel):
    record: str = Field(min_length=1, max_length=64, examples=["2026-0001-contract"])
    reason: str = Field(json_schema_extra=fields.schema(fields.REASON, required=True))
    days: int | None = Field(default=None, ge=1, le=3650)
    purpose: PurposeName = Field(
        default="read", description="read (and view) the record, or amend it: read it and file new versions"
    )


class ApproveForm(BaseModel):
    days: int | None = Field(default=None, ge=1, le=3650)


class DenyForm(BaseModel):
    reason: str = Field(json_schema_extra=fields.schema(fields.REASON, required=True))


@router.post("/requests", status_code=201, summary="Ask the director for access to a record (to read or to amend it)")
async def request_access(call: Call, form: RequestForm) -> dict[str, Any]:
    made = await call.run(access.request, form.record, form.reason, form.days, form.purpose)
    return made.as_dict()


@router.get("/requests", summary="Your requests (scope=mine) or those awaiting a decision (scope=pending)")
async def list_requests(call: Call, scope: Literal["mine", "pending"] = "mine") -> list[dict[str, Any]]:
    found = await call.run(access.mine if scope == "mine" else access.pending)
    return [item.as_dict() for item in found]


@router.post("/requests/{request_id}/approve", summary="Approve a request: grants its purpose for some days")
async def approve(call: Call, request_id: Annotated[int, ID], form: ApproveForm) -> dict[str, Any]:
    grant = await call.run(access.approve, request_id, form.days)
    return grant.as_dict()


@router.post("/requests/{request_id}/deny", summary="Deny a request, with a reason")
async def deny(call: Call, request_id: Annotated[int, ID], form: DenyForm) -> dict[str, Any]:
    denied = await call.run(access.deny, request_id, form.reason)
    return denied.as_dict()


@router.get("/grants", summary="Every grant for those who decide them (director), otherwise your own")
async def list_grants(
    call: Call, inactive: Annotated[bool, Query(description="Include expired and revoked")] = False
) -> list[dict[str, Any]]:
    found = await call.run(access.list_grants, include_inactive=inactive)
    return [grant.as_dict() for grant in found]


@router.delete("/grants/{grant_id}", summary="Revoke a grant at once")
async def revoke(call: Call, grant_id: Annotated[int, ID]) -> dict[str, Any]:
    revoked = await call.run(access.revoke, grant_id)
    return revoked.as_dict()
