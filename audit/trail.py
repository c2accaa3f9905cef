"""Appending to and verifying the hash-chained audit trail.

Each event's ``hash`` is the SHA-256 of the previous event's hash and the event's own
canonical JSON form, so editing, deleting, inserting or reordering any event breaks
the chain from that point on. Appends run inside a catalog write transaction
(``BEGIN IMMEDIATE`` on SQLite), which serialises them across processes.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog.schema import AuditEvent

if TYPE_CHECKING:
    from archive.service import Archive
    from audit.actor import Actor

GENESIS = "0" * 64


@dataclass(frozen=True)
class Event:
    seq: int
    at: str
    actor: str
    action: str
    outcome: str
    record: str | None
    version: int | None
    source: str
    detail: dict[str, Any] = field(default_factory=dict)
    prev_hash: str = GENESIS
    hash: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


def canonical(event: Event | AuditEvent, detail: dict[str, Any] | str) -> bytes:
    """The bytes an event's hash covers: every column but ``hash``, in a fixed JSON form."""
    if isinstance(detail, str):
        detail = json.loads(detail)
    body = {
        "seq": event.seq,
        "at": event.at,
        "actor": event.actor,
        "action": event.action,
        "outcome": event.outcome,
        "record": event.record,
        "version": event.version,
        "source": event.source,
        "detail": detail,
        "prev_hash": event.prev_hash,
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def chain_hash(prev_hash: str, body: bytes) -> str:
    return hashlib.sha256(prev_hash.encode("ascii") + b"\n" + body).hexdigest()


def _timestamp(moment: datetime | None) -> str:
    moment = moment or datetime.now(UTC)
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def append(
    session: Session,
    *,
    actor: str,
    action: str,
    source: str,
    outcome: str = "ok",
    record: str | None = None,
    version: int | None = None,
    detail: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> Event:
    """Append one event inside the caller's write transaction and return it."""
    head = session.execute(select(AuditEvent.seq, AuditEvent.hash).order_by(AuditEvent.seq.desc()).limit(1)).first()
    seq, prev_hash = (head[0] + 1, head[1]) if head else (1, GENESIS)
    event = Event(
        seq=seq, at=_timestamp(at), actor=actor, action=action, outcome=outcome, record=record,
        version=version, source=source, detail=detail or {}, prev_hash=prev_hash,
    )
    detail_text = json.dumps(event.detail, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    digest = chain_hash(prev_hash, canonical(event, event.detail))
    session.add(AuditEvent(
        seq=seq, at=event.at, actor=actor, action=action, outcome=outcome, record=record, version=version,
        source=source, detail=detail_text, prev_hash=prev_hash, hash=digest,
    ))
    session.flush()
    return Event(**{**event.as_dict(), "hash": digest})


def to_event(row: AuditEvent) -> Event:
    return Event(
        seq=row.seq, at=row.at, actor=row.actor, action=row.action, outcome=row.outcome, record=row.record,
        version=row.version, source=row.source, detail=json.loads(row.detail), prev_hash=row.prev_hash, hash=row.hash,
    )


@dataclass(frozen=True)
class ChainCheck:
    """Result of walking the chain: ``first_bad`` is the first event whose link or hash is wrong."""

    checked: int
    head_seq: int
    head_hash: str
    first_bad: int | None = None
    problem: str | None = None

    @property
    def ok(self) -> bool:
        return self.first_bad is None


BATCH = 5000


def walk_chain(session: Session, on_progress: Callable[[int], None] | None = None) -> ChainCheck:
    """Recompute every link from the first event; stop at the first broken one."""
    expected_seq, prev_hash, checked = 1, GENESIS, 0
    last_seq = 0
    while True:
        rows = session.scalars(
            select(AuditEvent).where(AuditEvent.seq >= expected_seq).order_by(AuditEvent.seq).limit(BATCH)
        ).all()
        if not rows:
            return ChainCheck(checked, last_seq, prev_hash)
        for row in rows:
            problem = _link_problem(row, expected_seq, prev_hash)
            if problem:
                return ChainCheck(checked, last_seq, prev_hash, first_bad=expected_seq, problem=problem)
            checked += 1
            last_seq, prev_hash, expected_seq = row.seq, row.hash, row.seq + 1
        if on_progress is not None:
            on_progress(checked)


def _link_problem(row: AuditEvent, expected_seq: int, prev_hash: str) -> str | None:
    if row.seq != expected_seq:
        return f"event {expected_seq} is missing (next is {row.seq})"
    if row.prev_hash != prev_hash:
        return f"event {row.seq} does not follow event {row.seq - 1} (previous hash differs)"
    try:
        body = canonical(row, row.detail)
    except (ValueError, TypeError):
        return f"event {row.seq} has an unreadable detail field"
    if chain_hash(prev_hash, body) != row.hash:
        return f"event {row.seq} was altered (its hash does not match its content)"
    return None


def record(
    archive: Archive,
    actor: Actor,
    action: str,
    *,
    outcome: str = "ok",
    record: str | None = None,
    version: int | None = None,
    detail: dict[str, Any] | None = None,
) -> Event:
    """Append one event in a transaction of its own (for events not tied to another change).

    Once committed, the chain head is checkpointed into the bucket if it is due
    (best effort: see :func:`audit.checkpoints.checkpoint_if_due`).
    """
    with archive.catalog.write() as session:
        event = append(
            session, actor=actor.name, action=action, source=actor.source, outcome=outcome,
            record=record, version=version, detail=detail,
        )
    # Imported late: audit.checkpoints imports the storage layer, which must not load with the trail.
    from audit.checkpoints import checkpoint_if_due

    checkpoint_if_due(archive, event.seq)
    return event


_record = record  # under another name for ``refused``, whose keyword ``record`` hides it


def refused(
    archive: Archive, actor: Actor, action: str, refusal: Exception, *, record: str | None = None, **detail: Any
) -> None:
    """Record a refusal (outcome ``denied``) in a transaction of its own: the refused one has rolled back."""
    _record(archive, actor, action, outcome="denied", record=record, detail={**detail, "reason": str(refusal)})
