"""Logging in and out, the forced password change, and the language switch."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from accounts import users
from api.auth import source_of
from config.settings import WEB_LANGUAGES
from errors import Unauthenticated, UsageError
from web import csrf
from web.forms import posted
from web.i18n import LANGUAGE_COOKIE
from web.render import page
from web.session import (
    SESSION_COOKIE,
    Page,
    base_path,
    clear_cookie,
    set_cookie,
    start_session,
)

router = APIRouter()
HOME = "/records"


def redirect(request: Request, path: str) -> RedirectResponse:
    return RedirectResponse(base_path(request) + path, status_code=303)


def _login_page(request: Request, *, name: str = "", error: str | None = None, status: int = 200) -> Response:
    value = csrf.new_login_value()
    response = page(request, "login.html", status=status, login_csrf=value, name=name, error=error)
    set_cookie(request, response, csrf.LOGIN_COOKIE, value)
    return response


@router.get("/")
async def home(request: Request) -> Response:
    return redirect(request, HOME)


@router.get("/login")
async def login_form(request: Request) -> Response:
    return _login_page(request)


@router.post("/login")
async def login(
    request: Request,
    name: Annotated[str, Form(max_length=64)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    csrf_token: Annotated[str, Form(max_length=128)] = "",
) -> Response:
    csrf.check_login(request.cookies.get(csrf.LOGIN_COOKIE), csrf_token)
    try:
        result = await run_in_threadpool(
            users.login, request.app.state.archive, name.strip(), password, source=source_of(request)
        )
    except Unauthenticated as exc:
        return _login_page(request, name=name, error=str(exc), status=401)
    response = redirect(request, "/password" if result.user.must_change_password else HOME)
    start_session(request, response, result.token, result.expires_at)
    clear_cookie(request, response, csrf.LOGIN_COOKIE)
    return response


@router.post("/logout")
async def logout(visit: Page) -> Response:
    await posted(visit)
    try:
        await run_in_threadpool(users.logout, visit.archive, visit.token, source=visit.source)
    except Unauthenticated:
        pass  # already expired or revoked: the cookie goes all the same
    response = redirect(visit.request, "/login")
    clear_cookie(visit.request, response, SESSION_COOKIE)
    return response


@router.get("/password")
async def password_form(visit: Page) -> Response:
    user = await run_in_threadpool(visit.user)
    return page(visit.request, "password.html", user=user, error=None)


@router.post("/password")
async def change_password(visit: Page) -> Response:
    fields = await posted(visit)
    user = await run_in_threadpool(visit.user)
    new = fields.get("new_password", "")
    try:
        if new != fields.get("confirm_password", ""):
            raise UsageError("the two new passwords differ")
        await run_in_threadpool(
            users.change_password, visit.archive, user.name, fields.get("old_password", ""), new, source=visit.source,
            keep_token=visit.token,
        )
    except (UsageError, Unauthenticated) as exc:
        return page(visit.request, "password.html", status=400, user=user, error=str(exc))
    return redirect(visit.request, HOME)


@router.get("/language/{lang}")
async def switch_language(request: Request, lang: str, next: Annotated[str, Query(max_length=2000)] = "") -> Response:
    """Remember the chosen language and go back to the page it was chosen on (a local path only)."""
    base = base_path(request)
    back = next if next.startswith(base + "/") and not next.startswith("//") and "\\" not in next else base + HOME
    response = RedirectResponse(back, status_code=303)
    if lang in WEB_LANGUAGES:
        set_cookie(request, response, LANGUAGE_COOKIE, lang)
    return response
