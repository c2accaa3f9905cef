"""Key rotation: a new primary key, and every stored object re-encrypted with it.

Rotation is resumable: ``rotate`` only adds a key when every stored version is
already under the newest one; otherwise it carries on re-encrypting what is left.
Each object is re-encrypted on its own — decrypt, encrypt with the new key and a
new nonce, upload as a new S3 version of the same key, check the SHA-256, switch
the catalog, then delete the old S3 version — so an interruption loses nothing.
Re-encryption is the one write that replaces an archived object; the plaintext
is unchanged and proven so by its SHA-256. Number markers (``numbers/``) are
re-encrypted too, with the same sealed metadata, and ``retire`` keeps any key that
still seals the newest marker of a record.

A version or marker that cannot be re-encrypted — damaged, unreadable, or no key opens it —
is reported (:class:`~archive.problems.Problem`) and the rotation goes on with the others; it
stays under its old key, so the next ``rotate`` (once it is restored) resumes with it, and
``retire`` keeps that key. An unreachable storage stops the rotation; it resumes the same way.

Both hold ``run/keys.lock`` for their whole run, so one rotation or retirement runs at a
time; the keyring file itself is changed under its own lock (see encryption/keyring.py),
so processes that only read it (the service, filings) follow the change at once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from filelock import FileLock
from sqlalchemy import func, select

from archive.numbers import NumberMarker, rewrite_marker, scan_markers
from archive.objects import IteratorReader, new_nonce, still_locked, write_object
from archive.problems import PER_OBJECT, UNREADABLE, Problem, problem_of
from archive.reading import VersionRef, open_version, read_opened
from archive.service import Archive, as_utc
from catalog.schema import Record, RecordState, Version, VersionState
from encryption.envelope import ENVELOPE_FIELDS
from encryption.keyring import KeyEntry
from errors import Conflict, IntegrityError, ObjectUnreadable
from storage.s3 import MissingObject


@dataclass(frozen=True)
class RotationReport:
    """The primary key, whether it was added now, what was re-encrypted, and what could not be."""

    key_id: str
    added: bool
    reencrypted: int
    markers: int = 0
    failed: list[Problem] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {"key_id": self.key_id, "added": self.added, "reencrypted": self.reencrypted, "markers": self.markers,
                "failed": [problem.as_dict() for problem in self.failed]}


def _lock(archive: Archive) -> FileLock:
    archive.settings.run_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    return FileLock(str(archive.settings.run_dir / "keys.lock"))


def stale_versions(archive: Archive) -> list[tuple[int, VersionRef, str]]:
    """Stored versions not encrypted with the primary key: (row id, ref, their key id)."""
    primary = archive.keyring.primary.id
    with archive.catalog.read() as session:
        rows = session.execute(
            select(Version, Record)
            .join(Record)
            .where(
                Version.state.in_([VersionState.CURRENT, VersionState.ARCHIVED]),
                Version.key_id != primary,
                Record.state == RecordState.ACTIVE,
            )
            .order_by(Version.id)
        ).all()
        return [(version.id, VersionRef.of(record, version), version.key_id) for version, record in rows]


def rotate(
    archive: Archive,
    on_start: Callable[[int, bool], None] | None = None,
    on_progress: Callable[[VersionRef | NumberMarker], None] | None = None,
) -> RotationReport:
    """Add a key (unless resuming) and re-encrypt every object and number marker still under an older key.

    What cannot be re-encrypted is in the report's ``failed`` and left under its old key.
    """
    with _lock(archive):
        keyring = archive.keyring
        stale = stale_versions(archive)
        found, unreadable = scan_markers(archive)
        added = not stale and all(marker.key_id == keyring.primary.id for marker in found)
        if added:
            keyring.add_key()
            stale = stale_versions(archive)
        markers = [marker for marker in found if marker.key_id != keyring.primary.id]
        failed = [Problem(name, None, UNREADABLE, f"number marker of {name} is unreadable: {exc}")
                  for name, exc in unreadable]
        if on_start is not None:
            on_start(len(stale) + len(markers), not added)
        reencrypted = rewritten = 0
        for row_id, ref, _ in stale:
            try:
                _reencrypt(archive, row_id, ref)
                reencrypted += 1
            except PER_OBJECT as exc:
                failed.append(problem_of(ref.name, ref.version, exc))
            if on_progress is not None:
                on_progress(ref)
        for marker in markers:
            try:
                rewrite_marker(archive, marker)
                rewritten += 1
            except ObjectUnreadable as exc:
                failed.append(Problem(marker.name, None, UNREADABLE, f"number marker of {marker.name} is unreadable: "
                                                                     f"{exc}"))
            if on_progress is not None:
                on_progress(marker)
        return RotationReport(keyring.primary.id, added, reencrypted, rewritten, failed)


def _reencrypt(archive: Archive, row_id: int, ref: VersionRef) -> None:
    """Re-encrypt one version; raises one of :data:`~archive.problems.PER_OBJECT` when its object fails."""
    opened = open_version(archive, ref)
    meta = {k: v for k, v in opened.meta.items() if k not in ENVELOPE_FIELDS}
    nonce = new_nonce()
    plaintext = IteratorReader(read_opened(archive, ref, opened))
    written = write_object(archive, ref.object_key, plaintext, nonce, meta, _lock_of(archive, row_id))  # type: ignore[arg-type]
    if written.sha256 != ref.sha256 or written.size != ref.size:
        archive.store.delete_unless_retained(ref.object_key, written.s3_version_id)
        raise IntegrityError(f"re-encrypting {ref.label} changed its checksum; kept the old object")
    with archive.catalog.write() as session:
        version = session.get(Version, row_id)
        if version is None or version.s3_version_id != ref.s3_version_id:
            archive.store.delete_unless_retained(ref.object_key, written.s3_version_id)
            raise Conflict(f"{ref.label} changed during rotation; run 'strongroom keys rotate' again")
        version.s3_version_id = written.s3_version_id
        version.stored_size = written.stored_size
        version.key_id = written.key_id
        version.nonce = nonce.hex()
        version.storage_class = None
    try:
        archive.store.delete_unless_retained(ref.object_key, ref.s3_version_id)
    except MissingObject:
        pass


def _lock_of(archive: Archive, row_id: int) -> datetime | None:
    """The re-encrypted object keeps its version's Object Lock date while that is still ahead.

    The old ciphertext stays in the bucket until its own lock ends when the server enforces
    it; it is under the record's keys, so disposal removes it with the record.
    """
    with archive.catalog.read() as session:
        version = session.get(Version, row_id)
        return still_locked(as_utc(version.locked_until) if version is not None and version.locked_until else None)


def key_usage(archive: Archive) -> dict[str, int]:
    """How many catalogued versions (pending included, disposed ones not) each key id encrypts."""
    with archive.catalog.read() as session:
        rows = session.execute(
            select(Version.key_id, func.count()).where(Version.state != VersionState.DISPOSED).group_by(Version.key_id)
        )
        return {key_id: count for key_id, count in rows}


def marker_usage(archive: Archive) -> tuple[dict[str, int], list[str]]:
    """How many records' number markers (the newest authentic one each) each key id seals.

    Also returns the records whose marker cannot be read (which key seals it is unknown).
    """
    markers, unreadable = scan_markers(archive)
    usage: dict[str, int] = {}
    for marker in markers:
        usage[marker.key_id] = usage.get(marker.key_id, 0) + 1
    return usage, [name for name, _ in unreadable]


def retire(archive: Archive) -> list[KeyEntry]:
    """Drop every older key that no catalogued version and no number marker still needs.

    A record whose marker cannot be read might need any of them: then nothing is retired.
    """
    with _lock(archive):
        keyring = archive.keyring
        used = key_usage(archive)
        markers, unreadable = scan_markers(archive)
        if unreadable:
            name, exc = unreadable[0]
            raise Conflict(f"cannot tell which key seals the number marker of {name} ({exc}); nothing retired: "
                           "run 'strongroom repair' to write it again, then retire")
        sealing = {marker.key_id for marker in markers}
        retired = [entry for entry in keyring.entries[1:] if used.get(entry.id, 0) == 0 and entry.id not in sealing]
        if retired:
            keyring.remove({entry.id for entry in retired})
        return retired
