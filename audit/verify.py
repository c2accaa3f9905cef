"""Full verification of the audit trail: the hash chain in the catalog and the checkpoints in the bucket.

The chain alone shows any edit, deletion, insertion or reordering of events before
the head. Only the checkpoints, written once into the bucket, show a trail that was
cut short at its end or rewritten with freshly computed hashes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from audit.checkpoints import Checkpoint, read_all
from audit.trail import GENESIS, walk_chain
from catalog.schema import AuditEvent
from storage.s3 import LockProbe

if TYPE_CHECKING:
    from archive.service import Archive


@dataclass(frozen=True)
class AuditReport:
    """Outcome of :func:`verify_audit`.

    ``head_seq``/``head_hash`` are the last event in the catalog (0 and the genesis hash
    for an empty trail); ``checked`` counts the events whose links were verified before
    the first problem; ``first_bad`` is the first event that is wrong or missing.
    """

    ok: bool
    checked: int
    head_seq: int
    head_hash: str
    first_bad: int | None
    problem: str | None
    checkpoints: int
    lock: LockProbe | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "checked": self.checked,
            "head_seq": self.head_seq,
            "head_hash": self.head_hash,
            "first_bad": self.first_bad,
            "problem": self.problem,
            "checkpoints": self.checkpoints,
            "lock": self.lock.as_dict() if self.lock is not None else None,
        }


def verify_audit(
    archive: Archive, on_progress: Callable[[int], None] | None = None, *, probe_lock: bool = True
) -> AuditReport:
    """Walk the chain, then compare it with every checkpoint in the bucket; report the first problem."""
    with archive.catalog.read() as session:
        chain = walk_chain(session, on_progress)
        last = session.execute(select(AuditEvent.seq, AuditEvent.hash).order_by(AuditEvent.seq.desc()).limit(1)).first()
    head_seq, head_hash = (last[0], last[1]) if last else (0, GENESIS)

    checkpoints, unreadable = read_all(archive)
    hashes = _hashes_at(archive, [c.seq for c in checkpoints if c.seq <= head_seq])
    problems: list[tuple[int, str]] = []
    if chain.first_bad is not None:
        problems.append((chain.first_bad, chain.problem or f"event {chain.first_bad} is wrong"))
    for checkpoint in checkpoints:
        found = _checkpoint_problem(checkpoint, head_seq, hashes)
        if found is not None:
            problems.append(found)
            break  # checkpoints are sorted by seq: the first one that disagrees is the earliest

    first_bad, problem = min(problems, key=lambda item: item[0]) if problems else (None, None)
    if problem is None and unreadable:
        problem = unreadable[0]
    lock = archive.store.lock_probe(refresh=True) if probe_lock else None
    return AuditReport(
        ok=problem is None,
        checked=chain.checked,
        head_seq=head_seq,
        head_hash=head_hash,
        first_bad=first_bad,
        problem=problem,
        checkpoints=len(checkpoints),
        lock=lock,
    )


def _checkpoint_problem(checkpoint: Checkpoint, head_seq: int, hashes: dict[int, str]) -> tuple[int, str] | None:
    if checkpoint.seq > head_seq:
        return (
            head_seq + 1,
            f"the audit trail was truncated: checkpoint at event {checkpoint.seq}, trail ends at {head_seq}",
        )
    stored = hashes.get(checkpoint.seq)
    if stored is None:
        return checkpoint.seq, f"event {checkpoint.seq} is missing but was checkpointed on {checkpoint.at}"
    if stored != checkpoint.hash:
        return checkpoint.seq, f"event {checkpoint.seq} differs from its checkpoint of {checkpoint.at}"
    return None


def _hashes_at(archive: Archive, seqs: list[int]) -> dict[int, str]:
    hashes: dict[int, str] = {}
    wanted = sorted(set(seqs))
    with archive.catalog.read() as session:
        for start in range(0, len(wanted), 500):
            batch = wanted[start:start + 500]
            rows = session.execute(select(AuditEvent.seq, AuditEvent.hash).where(AuditEvent.seq.in_(batch)))
            hashes.update({seq: digest for seq, digest in rows})
    return hashes
