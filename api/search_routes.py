"""Search over HTTP: full-text search, a record's index status, and the quarterly audit sample."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query
from starlette.concurrency import run_in_threadpool

from api.auth import Ctx
from api.errors import ERROR_RESPONSES
from operations import search as operations
from operations.search import MAX_LIMIT, SearchUnavailable

router = APIRouter(responses=ERROR_RESPONSES)

NAME = Path(description="Record name YEAR-NUMBER-TYPE", examples=["2026-0001-contract"], max_length=64)


@router.get("/search", tags=["search"],
            summary="Full-text search (Whoosh syntax); titles and snippets only where you may read the record")
async def search(
    ctx: Ctx,
    q: Annotated[str, Query(min_length=1, max_length=500, description='e.g. 备份 AND report*, "customer report"')],
    type: Annotated[str | None, Query(max_length=32)] = None,
    year: Annotated[int | None, Query(ge=1900, le=9999)] = None,
    date_from: Annotated[date | None, Query(alias="from", description="Filed on or after (UTC)")] = None,
    date_to: Annotated[date | None, Query(alias="to", description="Filed on or before (UTC)")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 20,
    all_versions: bool = False,
) -> dict[str, Any]:
    """Hits best first. For those who may audit, ``restricted_count`` is how many more records match that
    they may not read (``search.restricted_hits = "count"``; with ``"names"`` such hits are listed by name
    and type), and ``restricted_skipped`` says those records were not searched because the query is not
    plain words (a field, wildcard, range or digit). A query that cannot be run is a 400."""
    try:
        results = await run_in_threadpool(
            operations.search, ctx, q, record_type=type, year=year, date_from=date_from, date_to=date_to,
            limit=limit, all_versions=all_versions,
        )
    except SearchUnavailable as exc:
        raise HTTPException(503, str(exc)) from None
    return results.as_dict()


@router.get("/records/{name}/index", tags=["search"], summary="Whether a record's text is indexed, or its metadata only")
async def index_status(ctx: Ctx, name: Annotated[str, NAME]) -> dict[str, Any]:
    status = await run_in_threadpool(operations.index_status, ctx, name)
    return status.as_dict()


@router.get("/audit/sample", tags=["audit"], summary="A reproducible random sample of a quarter's records")
async def audit_sample(
    ctx: Ctx,
    type: Annotated[str, Query(max_length=32)],
    quarter: Annotated[str, Query(pattern=r"^\d{4}[Qq][1-4]$", examples=["2026Q4"])],
    n: Annotated[int, Query(ge=1, le=10_000)] = 20,
    seed: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
) -> dict[str, Any]:
    sample = await run_in_threadpool(operations.audit_sample, ctx, type, quarter, n, seed)
    return sample.as_dict()
