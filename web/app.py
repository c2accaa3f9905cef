"""The web interface as an application mounted by the API under ``/web`` (outside the OpenAPI schema).

Errors become pages, not JSON: the status is the API's for the same error
(:func:`api.errors.status_of`); an expired or missing session goes to the login page, a
one-time password to the password page.
"""

from __future__ import annotations

from importlib.resources import files

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from access.policy import AccessPolicy
from api.errors import internal_error_message, log_failure, status_of
from archive.service import Archive
from errors import StrongroomError, Unauthenticated
from naming import InvalidName
from web import (
    access_pages,
    audit_pages,
    auth_pages,
    compliance,
    csrf,
    record_pages,
    search_page,
)
from web.i18n import catalogue
from web.render import page
from web.session import SESSION_COOKIE, PasswordChangeRequired, base_path, clear_cookie

STATIC = {"style.css": "text/css; charset=utf-8", "upload.js": "text/javascript; charset=utf-8"}
SECURITY_HEADERS = [
    (b"content-security-policy", (b"default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
                                  b"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
]


class SecurityHeaders:
    """Every response of the interface: a strict content security policy, no framing, no sniffing; pages uncached."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = scope["path"].endswith(tuple(STATIC))

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *SECURITY_HEADERS,
                                      (b"cache-control", b"max-age=3600" if static else b"no-store")]
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _error_page(request: Request, status: int, message: str) -> Response:
    heading = f"error_{status}" if f"error_{status}" in catalogue() else "error_other"
    return page(request, "error.html", status=status, heading=heading, message=message)


def _install_errors(app: FastAPI) -> None:
    @app.exception_handler(StrongroomError)
    @app.exception_handler(InvalidName)
    async def archive_error(request: Request, exc: Exception) -> Response:
        if isinstance(exc, PasswordChangeRequired):
            return RedirectResponse(base_path(request) + "/password", status_code=303)
        if isinstance(exc, Unauthenticated):
            response = RedirectResponse(base_path(request) + "/login", status_code=303)
            clear_cookie(request, response, SESSION_COOKIE)
            return response
        status = status_of(exc)
        log_failure(request, exc, status)
        return _error_page(request, status, str(exc))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        # As api.errors' handler: the exception is re-raised and logged, the connection dropped.
        response = _error_page(request, 500, internal_error_message(exc))
        response.headers["Connection"] = "close"
        return response

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        return _error_page(request, exc.status_code, str(exc.detail))

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> Response:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(part) for part in first.get("loc", ()) if part not in ("body", "query", "path"))
        return _error_page(request, 400, f"{where}: {first.get('msg', 'invalid request')}".strip(": "))


def create_web_app(archive: Archive, policy: AccessPolicy) -> FastAPI:
    """The pages, over the same archive and policy as the API that mounts them."""
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    app.state.archive = archive
    app.state.policy = policy
    app.state.csrf_key = csrf.new_key()
    app.add_middleware(SecurityHeaders)
    _install_errors(app)
    for module in (auth_pages, record_pages, access_pages, search_page, audit_pages, compliance):
        app.include_router(module.router)

    @app.get("/static/{name}")
    async def static(name: str) -> Response:
        if name not in STATIC:
            raise HTTPException(404, "not found")
        return Response(files("web").joinpath("static", name).read_bytes(), media_type=STATIC[name])

    return app
