"""Records over HTTP: list, file (streamed upload), new version, describe, download (streamed); no deletion."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response, StreamingResponse

from api.auth import Call
from api.errors import ERROR_RESPONSES, ErrorBody
from api.streams import SMALL_BODY, primed, request_source
from archive import fields
from archive.reading import VersionRef
from operations import records, retention
from operations.context import Context

router = APIRouter(prefix="/records", tags=["records"], responses=ERROR_RESPONSES)

NAME = Path(description="Record name YEAR-NUMBER-TYPE", examples=["2026-0001-contract"], max_length=64)
UPLOAD = {
    "requestBody": {
        "required": True,
        "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
    }
}


@router.get("", summary="List records (titles only where you may view the record)")
async def list_records(
    call: Call,
    type: Annotated[str | None, Query(max_length=32)] = None,
    year: Annotated[int | None, Query(ge=1900, le=9999)] = None,
    all: bool = False,
) -> list[dict[str, Any]]:
    views = await call.run(records.listing, record_type=type, year=year, include_all=all)
    return [view.as_dict() for view in views]


@router.post("", status_code=201, openapi_extra=UPLOAD, summary="File a new record (request body: the document)")
async def file_record(
    request: Request,
    call: Call,
    type: Annotated[str, Query(max_length=32)],
    title: Annotated[str | None, Query(json_schema_extra=fields.schema(fields.TITLE))] = None,
    year: Annotated[int | None, Query(ge=1900, le=9999)] = None,
    filename: Annotated[str | None, Query(json_schema_extra=fields.schema(fields.FILENAME))] = None,
    retain_from: Annotated[date | None, Query(
        description="The date the type's retention counts from, when not the filing date (e.g. a contract's end)",
    )] = None,
) -> dict[str, Any]:
    source = await request_source(request)
    filed = await call.run(
        records.file_new, source, record_type=type, year=year or datetime.now().year, title=title, filename=filename,
        retain_from=retain_from,
    )
    return filed.__dict__


@router.post("/{name}/versions", status_code=201, openapi_extra=UPLOAD, summary="File a new version of a record")
async def file_version(
    request: Request,
    call: Call,
    name: Annotated[str, NAME],
    comment: Annotated[str | None, Query(json_schema_extra=fields.schema(fields.COMMENT))] = None,
    filename: Annotated[str | None, Query(json_schema_extra=fields.schema(fields.FILENAME))] = None,
) -> dict[str, Any]:
    source = await request_source(request)
    filed = await call.run(records.file_new_version, name, source, filename=filename, comment=comment)
    return filed.__dict__


@router.get("/{name}", summary="A record's metadata and version history")
async def show(call: Call, name: Annotated[str, NAME]) -> dict[str, Any]:
    view, history = await call.run(records.show, name)
    return {"record": view.as_dict(), "versions": [v.__dict__ for v in history]}


@router.get(
    "/{name}/content",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/octet-stream": {}}, "description": "The exact bytes filed"}},
    summary="Download a version (default: current); X-Strongroom-SHA256 lets the client check it",
)
async def content(
    call: Call, name: Annotated[str, NAME], version: Annotated[int | None, Query(ge=1, le=10**9)] = None
) -> Response:
    ref, body = await call.run(_open, name, version)
    download = quote(ref.filename or ref.name)
    headers = {
        "Content-Length": str(ref.size),
        "X-Strongroom-Name": ref.name,
        "X-Strongroom-Version": str(ref.version),
        "X-Strongroom-SHA256": ref.sha256,
        "Content-Disposition": f"attachment; filename*=UTF-8''{download}",
    }
    if ref.filename:
        headers["X-Strongroom-Filename"] = quote(ref.filename)
    if isinstance(body, bytes):
        return Response(body, media_type="application/octet-stream", headers=headers)
    return StreamingResponse(body, media_type="application/octet-stream", headers=headers)


@router.delete(
    "/{name}",
    status_code=403,
    responses={403: {"model": ErrorBody, "description": "Always: records are never deleted directly (recorded)"}},
    summary="There is no deletion: always refused and audited; records leave only by approved disposal",
)
async def delete(call: Call, name: Annotated[str, NAME]) -> None:
    await call.run(retention.delete, name)


def _open(ctx: Context, name: str, version: int | None) -> tuple[VersionRef, bytes | Iterator[bytes]]:
    """Authorise, record and start the read in one worker-thread hop; a small version is read whole."""
    ref, chunks = records.open_version(ctx, name, version)
    if ref.size <= SMALL_BODY:
        return ref, b"".join(chunks)
    return ref, primed(chunks)
