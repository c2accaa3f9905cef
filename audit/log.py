"""Reading the audit trail: filtered queries and CSV / JSON export.

Event times are stored as ISO 8601 UTC strings with microseconds
(``2026-03-01T09:30:00.000000+00:00``), which sort like the moments they name; the
query bounds are formatted the same way and compared as strings.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TextIO

from sqlalchemy import select

from audit.trail import Event
from catalog.schema import AuditEvent

if TYPE_CHECKING:
    from archive.service import Archive

CSV_COLUMNS = ("seq", "at", "actor", "action", "outcome", "record", "version", "source", "detail", "prev_hash", "hash")


def format_moment(moment: datetime) -> str:
    """A bound in the stored form; a naive datetime is taken as UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def query(
    archive: Archive,
    *,
    record: str | None = None,
    actor: str | None = None,
    action: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int | None = None,
) -> list[Event]:
    """Events matching every given filter, in ascending seq; at most ``limit`` (the first ones).

    ``since`` is inclusive and ``until`` exclusive (``since <= at < until``).
    """
    statement = select(AuditEvent).order_by(AuditEvent.seq)
    if record is not None:
        statement = statement.where(AuditEvent.record == record)
    if actor is not None:
        statement = statement.where(AuditEvent.actor == actor)
    if action is not None:
        statement = statement.where(AuditEvent.action == action)
    if since is not None:
        statement = statement.where(AuditEvent.at >= format_moment(since))
    if until is not None:
        statement = statement.where(AuditEvent.at < format_moment(until))
    if limit is not None:
        if limit < 0:
            raise ValueError("limit must not be negative")
        statement = statement.limit(limit)
    with archive.catalog.read() as session:
        return [_event(row) for row in session.scalars(statement)]


def _event(row: AuditEvent) -> Event:
    """Like :func:`audit.trail.to_event`, but a detail that is not JSON is kept as its raw text."""
    try:
        detail = json.loads(row.detail)
    except (ValueError, TypeError):
        detail = {"unreadable": row.detail}
    if not isinstance(detail, dict):
        detail = {"unreadable": row.detail}
    return Event(
        seq=row.seq, at=row.at, actor=row.actor, action=row.action, outcome=row.outcome, record=row.record,
        version=row.version, source=row.source, detail=detail, prev_hash=row.prev_hash, hash=row.hash,
    )


def _detail_text(detail: dict[str, Any]) -> str:
    return json.dumps(detail, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(cell: str) -> str:
    """Text a spreadsheet would run as a formula (user names are chosen by whoever logs in) is quoted with ``'``."""
    return f"'{cell}" if cell.startswith(FORMULA_START) else cell


def write_csv(events: Iterable[Event], out: TextIO) -> None:
    """Write ``events`` as CSV (header first); ``detail`` as compact JSON, empty cells for None.

    Free-text cells that start like a spreadsheet formula get a leading ``'`` (see
    :func:`spreadsheet_safe`); the JSON output is exact. Open ``out`` with ``newline=""``
    when it is a file, as the csv module asks.
    """
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for event in events:
        writer.writerow([
            event.seq, event.at, spreadsheet_safe(event.actor), event.action, event.outcome,
            "" if event.record is None else spreadsheet_safe(event.record),
            "" if event.version is None else event.version,
            spreadsheet_safe(event.source), _detail_text(event.detail), event.prev_hash, event.hash,
        ])


def to_json_rows(events: Iterable[Event]) -> list[dict[str, Any]]:
    """The events as plain dicts (every Event field; ``detail`` stays a dict)."""
    return [event.as_dict() for event in events]
