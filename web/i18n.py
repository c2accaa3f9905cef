"""The interface's languages: one catalogue (``messages.toml``) of every text the pages show, in zh and en.

The language is the visitor's choice (a cookie set by the switch in the page header), else
``web.language`` from the configuration.
"""

from __future__ import annotations

import tomllib
from functools import cache
from importlib.resources import files
from typing import Any

from starlette.requests import Request

from config.settings import WEB_LANGUAGES

LANGUAGE_COOKIE = "strongroom_lang"
HTML_LANG = {"zh": "zh-CN", "en": "en"}


@cache
def catalogue() -> dict[str, dict[str, str]]:
    """Message key -> {language: text}, read once from the package's ``messages.toml``."""
    text = files("web").joinpath("messages.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


def language(request: Request) -> str:
    chosen = request.cookies.get(LANGUAGE_COOKIE, "")
    if chosen in WEB_LANGUAGES:
        return chosen
    return str(request.app.state.archive.settings.web.language)


class Translator:
    """``t("key", name=...)``: the text of a key in one language, formatted with the given values."""

    def __init__(self, lang: str) -> None:
        self.lang = lang
        self._messages = catalogue()

    def __call__(self, key: str, **values: Any) -> str:
        text = self._messages[key][self.lang]
        return text.format(**values) if values else text
