"""Cross-site request forgery: every POST form carries a token that a forged request cannot know.

A logged-in session's token is an HMAC of the session's bearer token under a key made at
start-up (so forms rendered before a restart must be reloaded). The login form, which has
no session yet, uses a double-submit cookie: a random value in both an HttpOnly cookie and
the form. The session cookie is also ``SameSite=Strict``; the token is the second line.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from errors import Forbidden

FIELD = "csrf_token"
LOGIN_COOKIE = "strongroom_login_csrf"
REJECTED = "the form has expired or did not come from this site: reload the page and try again"


class CsrfRejected(Forbidden):
    """A POST without the right CSRF token (403)."""


def new_key() -> bytes:
    return secrets.token_bytes(32)


def new_login_value() -> str:
    return secrets.token_urlsafe(32)


def token_for(key: bytes, session_token: str) -> str:
    return hmac.new(key, b"strongroom-web-csrf\0" + session_token.encode(), hashlib.sha256).hexdigest()


def _same(expected: str | None, submitted: str | None) -> bool:
    return bool(expected) and bool(submitted) and hmac.compare_digest(str(expected), str(submitted))


def check_session(key: bytes, session_token: str, submitted: str | None) -> None:
    """CsrfRejected unless ``submitted`` is the session's token."""
    if not _same(token_for(key, session_token), submitted):
        raise CsrfRejected(REJECTED)


def check_login(cookie_value: str | None, submitted: str | None) -> None:
    """CsrfRejected unless the login form's token equals its cookie."""
    if not _same(cookie_value, submitted):
        raise CsrfRejected(REJECTED)
