"""Disposal: the only way a record leaves the archive.

A manager asks for records past retention and not on hold to be disposed of (a
*disposal request*); the director approves it (never their own). Approval marks the
records *disposing* (unreadable from then on) and carries the disposal out: a number marker
is written (``numbers/NAME``, see ``archive/numbers.py``), every object version of each record
is deleted from the bucket, then the record becomes *disposed* and a disposal certificate
(record, versions and their SHA-256, dates, requester, approver) is appended to the audit
trail. The record row stays, and the marker keeps the number taken in the bucket too, so its
name is never reused, even by a catalog rebuild.

If deletion stops half-way (a crash, storage refusing), the record stays *disposing* and
``strongroom retention apply`` finishes the job; nothing is certified before every object
version is gone.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from archive.fields import REASON, required_text
from archive.numbers import DISPOSED, Numbered, disposal_reason, ensure_marker
from archive.objects import record_objects
from archive.records import find_record
from archive.retention_dates import today
from archive.service import as_utc, utcnow
from audit import trail
from audit.actor import Actor
from audit.trail import to_event
from catalog.schema import (
    AuditEvent,
    DisposalItem,
    DisposalRequest,
    DisposalState,
    Record,
    RecordState,
    VersionState,
)
from errors import (
    Conflict,
    Forbidden,
    NotFound,
    StrongroomError,
    UsageError,
)
from naming import InvalidName, parse_name
from retention.holds import active_hold, set_storage_hold
from retention.rules import disposal_refusal
from retention.status import RecordRow, facts

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from access.policy import AccessPolicy
    from archive.service import Archive

OPEN_STATES = (DisposalState.PENDING, DisposalState.APPROVED)


@dataclass(frozen=True)
class DisposalView:
    id: int
    records: list[str]
    reason: str
    state: str
    requested_by: str
    requested_at: str
    decided_by: str | None
    decided_at: str | None
    decision_reason: str | None
    completed_at: str | None
    certificates: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def disposal_view(request: DisposalRequest) -> DisposalView:
    return DisposalView(
        id=request.id,
        records=[item.record_name for item in request.items],
        reason=request.reason,
        state=request.state,
        requested_by=request.requested_by,
        requested_at=as_utc(request.requested_at).isoformat(),
        decided_by=request.decided_by,
        decided_at=as_utc(request.decided_at).isoformat() if request.decided_at else None,
        decision_reason=request.decision_reason,
        completed_at=as_utc(request.completed_at).isoformat() if request.completed_at else None,
        certificates={item.record_name: item.certificate_seq for item in request.items if item.certificate_seq},
    )


def _names(names: list[str]) -> list[str]:
    if not names:
        raise UsageError("name at least one record to dispose of")
    try:
        parsed = [str(parse_name(name)) for name in names]
    except InvalidName as exc:
        raise UsageError(str(exc)) from None
    if len(set(parsed)) != len(parsed):
        raise UsageError("a record is named twice")
    return parsed


def _check_disposable(session: Session, archive: Archive, name: str) -> Record:
    """The record, if it may be disposed of now; Conflict saying why not otherwise."""
    record = find_record(session, parse_name(name))
    now = utcnow()
    refusal = disposal_refusal(facts(archive, RecordRow.of(record), active_hold(session, name) is not None),
                               today(archive.settings, now), now)
    if refusal is not None:
        raise Conflict(f"not disposable: {refusal}")
    return record


def _in_open_request(session: Session, name: str) -> int | None:
    """The pending or approved disposal request that already names the record, if any."""
    return session.scalar(
        select(DisposalRequest.id).join(DisposalItem)
        .where(DisposalItem.record_name == name, DisposalRequest.state.in_(OPEN_STATES))
        .limit(1)
    )


def request_disposal(
    archive: Archive, policy: AccessPolicy, actor: Actor, names: list[str], reason: str
) -> DisposalView:
    """Ask for records to be disposed of (the ``dispose`` right); every one must be disposable now."""
    wanted = _names(names)
    reason = required_text(REASON, reason)
    try:
        with archive.catalog.write() as session:
            for name in wanted:
                policy.require(session, actor, "dispose", record_name=name)
            for name in wanted:
                _check_disposable(session, archive, name)
                other = _in_open_request(session, name)
                if other is not None:
                    raise Conflict(f"{name} is already in disposal request {other}")
            request = DisposalRequest(
                reason=reason, state=DisposalState.PENDING, requested_by=actor.name, requested_at=utcnow(),
                items=[DisposalItem(record_name=name) for name in wanted],
            )
            session.add(request)
            session.flush()
            for name in wanted:
                trail.append(session, actor=actor.name, action="retention.dispose-request", source=actor.source,
                             record=name, detail={"request": request.id, "reason": reason})
            return disposal_view(request)
    except Forbidden as exc:
        trail.refused(archive, actor, "retention.dispose-request", exc, records=wanted)
        raise


def _open_request(session: Session, policy: AccessPolicy, actor: Actor, request_id: int) -> DisposalRequest:
    policy.require(session, actor, "approve-disposal")
    request = session.scalar(
        select(DisposalRequest).where(DisposalRequest.id == request_id).options(selectinload(DisposalRequest.items))
    )
    if request is None:
        raise NotFound(f"no disposal request {request_id}")
    if request.state != DisposalState.PENDING:
        raise Conflict(f"disposal request {request_id} is already {request.state}")
    return request


def approve(archive: Archive, policy: AccessPolicy, actor: Actor, request_id: int) -> DisposalView:
    """Approve a pending request (``approve-disposal``; never one's own) and carry the disposal out."""
    try:
        with archive.catalog.write() as session:
            request = _open_request(session, policy, actor, request_id)
            if request.requested_by == actor.name:
                raise Forbidden("nobody approves their own disposal request")
            names = [item.record_name for item in request.items]
            for name in names:
                _check_disposable(session, archive, name).state = RecordState.DISPOSING
            request.state = DisposalState.APPROVED
            request.decided_by = actor.name
            request.decided_at = utcnow()
            for name in names:
                trail.append(session, actor=actor.name, action="retention.dispose-approve", source=actor.source,
                             record=name, detail={"request": request.id})
    except Forbidden as exc:
        trail.refused(archive, actor, "retention.dispose-approve", exc, request=request_id)
        raise
    return carry_out(archive, request_id)


def deny(archive: Archive, policy: AccessPolicy, actor: Actor, request_id: int, reason: str) -> DisposalView:
    """Refuse a pending request, saying why (``approve-disposal``)."""
    reason = required_text(REASON, reason)
    try:
        with archive.catalog.write() as session:
            request = _open_request(session, policy, actor, request_id)
            request.state = DisposalState.DENIED
            request.decided_by = actor.name
            request.decided_at = utcnow()
            request.decision_reason = reason
            trail.append(session, actor=actor.name, action="retention.dispose-deny", source=actor.source,
                         detail={"request": request.id, "reason": reason})
            return disposal_view(request)
    except Forbidden as exc:
        trail.refused(archive, actor, "retention.dispose-deny", exc, request=request_id)
        raise


def carry_out(archive: Archive, request_id: int) -> DisposalView:
    """Delete and certify every record of an approved request not yet disposed of (resumable)."""
    with archive.catalog.read() as session:
        request = session.get(DisposalRequest, request_id)
        if request is None or request.state != DisposalState.APPROVED:
            raise Conflict(f"disposal request {request_id} is not approved")
        todo = [item.record_name for item in request.items if item.certificate_seq is None]
        numbered = {name: Numbered.of(find_record(session, parse_name(name))) for name in todo}
    for name in todo:
        ensure_marker(archive, numbered[name], DISPOSED, disposal_reason(request_id))
        _delete_objects(archive, name)
        _certify(archive, request_id, name)
    with archive.catalog.write() as session:
        request = session.get(DisposalRequest, request_id)
        assert request is not None
        request.state = DisposalState.DONE
        request.completed_at = utcnow()
        view = disposal_view(request)
    from search.queue import filed as reindex

    for name in todo:
        reindex(archive, name)
    return view


def _delete_objects(archive: Archive, name: str) -> None:
    """Delete every object version of the record; Conflict if storage keeps any of them.

    The catalog says the record is not held (checked at approval), so an S3 legal hold left
    by a release whose storage part failed is lifted first.
    """
    if archive.locks_versions:
        set_storage_hold(archive, name, False)
    kept = [
        item for item in record_objects(archive.store, name)
        if not archive.store.delete_unless_retained(item.key, item.version_id)
    ]
    if kept:
        raise Conflict(
            f"storage refuses to delete {len(kept)} object version(s) of {name} (Object Lock or legal hold); "
            "it stays 'disposing' and 'strongroom retention apply' will retry"
        )


def _certify(archive: Archive, request_id: int, name: str) -> None:
    """Mark the record disposed and append its certificate, in one transaction."""
    with archive.catalog.write() as session:
        request = session.get(DisposalRequest, request_id)
        assert request is not None
        record = find_record(session, parse_name(name))
        now = utcnow()
        stored = [v for v in record.versions if v.state in (VersionState.CURRENT, VersionState.ARCHIVED)]
        retention = facts(archive, RecordRow.of(record), False).retention
        certificate = {
            "certificate": "disposal",
            "record": record.name,
            "type": record.type,
            "filed_at": as_utc(record.created_at).isoformat(),
            "retention": retention.basis,
            "retain_until": retention.until.isoformat() if retention.until else None,
            "versions": [
                {"version": v.version, "sha256": v.sha256, "size": v.size,
                 "filed_at": as_utc(v.filed_at).isoformat(), "filed_by": v.filed_by}
                for v in sorted(stored, key=lambda v: v.version)
            ],
            "request": request.id,
            "reason": request.reason,
            "requested_by": request.requested_by,
            "requested_at": as_utc(request.requested_at).isoformat(),
            "approved_by": request.decided_by,
            "approved_at": as_utc(request.decided_at).isoformat() if request.decided_at else None,
            "disposed_at": now.isoformat(),
        }
        for version in stored:
            version.state = VersionState.DISPOSED
        record.state = RecordState.DISPOSED
        record.disposed_at = now
        record.disposal_id = request.id
        event = trail.append(session, actor=request.decided_by or "system", action="retention.dispose",
                             source="strongroom", record=record.name, detail=certificate)
        for item in request.items:
            if item.record_name == name:
                item.certificate_seq = event.seq


def unfinished(archive: Archive) -> list[int]:
    """Approved requests whose disposal has not completed (an interruption): ``retention apply`` resumes them."""
    with archive.catalog.read() as session:
        return list(session.scalars(
            select(DisposalRequest.id).where(DisposalRequest.state == DisposalState.APPROVED).order_by(DisposalRequest.id)
        ))


def list_requests(archive: Archive, policy: AccessPolicy, actor: Actor, *, pending_only: bool) -> list[DisposalView]:
    """Disposal requests (``retention`` right), oldest first."""
    with archive.catalog.read() as session:
        try:
            policy.require(session, actor, "retention")
        except Forbidden as exc:
            trail.refused(archive, actor, "retention.requests", exc)
            raise
        query = select(DisposalRequest).options(selectinload(DisposalRequest.items)).order_by(DisposalRequest.id)
        if pending_only:
            query = query.where(DisposalRequest.state == DisposalState.PENDING)
        return [disposal_view(request) for request in session.scalars(query)]


@dataclass(frozen=True)
class Certificate:
    """A disposal certificate as kept in the audit trail: its event, chain hash and content."""

    seq: int
    at: str
    hash: str
    detail: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def certificate(archive: Archive, policy: AccessPolicy, actor: Actor, name_text: str) -> Certificate:
    """The disposal certificate of a disposed record (``retention`` right)."""
    name = str(parse_name(name_text))
    with archive.catalog.read() as session:
        try:
            policy.require(session, actor, "retention", record_name=name)
        except Forbidden as exc:
            trail.refused(archive, actor, "retention.certificate", exc, record=name)
            raise
        find_record(session, parse_name(name))  # an unknown name is "no record", not "not disposed of"
        seq = session.scalar(select(DisposalItem.certificate_seq).where(
            DisposalItem.record_name == name, DisposalItem.certificate_seq.is_not(None)))
        row = session.get(AuditEvent, seq) if seq is not None else None
        if row is None:
            raise NotFound(f"{name} has not been disposed of; there is no certificate")
        event = to_event(row)
        return Certificate(seq=event.seq, at=event.at, hash=row.hash, detail=dict(event.detail))


def refuse_delete(archive: Archive, actor: Actor, name_text: str) -> StrongroomError:
    """Record an attempt to delete a record directly and return the refusal to raise."""
    try:
        name: str | None = str(parse_name(name_text))
    except InvalidName:
        name = None
    refusal = Forbidden(
        "records are never deleted directly: ask for disposal with 'strongroom retention dispose NAME --reason TEXT' "
        "once its retention has ended; the director approves it"
    )
    trail.refused(archive, actor, "record.delete", refusal, record=name)
    return refusal
