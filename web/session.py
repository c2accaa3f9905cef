"""The session cookie and the logged-in visitor of a page.

The cookie holds the bearer token that :func:`accounts.users.login` hands out, exactly as the
API's clients hold it: it expires with the token, and logging out revokes the token in the
catalog. It is HttpOnly (no script reads it), ``SameSite=Strict`` (no other site's page sends
it), limited to the web interface's path, and ``Secure`` whenever the page is served over TLS.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any, TypeVar

from fastapi import Depends
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from accounts.users import UserView, authenticate
from api.auth import source_of
from archive.service import Archive
from audit.actor import Actor
from errors import StrongroomError, Unauthenticated
from operations.context import Context
from web.navigation import viewer_of

SESSION_COOKIE = "strongroom_session"
T = TypeVar("T")


class PasswordChangeRequired(StrongroomError):
    """The user logged in with a one-time password and may do nothing before choosing a new one."""


def base_path(request: Request) -> str:
    """Where the web interface is mounted (``/web``)."""
    return str(request.scope.get("root_path", "")).rstrip("/")


def _is_tls(request: Request) -> bool:
    return request.url.scheme == "https"


def set_cookie(request: Request, response: Response, name: str, value: str, *, expires: datetime | None = None) -> None:
    """A cookie for the web interface only: HttpOnly, SameSite=Strict, Secure over TLS."""
    response.set_cookie(
        name, value, expires=expires, path=base_path(request) or "/", secure=_is_tls(request), httponly=True,
        samesite="strict",
    )


def clear_cookie(request: Request, response: Response, name: str) -> None:
    response.delete_cookie(name, path=base_path(request) or "/", secure=_is_tls(request), httponly=True,
                           samesite="strict")


def start_session(request: Request, response: Response, token: str, expires_at: str) -> None:
    set_cookie(request, response, SESSION_COOKIE, token, expires=datetime.fromisoformat(expires_at))


def session_token(request: Request) -> str | None:
    return request.cookies.get(SESSION_COOKIE) or None


class Visit:
    """A page request from a logged-in browser: its token is checked in the same worker-thread hop as the page's work.

    The viewer is kept on ``request.state`` for the page (and its error page) to show.
    """

    def __init__(self, request: Request) -> None:
        token = session_token(request)
        if token is None:
            raise Unauthenticated("not logged in")
        self.request = request
        self.token = token
        self.source = source_of(request)
        self._state = request.app.state

    @property
    def archive(self) -> Archive:
        return self._state.archive  # type: ignore[no-any-return]

    def user(self) -> UserView:
        """The session's user (Unauthenticated when the token expired or was revoked)."""
        return authenticate(self._state.archive, self.token)

    def context(self) -> Context:
        user = self.user()
        if user.must_change_password:
            raise PasswordChangeRequired("choose a new password first")
        ctx = Context(self._state.archive, self._state.policy, Actor(user.name, user.role, self.source))
        self.request.state.viewer = viewer_of(ctx)
        return ctx

    async def run(self, work: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """``work(context, *args, **kwargs)`` as the session's user, in one worker-thread hop."""
        return await run_in_threadpool(lambda: work(self.context(), *args, **kwargs))


async def visit(request: Request) -> Visit:
    return Visit(request)


Page = Annotated[Visit, Depends(visit)]
