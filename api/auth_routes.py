"""Logging in and out, changing one's password, and who am I."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from accounts import users
from api.auth import LoggedIn, source_of
from api.errors import ERROR_RESPONSES

router = APIRouter(tags=["auth"], responses=ERROR_RESPONSES)


class LoginForm(BaseModel):
    name: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)


class PasswordForm(BaseModel):
    old_password: str = Field(min_length=1, max_length=1024)
    new_password: str = Field(min_length=1, max_length=1024)


@router.post("/auth/login", summary="Exchange a name and password for an expiring bearer token")
async def login(request: Request, form: LoginForm) -> dict[str, Any]:
    result = await run_in_threadpool(
        users.login, request.app.state.archive, form.name, form.password, source=source_of(request)
    )
    return {
        "token": result.token,
        "expires_at": result.expires_at,
        "user": result.user.as_dict(),
        "must_change_password": result.user.must_change_password,
    }


@router.post("/auth/logout", summary="Revoke the token used for this request")
async def logout(request: Request, login: LoggedIn) -> dict[str, str]:
    _, token = login
    await run_in_threadpool(users.logout, request.app.state.archive, token, source=source_of(request))
    return {"status": "logged out"}


@router.post(
    "/auth/password",
    summary="Change your password (required after a one-time password); your other sessions end, this one stays",
)
async def change_password(request: Request, login: LoggedIn, form: PasswordForm) -> dict[str, Any]:
    user, token = login
    ended = await run_in_threadpool(
        users.change_password, request.app.state.archive, user.name, form.old_password, form.new_password,
        source=source_of(request), keep_token=token,
    )
    return {"status": "password changed", "sessions_ended": ended}


@router.get("/me", summary="The logged-in user")
async def me(login: LoggedIn) -> dict[str, Any]:
    return login[0].as_dict()
