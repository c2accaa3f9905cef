"""The free-text fields people type, and the one limit each has, whichever way it arrives (pure, no I/O).

A title, a version's comment, a reason (for an access request, a denial, a disposal, a hold,
a trigger date) and a file name are checked here by the core functions every front end
reaches (``archive.filing``, ``access.requests``, ``retention``), so the CLI, the API and the
web pages refuse the same values with the same one-line message (exit 2, HTTP 400). The API
states the same limits in its OpenAPI schema (:func:`schema`) and the web forms in their
``maxlength``.

Rules: surrounding white space is dropped, and an empty value is no value (a required one is
refused); the length is counted in characters after that; control characters are refused
(terminal escapes, NUL, …) as are the Unicode line separators and the bidirectional
overrides that make text display other than it reads. Only a reason may span lines
(``\\n``; ``\\r\\n`` is taken as ``\\n``) and hold tabs; the other fields are one line.
"""

from __future__ import annotations

from dataclasses import dataclass

from errors import UsageError

TITLE = "title"
COMMENT = "comment"
REASON = "reason"
FILENAME = "file name"


@dataclass(frozen=True)
class Rule:
    limit: int  # characters
    multiline: bool = False


RULES: dict[str, Rule] = {
    TITLE: Rule(500),
    COMMENT: Rule(2000),
    REASON: Rule(2000, multiline=True),
    FILENAME: Rule(255),
}
LIMITS: dict[str, int] = {field: rule.limit for field, rule in RULES.items()}

_LINE_BREAKS = frozenset("\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")
_INVISIBLE_DIRECTION = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_ALLOWED_IN_MULTILINE = frozenset("\n\t")


def _refused(char: str, multiline: bool) -> bool:
    if multiline and char in _ALLOWED_IN_MULTILINE:
        return False
    code = ord(char)
    return code < 0x20 or 0x7F <= code < 0xA0 or char in _LINE_BREAKS or char in _INVISIBLE_DIRECTION


def check_text(field: str, value: str | None) -> str | None:
    """``value`` stripped (None if nothing is left); a UsageError naming the field if it breaks the field's rule."""
    rule = RULES[field]
    text = (value or "").strip()
    if rule.multiline:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text:
        return None
    if len(text) > rule.limit:
        raise UsageError(f"{field} is too long: {len(text):,} characters, at most {rule.limit:,}")
    for position, char in enumerate(text, start=1):
        if _refused(char, rule.multiline):
            if char in _LINE_BREAKS and not rule.multiline:
                raise UsageError(f"{field} must be one line (a line break at character {position})")
            raise UsageError(f"{field} contains a control character (U+{ord(char):04X} at character {position})")
    return text


def required_text(field: str, value: str | None, what: str | None = None) -> str:
    """As :func:`check_text`, and a UsageError ("a WHAT is required") when nothing is left."""
    text = check_text(field, value)
    if text is None:
        raise UsageError(f"a {what or field} is required")
    return text


def schema(field: str, *, required: bool = False) -> dict[str, object]:
    """The field's rule as JSON Schema keywords, for the API's OpenAPI document (the core enforces it)."""
    return {"maxLength": LIMITS[field], **({"minLength": 1} if required else {})}
