"""Bearer-token authentication for API requests, and the per-request context."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from accounts.users import UserView, authenticate
from audit.actor import Actor
from errors import Forbidden, Unauthenticated
from operations.context import Context

T = TypeVar("T")
TOKEN_HINT = "A token from POST /auth/login"
NOT_LOGGED_IN_HINT = "not logged in: send 'Authorization: Bearer TOKEN' (POST /auth/login)"
bearer = HTTPBearer(auto_error=False, description=TOKEN_HINT)
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]


def source_of(request: Request) -> str:
    client = request.client
    return f"http:{client.host}" if client else "http"


async def logged_in(request: Request, credentials: Credentials) -> tuple[UserView, str]:
    """The user behind the bearer token (401 without a valid one)."""
    if credentials is None:
        raise Unauthenticated(NOT_LOGGED_IN_HINT)
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


class Caller:
    """A request's bearer token, checked in the same worker-thread hop as the work it asks for.

    Authentication and the operation run together in one hop from the event loop, which
    is most of the cost of a small request after the HTTP round trip itself.
    """

    def __init__(self, request: Request, token: str) -> None:
        self._state = request.app.state
        self._token = token
        self._source = source_of(request)

    def context(self) -> Context:
        """The acting user's context (in a worker thread); 401/403 as for :func:`context`."""
        user = authenticate(self._state.archive, self._token)
        if user.must_change_password:
            raise Forbidden("password change required: POST /auth/password (strongroom passwd)")
        return Context(self._state.archive, self._state.policy, Actor(user.name, user.role, self._source))

    async def run(self, operation: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """``operation(context, *args, **kwargs)`` as this caller, in one worker-thread hop."""
        return await run_in_threadpool(lambda: operation(self.context(), *args, **kwargs))


class BearerCaller(HTTPBearer):
    """The bearer-token scheme (as OpenAPI shows it) resolved straight to a :class:`Caller`.

    One dependency instead of a scheme plus a function that depends on it: FastAPI's
    per-dependency work is a measurable part of a small request (see docs/benchmarks.md).
    """

    async def __call__(self, request: Request) -> Caller:  # type: ignore[override]
        credentials = await super().__call__(request)
        if credentials is None:
            raise Unauthenticated(NOT_LOGGED_IN_HINT)
        return Caller(request, credentials.credentials)


Call = Annotated[Caller, Depends(BearerCaller(auto_error=False, scheme_name="HTTPBearer", description=TOKEN_HINT))]
