"""Access requests and grants: the director's decisions, and everyone's own requests and grants."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter, Path
from starlette.responses import Response

from access.grants import GrantView
from access.requests import RequestView
from operations import access
from operations.context import Context
from web.forms import optional_int, posted
from web.render import page
from web.session import Page, base_path

router = APIRouter()
ID = Path(ge=1, le=2**62)


@dataclass(frozen=True)
class AccessPage:
    """The access page: for those who decide, the pending requests and every active grant (with revoke)."""

    decides: bool
    pending: list[RequestView]
    grants: list[GrantView]  # every active grant for those who decide, otherwise the viewer's own
    mine: list[RequestView]


def _access_page(ctx: Context) -> AccessPage:
    decides = access.decides(ctx)
    return AccessPage(
        decides=decides,
        pending=access.pending(ctx) if decides else [],
        grants=access.list_grants(ctx),
        mine=list(reversed(access.mine(ctx))),
    )


@router.get("/access")
async def access_page(visit: Page) -> Response:
    shown = await visit.run(_access_page)
    return page(visit.request, "access.html", shown=shown, max_days=visit.archive.settings.access.max_grant_days)


def _back(visit: Page) -> Response:
    return Response(status_code=303, headers={"Location": f"{base_path(visit.request)}/access"})


@router.post("/access/requests/{request_id}/approve")
async def approve(visit: Page, request_id: int = ID) -> Response:
    fields = await posted(visit)
    maximum = visit.archive.settings.access.max_grant_days
    await visit.run(access.approve, request_id, optional_int(fields.get("days"), "days", 1, maximum))
    return _back(visit)


@router.post("/access/requests/{request_id}/deny")
async def deny(visit: Page, request_id: int = ID) -> Response:
    fields = await posted(visit)
    await visit.run(access.deny, request_id, fields.get("reason", ""))
    return _back(visit)


@router.post("/access/grants/{grant_id}/revoke")
async def revoke(visit: Page, grant_id: int = ID) -> Response:
    await posted(visit)
    await visit.run(access.revoke, grant_id)
    return _back(visit)
