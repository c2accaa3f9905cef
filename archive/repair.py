"""Finishing or undoing filings left pending by a process that died.

A pending version whose writer is gone is completed if its object reached the
bucket whole (found by its nonce, fully authenticated and checksummed); otherwise
a new record's number becomes *void* with the reason and a new version is dropped.
Then every void or disposed record whose number marker is not in the bucket gets one
(a void filing whose marker could not be written, or numbers voided before markers
existed), so a catalog rebuild never issues their names again.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass

import psutil
from sqlalchemy import select

from archive.filing import (
    complete_first_version,
    complete_new_version,
    drop_pending_version,
    ensure_archived_copy,
    void_record,
)
from archive.numbers import missing_markers, write_marker
from archive.objects import WrittenObject, iter_plaintext, open_object, read_header
from archive.service import Archive
from catalog.schema import Version, VersionState
from encryption.envelope import EnvelopeError
from errors import IntegrityError, KeyMissing, StrongroomError
from storage.s3 import MissingObject


@dataclass(frozen=True)
class RepairAction:
    """What repair did about one record: ``version`` is None for a number marker written."""

    name: str
    version: int | None
    action: str
    detail: str


@dataclass(frozen=True)
class _Pending:
    id: int
    record_id: int
    name: str
    version: int
    key: str
    nonce: str
    writer: str | None
    previous_id: int | None


def writer_alive(writer: str | None) -> bool:
    """Whether the process that wrote a pending row may still be running.

    A writer on another host cannot be checked and counts as alive.
    """
    if not writer:
        return False
    host, _, pid_text = writer.rpartition(":")
    if host != socket.gethostname():
        return True
    try:
        process = psutil.Process(int(pid_text))
        return process.status() != psutil.STATUS_ZOMBIE
    except (ValueError, psutil.Error):
        return False


def _pending(archive: Archive) -> list[_Pending]:
    with archive.catalog.read() as session:
        rows = []
        for version in session.scalars(select(Version).where(Version.state == VersionState.PENDING)):
            previous = [v for v in version.record.versions if v.state == VersionState.CURRENT]
            rows.append(
                _Pending(
                    id=version.id,
                    record_id=version.record_id,
                    name=version.record.name,
                    version=version.version,
                    key=version.object_key,
                    nonce=version.nonce,
                    writer=version.writer,
                    previous_id=previous[0].id if previous else None,
                )
            )
        return rows


def find_complete_object(archive: Archive, pending: _Pending) -> WrittenObject | None:
    """The object a dead writer finished uploading, if it is whole and authentic."""
    for stored in archive.store.list_versions(pending.key):
        if stored.key != pending.key:
            continue
        try:
            if read_header(archive, stored.key, stored.version_id).nonce.hex() != pending.nonce:
                continue
            opened = open_object(archive, stored.key, stored.version_id, stored.size)
            if opened.meta.get("name") != pending.name or opened.meta.get("version") != pending.version:
                continue
            for _ in iter_plaintext(archive, opened):
                pass
        except (EnvelopeError, MissingObject, KeyMissing, IntegrityError):
            continue
        return WrittenObject(
            s3_version_id=stored.version_id,
            size=int(opened.meta["size"]),  # type: ignore[call-overload]
            sha256=str(opened.meta["sha256"]),
            stored_size=stored.size,
            key_id=opened.header.key_id,
        )
    return None


def repair(archive: Archive, *, force: bool = False) -> list[RepairAction]:
    """Resolve every pending filing whose writer has died (or all of them with ``force``); write missing number markers."""
    actions = []
    for pending in _pending(archive):
        if not force and writer_alive(pending.writer):
            actions.append(RepairAction(pending.name, pending.version, "skipped", f"still being filed by {pending.writer}"))
            continue
        written = find_complete_object(archive, pending)
        if pending.previous_id is None:
            if written is not None:
                complete_first_version(archive, pending.record_id, pending.id, written)
                actions.append(RepairAction(pending.name, 1, "completed", "upload had finished; record activated"))
            else:
                reason = f"upload interrupted (writer {pending.writer} died before it finished)"
                void_record(archive, pending.record_id, reason)
                actions.append(RepairAction(pending.name, 1, "voided", reason))
            continue
        if written is not None:
            try:
                archived_id = ensure_archived_copy(archive, pending.previous_id)
                complete_new_version(archive, pending.previous_id, pending.id, archived_id, written)
                actions.append(RepairAction(pending.name, pending.version, "completed", "upload had finished; version made current"))
                continue
            except StrongroomError as exc:
                detail = f"could not complete: {exc}"
        else:
            detail = "upload interrupted; the new version was dropped"
        drop_pending_version(archive, pending.id)
        actions.append(RepairAction(pending.name, pending.version, "dropped", detail))
    for record, kind, reason in missing_markers(archive):
        write_marker(archive, record, kind, reason)
        actions.append(RepairAction(record.name, None, "marked", f"number marker written ({kind})"))
    return actions
