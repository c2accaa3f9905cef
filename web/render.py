"""Rendering pages: one Jinja2 environment (autoescaped), and the values every template gets."""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse

from archive.fields import LIMITS
from web import csrf
from web.i18n import HTML_LANG, Translator, language
from web.session import base_path, session_token


@cache
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("web", "templates"), autoescape=select_autoescape(default=True),
        undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True,
    )
    env.filters["size"] = human_size
    return env


def human_size(size: int | None) -> str:
    if size is None:
        return "—"
    if size < 1024:
        return f"{size} B"
    value = size / 1024
    for unit in ("KiB", "MiB"):
        if value < 1024:
            return f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GiB"


def local_time(moment: str | datetime | None, zone: ZoneInfo) -> str:
    """An ISO time from the catalog as ``YYYY-MM-DD HH:MM`` in the department's time zone."""
    if not moment:
        return "—"
    parsed = datetime.fromisoformat(moment) if isinstance(moment, str) else moment
    return f"{parsed.astimezone(zone):%Y-%m-%d %H:%M}"


def _here(request: Request, base: str) -> str:
    """Where the language switch returns to: this page, unless it answers a form (then the archive)."""
    if request.method != "GET":
        return f"{base}/records"
    return request.url.path + (f"?{request.url.query}" if request.url.query else "")


def page(request: Request, template: str, *, status: int = 200, **values: Any) -> HTMLResponse:
    """A page: the template with the language, the viewer, the CSRF token and URL helpers."""
    lang = language(request)
    base = base_path(request)
    zone = ZoneInfo(request.app.state.archive.settings.paperwork.time_zone)
    token = session_token(request)
    common = {
        "t": Translator(lang),
        "lang": lang,
        "html_lang": HTML_LANG[lang],
        "base": base,
        "here": _here(request, base),
        "path": request.url.path,
        "viewer": getattr(request.state, "viewer", None),
        "csrf_field": csrf.FIELD,
        "csrf_token": csrf.token_for(request.app.state.csrf_key, token) if token else "",
        "time_zone": str(zone),
        "limits": LIMITS,
        "when": lambda moment: local_time(moment, zone),
    }
    html = environment().get_template(template).render(**common, **values)
    return HTMLResponse(html, status_code=status)
