"""The archive table, uploads, a record's page (or the request-access form instead), downloads."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from math import ceil
from typing import Annotated
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Query, Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from access.purposes import Purpose
from access.requests import RequestView
from api.streams import primed
from archive.filing import Filed
from archive.reading import VersionRef
from archive.records import RecordView, VersionView
from archive.retention_dates import schedule_for
from errors import Forbidden, UsageError
from naming import InvalidName, parse_name
from operations import access, records, retention
from operations.context import Context
from retention.status import RetentionView
from web import csrf
from web.forms import optional_date, optional_int, optional_text, posted
from web.render import page
from web.session import Page, Visit, base_path
from web.uploads import StreamedUpload

router = APIRouter()
PAGE_SIZE = 50
TEXT = Annotated[str, Query(max_length=64)]


def filable_types(ctx: Context) -> tuple[list[str], list[str]]:
    """The types the viewer may file, and those of them whose retention counts from a date given at filing."""
    types = [t for t in ctx.archive.settings.records.types if ctx.allows("file", record_type=t)]
    return types, [t for t in types if not schedule_for(ctx.archive.settings, t).from_filing]


@dataclass(frozen=True)
class Table:
    """One page of the archive table; ``hidden``: the rows whose title the viewer may not see."""

    views: list[RecordView]
    total: int
    number: int
    pages: int
    hidden: frozenset[str]


def _table(ctx: Context, record_type: str | None, year: int | None, number: int) -> Table:
    listed = records.listing(ctx, record_type=record_type, year=year)
    views = sorted(listed, key=lambda v: (v.created_at, v.year, v.number), reverse=True)  # newest first
    pages = max(1, ceil(len(views) / PAGE_SIZE))
    number = min(number, pages)
    shown = views[(number - 1) * PAGE_SIZE:number * PAGE_SIZE]
    # listing() leaves out the titles the viewer may not see; tell those apart from records without one.
    hidden = frozenset(v.name for v in shown if v.title is None and not ctx.allows("view", record_name=v.name))
    return Table(shown, len(views), number, pages, hidden)


@router.get("/records")
async def archive_table(visit: Page, type: TEXT = "", year: TEXT = "", page_number: TEXT = "") -> Response:
    record_type = optional_text(type)
    chosen_year = optional_int(year, "year", 1900, 9999)
    table = await visit.run(_table, record_type, chosen_year, optional_int(page_number, "page", 1, 10**9) or 1)
    filters = {key: value for key, value in (("type", record_type), ("year", chosen_year)) if value}

    def page_link(n: int) -> str:
        return "?" + urlencode({**filters, "page_number": n})

    return page(
        visit.request, "records.html", table=table, page_link=page_link, types=visit.archive.settings.records.types,
        chosen_type=record_type or "", chosen_year=chosen_year or "",
    )


def _shown_name(text: str) -> str | None:
    """A record name from the query string, only if it is one (so a link cannot put any text on the page)."""
    try:
        return str(parse_name(text)) if text else None
    except InvalidName:
        return None


@router.get("/upload")
async def upload_form(visit: Page, filed: TEXT = "") -> Response:
    types, dated = await visit.run(filable_types)
    return page(visit.request, "upload.html", types=types, dated_types=dated, year=datetime.now().year,
                filed=_shown_name(filed))


def _after_filing(request: Request, path: str) -> Response:
    """Where the browser goes next: a redirect for a plain form, the address for the upload script."""
    location = base_path(request) + path
    if "application/json" in request.headers.get("accept", ""):
        return JSONResponse({"location": location})
    return Response(status_code=303, headers={"Location": location})


def _streamed(visit: Visit) -> StreamedUpload:
    return StreamedUpload(visit.request.stream(), visit.request.headers.get("content-type", ""))


def _checked_fields(upload: StreamedUpload, visit: Visit) -> dict[str, str]:
    fields = upload.fields()
    csrf.check_session(visit.request.app.state.csrf_key, visit.token, fields.get(csrf.FIELD))
    return fields


@router.post("/upload")
async def upload(visit: Page) -> Response:
    source = _streamed(visit)

    def file_it(ctx: Context) -> Filed:
        fields = _checked_fields(source, visit)
        record_type = optional_text(fields.get("type"))
        if record_type is None:
            raise UsageError("choose the type of the record")
        return records.file_new(
            ctx, source, record_type=record_type,
            year=optional_int(fields.get("year"), "year", 1900, 9999) or datetime.now().year,
            title=optional_text(fields.get("title")), filename=source.filename,
            retain_from=optional_date(fields.get("retain_from"), "retain from"),
        )

    filed = await visit.run(file_it)
    return _after_filing(visit.request, f"/upload?{urlencode({'filed': filed.name})}")


@router.post("/records/{name}/versions")
async def new_version(visit: Page, name: str) -> Response:
    source = _streamed(visit)

    def file_it(ctx: Context) -> Filed:
        fields = _checked_fields(source, visit)
        return records.file_new_version(ctx, name, source, filename=source.filename,
                                        comment=optional_text(fields.get("comment")))

    filed = await visit.run(file_it)
    return _after_filing(visit.request, f"/records/{quote(filed.name)}?filed={filed.version}")


@dataclass(frozen=True)
class RecordPage:
    """What a record's page shows: the record, or (``view`` None) why not; and how to ask for access.

    ``retention``: until when it is kept, locked and whether it is on hold, for viewers with the ``retention`` right.
    """

    name: str
    view: RecordView | None
    history: list[VersionView] = field(default_factory=list)
    may_read: bool = False
    may_version: bool = False
    purposes: tuple[str, ...] = ()  # what the viewer may usefully ask for here; none: no request form
    requests: list[RequestView] = field(default_factory=list)
    retention: RetentionView | None = None


def _purposes(ctx: Context, name: str, *, may_read: bool, may_version: bool) -> tuple[str, ...]:
    """The purposes of a request that would give the viewer more than they have (as ``access.request`` decides)."""
    if not ctx.allows("request", record_name=name):
        return ()
    amend = not may_version and ctx.allows("version", record_type=parse_name(name).type)
    return tuple(purpose for purpose, wanted in ((Purpose.READ, not may_read), (Purpose.AMEND, amend)) if wanted)


def _record_page(ctx: Context, name_text: str) -> RecordPage:
    name = str(parse_name(name_text))
    mine = [item for item in access.mine(ctx) if item.record == name]
    try:
        view, history = records.show(ctx, name)
    except Forbidden:
        return RecordPage(name, None, purposes=_purposes(ctx, name, may_read=False, may_version=False),
                          requests=mine, retention=_retention(ctx, name))
    may_read, may_version = ctx.allows("read", record_name=name), ctx.allows("version", record_name=name)
    return RecordPage(
        name, view, list(reversed(history)), may_read=may_read, may_version=may_version,
        purposes=_purposes(ctx, name, may_read=may_read, may_version=may_version), requests=mine,
        retention=_retention(ctx, name),
    )


def _retention(ctx: Context, name: str) -> RetentionView | None:
    return retention.show(ctx, name) if ctx.allows("retention", record_name=name) else None


@router.get("/records/{name}")
async def record(visit: Page, name: str, filed: TEXT = "", requested: TEXT = "") -> Response:
    shown = await visit.run(_record_page, name)
    settings = visit.archive.settings.access
    return page(
        visit.request, "record.html", status=200 if shown.view else 403, record=shown,
        filed=optional_int(filed, "version", 1, 10**9), requested=optional_int(requested, "request", 1, 2**62),
        default_days=settings.default_grant_days, max_days=settings.max_grant_days,
    )


@router.post("/records/{name}/request")
async def request_access(visit: Page, name: str) -> Response:
    fields = await posted(visit)
    maximum = visit.archive.settings.access.max_grant_days
    made = await visit.run(
        access.request, name, fields.get("reason", ""), optional_int(fields.get("days"), "days", 1, maximum),
        fields.get("purpose") or Purpose.READ,
    )
    return Response(status_code=303, headers={
        "Location": f"{base_path(visit.request)}/records/{quote(made.record)}?requested={made.id}",
    })


def _open(ctx: Context, name: str, version: int | None) -> tuple[VersionRef, Iterator[bytes]]:
    """Authorise, record and start the read; a missing or tampered object fails before the response starts."""
    ref, chunks = records.open_version(ctx, name, version)
    return ref, primed(chunks)


@router.get("/records/{name}/content")
async def download(visit: Page, name: str, version: TEXT = "") -> Response:
    ref, body = await visit.run(_open, name, optional_int(version, "version", 1, 10**9))
    filename = ref.filename or f"{ref.name}-v{ref.version}"
    return StreamingResponse(body, media_type="application/octet-stream", headers={
        "Content-Length": str(ref.size),
        "Content-Disposition": f"attachment; filename*=UTF-8''{quote(filename)}",
        "X-Strongroom-SHA256": ref.sha256,
    })
