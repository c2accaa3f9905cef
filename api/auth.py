"""Bearer-token authentication for API requests, and the per-request context."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from access.actor import Actor
from accounts.users import UserView, authenticate
from archive.errors import Forbidden, Unauthenticated
from operations.context import Context

bearer = HTTPBearer(auto_error=False, description="A token from POST /auth/login")
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]


def source_of(request: Request) -> str:
    client = request.client
    return f"http:{client.host}" if client else "http"


async def logged_in(request: Request, credentials: Credentials) -> tuple[UserView, str]:
    """The user behind the bearer token (401 without a valid one)."""
    if credentials is None or credentials.scheme.lower() != "bearer" or not credentials.credentials:
        raise Unauthenticated("not logged in: send 'Authorization: Bearer TOKEN' (POST /auth/login)")
    user = await run_in_threadpool(authenticate, request.app.state.archive, credentials.credentials)
    return user, credentials.credentials


LoggedIn = Annotated[tuple[UserView, str], Depends(logged_in)]


async def context(request: Request, login: LoggedIn) -> Context:
    """The acting user's context; a user who must change the password may do nothing else."""
    user, _ = login
    if user.must_change_password:
        raise Forbidden("password change required: POST /auth/password (strongroom passwd)")
    state = request.app.state
    return Context(state.archive, state.policy, Actor(user.name, user.role, source_of(request)))


Ctx = Annotated[Context, Depends(context)]
