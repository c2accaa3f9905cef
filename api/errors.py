"""Archive errors as HTTP responses: one JSON ``{"error": message}`` with a fitting status."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException

from api.streams import ClientDisconnected
from errors import (
    Conflict,
    Forbidden,
    IntegrityError,
    NotFound,
    StorageUnavailable,
    StrongroomError,
    Unauthenticated,
    UsageError,
)
from naming import InvalidName

log = logging.getLogger("strongroom.api")

STATUS: list[tuple[type[Exception], int]] = [
    (Unauthenticated, 401),
    (Forbidden, 403),
    (NotFound, 404),
    (Conflict, 409),
    (UsageError, 400),
    (InvalidName, 400),
    (StorageUnavailable, 503),
    (IntegrityError, 500),
]


class ErrorBody(BaseModel):
    """Every error response: one line, never a traceback, never a secret."""

    error: str


ERROR_RESPONSES: dict[int | str, dict[str, object]] = {
    status: {"model": ErrorBody, "description": description}
    for status, description in [
        (400, "Malformed request (bad record name, unknown type, bad value)"),
        (401, "Not logged in, or the token expired or was revoked"),
        (403, "Not permitted by the access policy, or a password change is required"),
        (404, "No such record, version, request or grant"),
        (409, "The record or request is in a state that does not allow this"),
        (503, "Storage unreachable"),
    ]
}


def status_of(exc: Exception) -> int:
    for kind, status in STATUS:
        if isinstance(exc, kind):
            return status
    return 500


def error_response(status: int, message: str) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse({"error": message}, status_code=status, headers=headers)


def internal_error_message(exc: Exception) -> str:
    """What a client is told of an unexpected exception: its kind only; the traceback goes to the service's log."""
    return f"internal error ({type(exc).__name__}); the service's log has the details"


def log_failure(request: Request, exc: Exception, status: int) -> None:
    """One log line for what the operator should know of: an upload cut short, a storage or integrity failure."""
    if isinstance(exc, ClientDisconnected):
        client = request.client.host if request.client else "?"
        log.warning("%s %s from %s: %s", request.method, request.url.path, client, exc)
    elif status >= 500:
        log.error("%s: %s", type(exc).__name__, exc)


def install(app: FastAPI) -> None:
    @app.exception_handler(StrongroomError)
    @app.exception_handler(InvalidName)
    async def archive_error(request: Request, exc: Exception) -> JSONResponse:
        status = status_of(exc)
        log_failure(request, exc, status)
        return error_response(status, str(exc))

    @app.exception_handler(Exception)
    async def unexpected(_request: Request, exc: Exception) -> JSONResponse:
        # Starlette re-raises the exception once this answer is sent: uvicorn logs it (see api/logs.py)
        # and drops the connection, so the client is told not to send another request on it.
        response = error_response(500, internal_error_message(exc))
        response.headers["Connection"] = "close"
        return response

    @app.exception_handler(HTTPException)
    async def http_error(_request: Request, exc: HTTPException) -> JSONResponse:
        response = error_response(exc.status_code, str(exc.detail))
        response.headers.update(exc.headers or {})
        return response

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(part) for part in first.get("loc", ()) if part != "body")
        return error_response(422, f"{where}: {first.get('msg', 'invalid request')}".strip(": "))
