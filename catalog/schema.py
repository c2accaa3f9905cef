"""Catalog tables (SQLAlchemy). Changes to these go with a migration in ``catalog/migrations``."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Integer, String, Text, UniqueConstraint, BigInteger
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class Base(DeclarativeBase):
    pass


class RecordState:
    PENDING = "pending"
    ACTIVE = "active"
    VOID = "void"


class VersionState:
    PENDING = "pending"
    CURRENT = "current"
    ARCHIVED = "archived"


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

    record: Mapped[Record] = relationship(back_populates="versions")
