"""Full-text search, when ``operations.search`` is installed: masked, highlighted snippets; what those who may
audit are told about records they may not read, as that module returns it (names, a count, or that they were
left out of a query that is not plain words)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Query
from starlette.responses import Response

from errors import UsageError
from operations import search as search_operations
from operations.context import Context
from web.forms import optional_date, optional_int, optional_text
from web.render import page
from web.session import Page

router = APIRouter()
LIMIT = 50
TEXT = Annotated[str, Query(max_length=500)]


@dataclass(frozen=True)
class Piece:
    text: str
    marked: bool


def pieces(snippet: str | None, highlights: list[tuple[int, int]]) -> list[Piece]:
    """The snippet cut at its highlighted spans, for the template to mark (and escape) each piece."""
    if not snippet:
        return []
    result, at = [], 0
    for start, end in sorted(highlights):
        start, end = max(start, at), min(end, len(snippet))
        if start >= end:
            continue
        if start > at:
            result.append(Piece(snippet[at:start], False))
        result.append(Piece(snippet[start:end], True))
        at = end
    if at < len(snippet):
        result.append(Piece(snippet[at:], False))
    return result


def _may_search(ctx: Context) -> None:
    """The search form itself is offered to those who may search (the policy's ``list``, as a search needs)."""
    ctx.require("list", "search.query")


@router.get("/search")
async def search(
    visit: Page, q: TEXT = "", type: TEXT = "", year: TEXT = "", date_from: TEXT = "", date_to: TEXT = "",
    all_versions: TEXT = "",
) -> Response:
    asked = {"q": q, "type": type, "year": year, "date_from": date_from, "date_to": date_to,
             "all_versions": bool(all_versions)}
    results: Any = None
    problem: str | None = None
    unavailable: str | None = None
    if not q.strip():
        await visit.run(_may_search)
    else:
        options = {
            "record_type": optional_text(type), "year": optional_int(year, "year", 1900, 9999),
            "date_from": optional_date(date_from, "from"), "date_to": optional_date(date_to, "to"),
            "limit": LIMIT, "all_versions": bool(all_versions),
        }
        try:
            results = await visit.run(search_operations.search, q.strip(), **options)
        except search_operations.SearchUnavailable as exc:
            unavailable = str(exc)
        except UsageError as exc:  # a query that cannot be run: the form again, with the reason
            problem = str(exc)
    status = 503 if unavailable and q.strip() else 400 if problem else 200
    return page(visit.request, "search.html", status=status, asked=asked, results=results, unavailable=unavailable,
                problem=problem, pieces=pieces, types=visit.archive.settings.records.types)
