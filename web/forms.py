"""Reading what a page receives: posted forms (CSRF-checked first) and lenient query values.

An empty field of a GET filter form means "no filter", so numbers and dates are taken as
text and converted here; anything malformed is a UsageError (400 page), never a 500.
"""

from __future__ import annotations

from datetime import date

from starlette.requests import ClientDisconnect

from api.streams import CUT_SHORT, ClientDisconnected
from errors import UsageError
from web import csrf
from web.session import Visit

MAX_FORM_FIELDS = 20


async def posted(visit: Visit) -> dict[str, str]:
    """The fields of a url-encoded POST form, once its CSRF token is checked (CsrfRejected, 403)."""
    request = visit.request
    if not request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        raise csrf.CsrfRejected(csrf.REJECTED)
    try:
        form = await request.form(max_files=0, max_fields=MAX_FORM_FIELDS)
    except ClientDisconnect:
        raise ClientDisconnected(CUT_SHORT) from None
    fields = {key: value for key, value in form.items() if isinstance(value, str)}
    csrf.check_session(request.app.state.csrf_key, visit.token, fields.get(csrf.FIELD))
    return fields


def optional_text(value: str | None) -> str | None:
    cleaned = (value or "").strip()
    return cleaned or None


def optional_int(value: str | None, what: str, low: int, high: int) -> int | None:
    text = (value or "").strip()
    if not text:
        return None
    if not text.isdigit() or not low <= int(text) <= high:
        raise UsageError(f"{what} must be a whole number from {low} to {high}, not {text[:20]!r}")
    return int(text)


def optional_date(value: str | None, what: str) -> date | None:
    text = (value or "").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise UsageError(f"{what} must be a date YYYY-MM-DD, not {text[:20]!r}") from None
