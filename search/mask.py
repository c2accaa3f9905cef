"""De-identification of customer information in text that is shown (snippets, exports): pure functions.

Policy 6(1) asks that customer information be masked wherever text is shown. Masked, in this order
(a number masked by one rule is no longer digits for the next):

- e-mail addresses: the first character of the local part stays (``z***@bank.com.cn``). Only the local
  part is masked, and it is ASCII (letters, digits, ``._%+-``): Chinese text written right against an
  address (``邮箱zhangwei@example.com``) is not part of it and stays (``邮箱z***@example.com``). Only when
  the character before the ``@`` is not ASCII (an internationalised address, ``张伟@example.com``) is the
  whole run of word characters before it taken as the local part, since where it starts cannot be known;
  the domain is ASCII labels and a top-level domain of letters;
- mainland ID-card numbers: 18 characters with a valid birth date and check character (GB 11643), or
  15 digits with a valid birth date; the first 3 and last 4 stay (``110***********002X``);
- bank-card numbers: 13-19 digits, written together or in groups of four, and only when the Luhn
  check holds; the first and last 4 stay, in groups of four (``6222 **** **** 1234``);
- mobile numbers: ``1[3-9]`` and 9 more digits, optionally ``+86``/``0086``/``86`` and separators; the first 3
  and last 4 stay (``138****5678``);
- landline numbers: an area code (``010``, ``(0755)``, ``+86 21``) and a 7-8 digit subscriber number,
  which may be split in two (``021 6432 1234``); the area code and the last 4 digits stay (``010-****5678``).

Full-width digits and signs (１３８…) are read as ASCII, so they are masked too (and shown as ASCII).
The stored document is never changed; only what is displayed is.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date

MASK = "*"
# Full-width digits and signs (Chinese text often has them) read as ASCII, one character for one.
FOLD = {code: code - 0xFEE0 for code in (*range(0xFF10, 0xFF1A), 0xFF0B, 0xFF0D, 0xFF08, 0xFF09)}
FULL_WIDTH = re.compile("[\uff08\uff09\uff0b\uff0d\uff10-\uff19]")
# Runs of digits and the signs numbers are written with: only these are looked at closely (it is fast).
NUMBERS = re.compile(r"[+(\d][\d ()+-]*\d[Xx]?")
MIN_DIGITS = 7
ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK = "10X98765432"

LOCAL_ASCII = "A-Za-z0-9._%+-"
EMAIL = re.compile(
    rf"(?:(?<![{LOCAL_ASCII}])[{LOCAL_ASCII}]+"  # an ASCII local part: the text before it is not part of it
    r"|(?<![\w.%+-])[\w.%+-]*[^\W\x00-\x7f])"  # or one ending in a non-ASCII word character: the whole run
    r"@[A-Za-z0-9][A-Za-z0-9-]*(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}(?![A-Za-z0-9-])"
)
ID_18 = re.compile(r"(?<!\d)\d{17}[\dXx](?!\d)")
ID_15 = re.compile(r"(?<!\d)\d{15}(?!\d)")
CARD = re.compile(r"(?<!\d)(?:\d{13,19}|\d{4}([ -])\d{4}(?:\1\d{4}){1,2}(?:\1\d{1,4})?)(?!\d)")
MOBILE = re.compile(r"(?<![\d+])((?:(?:\+|00)?86[ -]?)?)(1[3-9]\d(?:[ -]?\d{4}){2})(?!\d)")
AREA = r"(?:10|2\d|[3-9]\d\d)"  # 010, 02x, 0xxx: the area codes without their leading 0
LANDLINE = re.compile(
    rf"(?<![\d+])((?:\+|00)86[ -]?(?:\(0?{AREA}\)|0?{AREA})[ -]?|\(0{AREA}\)[ -]?|0{AREA}[ -]?)"
    r"([1-9]\d{2,3}[ -]?\d{4})(?!\d)"
)


def luhn_valid(digits: str) -> bool:
    """The Luhn (mod 10) check of a bank-card number."""
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def luhn_check_digit(body: str) -> str:
    """The digit that makes ``body`` + digit Luhn-valid (for building test numbers)."""
    return next(str(d) for d in range(10) if luhn_valid(body + str(d)))


def id_check_character(first17: str) -> str:
    """The check character of an 18-character ID-card number (GB 11643, ISO 7064 MOD 11-2)."""
    return ID_CHECK[sum(int(c) * w for c, w in zip(first17, ID_WEIGHTS, strict=True)) % 11]


def _valid_date(year: int, month: int, day: int) -> bool:
    try:
        date(year, month, day)
    except ValueError:
        return False
    return True


def is_id_18(number: str) -> bool:
    digits = [int(c) for c in number[:17]]
    year = digits[6] * 1000 + digits[7] * 100 + digits[8] * 10 + digits[9]
    month, day = digits[10] * 10 + digits[11], digits[12] * 10 + digits[13]
    last = "X" if number[17] in "Xx" else str(int(number[17]))
    return 1900 <= year <= 2099 and _valid_date(year, month, day) and id_check_character(number[:17]) == last


def is_id_15(number: str) -> bool:
    digits = [int(c) for c in number]
    return _valid_date(1900 + digits[6] * 10 + digits[7], digits[8] * 10 + digits[9], digits[10] * 10 + digits[11])


def _keep_ends(text: str, head: int, tail: int) -> str:
    """Mask every digit of ``text`` but the first ``head`` and the last ``tail``; separators stay."""
    positions = [i for i, char in enumerate(text) if char.isdigit()]
    hidden = set(positions[head:len(positions) - tail])
    return "".join(MASK if i in hidden else char for i, char in enumerate(text))


def _email(match: re.Match[str]) -> str:
    local, domain = match.group().split("@", 1)
    return f"{local[0]}***@{domain}"


def _id(check: Callable[[str], bool]) -> Callable[[re.Match[str]], str]:
    def replace(match: re.Match[str]) -> str:
        number = match.group()
        return _keep_ends(number[:-1], 3, 3) + number[-1] if check(number) else number

    return replace


def _card(match: re.Match[str]) -> str:
    digits = "".join(char for char in match.group() if char.isdigit())
    if not 13 <= len(digits) <= 19 or not luhn_valid(digits):
        return match.group()
    hidden = MASK * (len(digits) - 8)
    groups = [hidden[i:i + 4] for i in range(0, len(hidden), 4)]
    return " ".join([digits[:4], *groups, digits[-4:]])


def _mobile(match: re.Match[str]) -> str:
    return (match.group(1) or "") + _keep_ends(match.group(2), 3, 4)


def _landline(match: re.Match[str]) -> str:
    return match.group(1) + _keep_ends(match.group(2), 0, 4)


NUMBER_RULES: tuple[tuple[re.Pattern[str], Callable[[re.Match[str]], str]], ...] = (
    (ID_18, _id(is_id_18)),
    (ID_15, _id(is_id_15)),
    (CARD, _card),
    (MOBILE, _mobile),
    (LANDLINE, _landline),
)


def _numbers(match: re.Match[str]) -> str:
    run = match.group()
    if sum(char.isdigit() for char in run) < MIN_DIGITS:
        return run
    for pattern, replace in NUMBER_RULES:
        run = pattern.sub(replace, run)
    return run


def mask(text: str) -> str:
    """``text`` with customer identifiers masked (see the module docstring); full-width digits come back as ASCII.

    The number rules run on each run of digits and separators on its own: a run begins and ends
    where the text has neither, so their look-arounds see what they would see in the whole text.
    """
    if FULL_WIDTH.search(text):
        text = text.translate(FOLD)
    if "@" in text:
        text = EMAIL.sub(_email, text)
    return NUMBERS.sub(_numbers, text)
