"""Catalog tables (SQLAlchemy). Changes to these go with a migration in ``catalog/migrations``."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class Base(DeclarativeBase):
    pass


class RecordState:
    PENDING = "pending"
    ACTIVE = "active"
    VOID = "void"
    DISPOSING = "disposing"
    DISPOSED = "disposed"


class VersionState:
    PENDING = "pending"
    CURRENT = "current"
    ARCHIVED = "archived"
    DISPOSED = "disposed"


class Counter(Base):
    """The next record number of one (year, type); rows are locked while a number is taken."""

    __tablename__ = "counters"

    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    type: Mapped[str] = mapped_column(String(32), primary_key=True)
    next_number: Mapped[int] = mapped_column(Integer, nullable=False)


class Record(Base):
    """One named record. A number once taken is never freed: failed filings stay as ``void``."""

    __tablename__ = "records"
    __table_args__ = (UniqueConstraint("year", "type", "number", name="uq_records_year_type_number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    year: Mapped[int] = mapped_column(Integer, nullable=False)
    type: Mapped[str] = mapped_column(String(32), nullable=False)
    number: Mapped[int] = mapped_column(Integer, nullable=False)
    state: Mapped[str] = mapped_column(String(16), nullable=False, index=True)
    title: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    created_by: Mapped[str] = mapped_column(String(128), nullable=False)
    void_reason: Mapped[str | None] = mapped_column(Text)
    retain_from: Mapped[date | None] = mapped_column(Date)
    disposal_id: Mapped[int | None] = mapped_column(Integer)
    disposed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    versions: Mapped[list[Version]] = relationship(
        back_populates="record", order_by="Version.version", cascade="all, delete-orphan"
    )


class Version(Base):
    """One version of a record and the exact S3 object version that holds it."""

    __tablename__ = "versions"
    __table_args__ = (UniqueConstraint("record_id", "version", name="uq_versions_record_version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("records.id"), nullable=False, index=True)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    state: Mapped[str] = mapped_column(String(16), nullable=False, index=True)
    object_key: Mapped[str] = mapped_column(String(256), nullable=False)
    s3_version_id: Mapped[str | None] = mapped_column(String(256))
    nonce: Mapped[str] = mapped_column(String(32), nullable=False)
    key_id: Mapped[str] = mapped_column(String(16), nullable=False, index=True)
    size: Mapped[int | None] = mapped_column(BigInteger)
    stored_size: Mapped[int | None] = mapped_column(BigInteger)
    sha256: Mapped[str | None] = mapped_column(String(64))
    filed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    filed_by: Mapped[str] = mapped_column(String(128), nullable=False)
    filename: Mapped[str | None] = mapped_column(Text)
    comment: Mapped[str | None] = mapped_column(Text)
    archived_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    writer: Mapped[str | None] = mapped_column(String(128))
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    storage_class: Mapped[str | None] = mapped_column(String(32))

    record: Mapped[Record] = relationship(back_populates="versions")


class User(Base):
    """A person who logs in. Passwords are argon2id hashes; a disabled user is locked out at once."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    role: Mapped[str] = mapped_column(String(32), nullable=False)
    password_hash: Mapped[str] = mapped_column(Text, nullable=False)
    enabled: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    must_change_password: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    failed_logins: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)


class Token(Base):
    """A bearer token, kept only as its SHA-256; valid until it expires or is revoked."""

    __tablename__ = "tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False, index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    source: Mapped[str | None] = mapped_column(String(128))


class RequestState:
    PENDING = "pending"
    APPROVED = "approved"
    DENIED = "denied"


class AccessRequest(Base):
    """A user's request to read one record, or (``purpose`` ``amend``, see ``access.purposes``) to amend it."""

    __tablename__ = "access_requests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    record_name: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    requester: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    reason: Mapped[str] = mapped_column(Text, nullable=False)
    days: Mapped[int] = mapped_column(Integer, nullable=False)
    purpose: Mapped[str] = mapped_column(String(16), nullable=False, default="read", server_default="read")
    state: Mapped[str] = mapped_column(String(16), nullable=False, index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    decided_by: Mapped[str | None] = mapped_column(String(64))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decision_reason: Mapped[str | None] = mapped_column(Text)


class Grant(Base):
    """Lets one user read one record (every version) until ``expires_at``, unless revoked.

    ``purpose`` ``amend`` also lets the user file new versions of it (see ``access.policy``).
    """

    __tablename__ = "grants"
    __table_args__ = (Index("ix_grants_user_record", "user_name", "record_name", "expires_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_name: Mapped[str] = mapped_column(String(64), nullable=False)
    record_name: Mapped[str] = mapped_column(String(64), nullable=False)
    request_id: Mapped[int | None] = mapped_column(ForeignKey("access_requests.id"))
    purpose: Mapped[str] = mapped_column(String(16), nullable=False, default="read", server_default="read")
    granted_by: Mapped[str] = mapped_column(String(64), nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_by: Mapped[str | None] = mapped_column(String(64))
    expiry_recorded: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)


class AuditEvent(Base):
    """One entry of the hash-chained audit trail; ``hash`` covers ``prev_hash`` and every other column."""

    __tablename__ = "audit_events"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[str] = mapped_column(String(32), nullable=False, index=True)
    actor: Mapped[str] = mapped_column(String(128), nullable=False, index=True)
    action: Mapped[str] = mapped_column(String(64), nullable=False)
    outcome: Mapped[str] = mapped_column(String(16), nullable=False)
    record: Mapped[str | None] = mapped_column(String(64), index=True)
    version: Mapped[int | None] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(128), nullable=False)
    detail: Mapped[str] = mapped_column(Text, nullable=False)
    prev_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    hash: Mapped[str] = mapped_column(String(64), nullable=False)


class MeetingState:
    SCHEDULED = "scheduled"
    CANCELLED = "cancelled"


class Meeting(Base):
    """A one-off meeting, or the cancellation of one (one-off or recurring: ``paperwork.meetings``)."""

    __tablename__ = "meetings"
    __table_args__ = (UniqueConstraint("name", "starts_at", name="uq_meetings_name_starts_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), nullable=False)
    starts_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, index=True)
    place: Mapped[str | None] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16), nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    created_by: Mapped[str] = mapped_column(String(128), nullable=False)


class PaperworkLink(Base):
    """Which meeting a ``minutes`` record is the minutes of, or which month a ``report`` record reports on."""

    __tablename__ = "paperwork_links"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    record_name: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    meeting_name: Mapped[str | None] = mapped_column(String(64))
    meeting_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    month: Mapped[str | None] = mapped_column(String(7), index=True)
    linked_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    linked_by: Mapped[str] = mapped_column(String(128), nullable=False)


class ActionItem(Base):
    """A decision with an owner and a due date, from filed minutes (or a report); open until marked done."""

    __tablename__ = "action_items"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    record_name: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    meeting_name: Mapped[str | None] = mapped_column(String(64))
    meeting_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    item: Mapped[str] = mapped_column(Text, nullable=False)
    owner: Mapped[str] = mapped_column(String(128), nullable=False)
    due: Mapped[date] = mapped_column(Date, nullable=False)
    done_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    done_by: Mapped[str | None] = mapped_column(String(128))
    note: Mapped[str | None] = mapped_column(Text)


class RegisterStart(Base):
    """When the meeting register was created: recurring meetings and reports count from then by default."""

    __tablename__ = "paperwork_register"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)


class Hold(Base):
    """A legal hold on one record: while it is not released the record cannot be disposed of."""

    __tablename__ = "holds"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    record_name: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    reason: Mapped[str] = mapped_column(Text, nullable=False)
    placed_by: Mapped[str] = mapped_column(String(128), nullable=False)
    placed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    released_by: Mapped[str | None] = mapped_column(String(128))
    released_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    release_reason: Mapped[str | None] = mapped_column(Text)


class DisposalState:
    PENDING = "pending"
    APPROVED = "approved"
    DENIED = "denied"
    DONE = "done"


class DisposalRequest(Base):
    """A manager's request to dispose of records past retention; carried out only once the director approves."""

    __tablename__ = "disposal_requests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reason: Mapped[str] = mapped_column(Text, nullable=False)
    state: Mapped[str] = mapped_column(String(16), nullable=False, index=True)
    requested_by: Mapped[str] = mapped_column(String(128), nullable=False)
    requested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    decided_by: Mapped[str | None] = mapped_column(String(128))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decision_reason: Mapped[str | None] = mapped_column(Text)
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    items: Mapped[list[DisposalItem]] = relationship(
        back_populates="request", order_by="DisposalItem.id", cascade="all, delete-orphan"
    )


class DisposalItem(Base):
    """One record of a disposal request; ``certificate_seq`` is the audit event that certifies its disposal."""

    __tablename__ = "disposal_items"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("disposal_requests.id"), nullable=False, index=True)
    record_name: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    certificate_seq: Mapped[int | None] = mapped_column(Integer)

    request: Mapped[DisposalRequest] = relationship(back_populates="items")
