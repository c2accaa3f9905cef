"""Parsing, validation and formatting of record names and object keys."""

from __future__ import annotations

import re
from dataclasses import dataclass

NAME_PATTERN = re.compile(r"^([0-9]{4})-([0-9]{4,})-([a-z][a-z0-9-]*)\Z")
TYPE_PATTERN = re.compile(r"^[a-z][a-z0-9-]*\Z")
MIN_YEAR = 1900
MAX_YEAR = 9999
MAX_TYPE_LENGTH = 32
MAX_NUMBER_DIGITS = 9
CURRENT_PREFIX = "current/"
ARCHIVE_PREFIX = "archive/"
NUMBERS_PREFIX = "numbers/"
_ARCHIVE_VERSION = re.compile(r"^v([0-9]{6,})\Z")


class InvalidName(ValueError):
    """A string that is not a valid record name, type, year or object key."""


@dataclass(frozen=True, order=True)
class RecordName:
    """A validated record name: filing year, number within (year, type), and type."""

    year: int
    number: int
    type: str

    def __str__(self) -> str:
        return format_name(self.year, self.number, self.type)


@dataclass(frozen=True)
class ObjectKey:
    """What an object key in the bucket says: its area (current, archive, numbers), record and (for archive) version."""

    area: str
    name: RecordName
    version: int | None


def validate_year(year: int) -> int:
    """Return ``year`` if it is a four-digit filing year, else raise :class:`InvalidName`."""
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise InvalidName(f"year {year} is out of range ({MIN_YEAR}-{MAX_YEAR})")
    return year


def validate_type(record_type: str) -> str:
    """Return ``record_type`` if it is syntactically a record type, else raise."""
    if len(record_type) > MAX_TYPE_LENGTH or not TYPE_PATTERN.match(record_type):
        raise InvalidName(
            f"invalid record type {record_type!r}: lower-case letters, digits and '-', "
            f"starting with a letter, at most {MAX_TYPE_LENGTH} characters"
        )
    return record_type


def format_name(year: int, number: int, record_type: str) -> str:
    """Build the canonical name, e.g. ``format_name(2026, 7, "contract") == "2026-0007-contract"``."""
    validate_year(year)
    validate_type(record_type)
    if not 1 <= number < 10**MAX_NUMBER_DIGITS:
        raise InvalidName(f"record number {number} is out of range")
    return f"{year:04d}-{number:04d}-{record_type}"


def parse_name(text: str) -> RecordName:
    """Parse a record name, accepting only its canonical spelling."""
    match = NAME_PATTERN.match(text)
    if match is None:
        raise InvalidName(f"invalid record name {text!r}: expected YEAR-NUMBER-TYPE, e.g. 2026-0007-contract")
    year_text, number_text, record_type = match.groups()
    if len(number_text) > MAX_NUMBER_DIGITS:
        raise InvalidName(f"invalid record name {text!r}: number too long")
    name = RecordName(int(year_text), int(number_text), record_type)
    if name.number < 1:
        raise InvalidName(f"invalid record name {text!r}: numbers start at 0001")
    validate_year(name.year)
    validate_type(record_type)
    if str(name) != text:
        raise InvalidName(f"invalid record name {text!r}: did you mean {name}?")
    return name


def current_key(name: RecordName) -> str:
    """Object key holding the current version of a record."""
    return f"{CURRENT_PREFIX}{name}"


def archive_key(name: RecordName, version: int) -> str:
    """Object key holding an archived (superseded) version of a record."""
    if version < 1:
        raise InvalidName(f"invalid version {version}")
    return f"{ARCHIVE_PREFIX}{name}/v{version:06d}"


def number_key(name: RecordName) -> str:
    """Object key of the marker that keeps a record's number taken once it holds no content (void, disposed)."""
    return f"{NUMBERS_PREFIX}{name}"


def parse_object_key(key: str) -> ObjectKey:
    """Parse an object key written by :func:`current_key`, :func:`archive_key` or :func:`number_key`."""
    if key.startswith(CURRENT_PREFIX):
        return ObjectKey("current", parse_name(key[len(CURRENT_PREFIX):]), None)
    if key.startswith(NUMBERS_PREFIX):
        return ObjectKey("numbers", parse_name(key[len(NUMBERS_PREFIX):]), None)
    if key.startswith(ARCHIVE_PREFIX):
        name_text, _, version_text = key[len(ARCHIVE_PREFIX):].partition("/")
        match = _ARCHIVE_VERSION.match(version_text)
        if match is None:
            raise InvalidName(f"not an archive object key: {key!r}")
        name = parse_name(name_text)
        key_out = ObjectKey("archive", name, int(match.group(1)))
        if archive_key(name, key_out.version or 0) != key:
            raise InvalidName(f"not a canonical archive object key: {key!r}")
        return key_out
    raise InvalidName(f"not a record object key: {key!r}")
