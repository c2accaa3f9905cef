"""Record names (``YEAR-NUMBER-TYPE``) and the object keys derived from them.

Pure logic, no I/O: every string a user types passes through :func:`parse_name`
before it is used anywhere else, and object keys are only ever built here.
"""

from naming.names import (
    ARCHIVE_PREFIX,
    CURRENT_PREFIX,
    NUMBERS_PREFIX,
    InvalidName,
    ObjectKey,
    RecordName,
    archive_key,
    current_key,
    format_name,
    number_key,
    parse_name,
    parse_object_key,
    validate_type,
    validate_year,
)

__all__ = [
    "ARCHIVE_PREFIX",
    "CURRENT_PREFIX",
    "NUMBERS_PREFIX",
    "InvalidName",
    "ObjectKey",
    "RecordName",
    "archive_key",
    "current_key",
    "format_name",
    "number_key",
    "parse_name",
    "parse_object_key",
    "validate_type",
    "validate_year",
]
