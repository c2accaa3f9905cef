"""Reading versions back, authenticated and checked against the catalog, and verifying them."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from archive.inventory import Finding, check_bucket
from archive.objects import OpenedObject, iter_plaintext, open_object
from archive.problems import DAMAGED, MISSING, PER_OBJECT, UNREADABLE, Problem, problem_of
from archive.records import find_record, lookup
from archive.service import Archive
from catalog.schema import Record, RecordState, Version, VersionState
from encryption.envelope import EnvelopeError
from errors import IntegrityError, KeyMissing, ObjectUnreadable
from naming import parse_name
from storage.s3 import MissingObject


@dataclass(frozen=True)
class VersionRef:
    """What is needed to read one stored version, detached from any catalog session."""

    name: str
    version: int
    object_key: str
    s3_version_id: str
    stored_size: int
    sha256: str
    nonce: str
    size: int
    filename: str | None

    @classmethod
    def of(cls, record: Record, version: Version) -> VersionRef:
        return cls(
            name=record.name,
            version=version.version,
            object_key=version.object_key,
            s3_version_id=version.s3_version_id or "",
            stored_size=version.stored_size or 0,
            sha256=version.sha256 or "",
            nonce=version.nonce,
            size=version.size or 0,
            filename=version.filename,
        )

    @property
    def label(self) -> str:
        return f"{self.name} v{self.version}"


def resolve(archive: Archive, name_text: str, version: int | None = None) -> VersionRef:
    with archive.catalog.read() as session:
        record, found = lookup(session, name_text, version)
        return VersionRef.of(record, found)


def open_version(archive: Archive, ref: VersionRef) -> OpenedObject:
    """Open the object of a version and check that it is that version (nonce, name, number, checksum, size).

    Raises :class:`IntegrityError` (its bytes are wrong or gone), :class:`KeyMissing` or
    :class:`ObjectUnreadable`, each naming the version.
    """
    with _errors_of(ref):
        opened = open_object(archive, ref.object_key, ref.s3_version_id, ref.stored_size)
        meta = opened.meta
        if opened.nonce != ref.nonce or meta.get("name") != ref.name or meta.get("version") != ref.version:
            raise EnvelopeError("the stored object is not this version (swapped or replaced)")
        if meta.get("sha256") != ref.sha256 or meta.get("size") != ref.size:
            raise EnvelopeError("the stored object's checksum differs from the catalog")
        return opened


def read_opened(archive: Archive, ref: VersionRef, opened: OpenedObject) -> Iterator[bytes]:
    """Yield the authenticated plaintext of a version opened by :func:`open_version` (errors as it raises them)."""
    with _errors_of(ref):
        yield from iter_plaintext(archive, opened)


def read_version(archive: Archive, ref: VersionRef) -> Iterator[bytes]:
    """Yield the plaintext of a version; raise :class:`IntegrityError` on any mismatch.

    Each chunk is authenticated before it is yielded; the SHA-256 of the whole is
    checked against the object's metadata and the catalog once the last chunk is read.
    """
    yield from read_opened(archive, ref, open_version(archive, ref))


@contextmanager
def _errors_of(ref: VersionRef) -> Iterator[None]:
    """Failures of one version's object as the archive reports them, naming the version."""
    try:
        yield
    except EnvelopeError as exc:
        raise IntegrityError(f"integrity error in {ref.label}: {exc}") from None
    except MissingObject:
        raise IntegrityError(f"integrity error in {ref.label}: its object is missing or shorter than catalogued") from None
    except KeyMissing as exc:
        raise KeyMissing(f"cannot decrypt {ref.label}: {exc}") from None
    except ObjectUnreadable as exc:
        raise ObjectUnreadable(f"{ref.label} is unreadable: {exc}") from None


def stored_versions(archive: Archive, name_text: str | None = None) -> list[VersionRef]:
    """Every stored version, of one record or of the whole archive, in name order.

    A void or disposed record, named, has none (``verify NAME`` then checks its number marker).
    """
    with archive.catalog.read() as session:
        query = (
            select(Record)
            .where(Record.state == RecordState.ACTIVE)
            .options(selectinload(Record.versions))
            .order_by(Record.year, Record.type, Record.number)
        )
        if name_text is not None:
            record = find_record(session, parse_name(name_text))
            if record.state in (RecordState.VOID, RecordState.DISPOSED):
                return []
            lookup(session, name_text)
            query = query.where(Record.id == record.id)
        return [
            VersionRef.of(record, version)
            for record in session.scalars(query)
            for version in record.versions
            if version.state in (VersionState.CURRENT, VersionState.ARCHIVED)
        ]


def check_version(archive: Archive, ref: VersionRef) -> Problem | None:
    """Read one version through and check it; what is wrong with it, or None.

    ``damaged``: authentication, checksum or size failed, or its object is gone.
    ``unreadable``: the storage answers but cannot deliver this object (``ObjectUnreadable``),
    or the keyring lacks its key. An unreachable storage is no verdict on the version:
    ``StorageUnavailable`` is raised.
    """
    try:
        for _ in read_version(archive, ref):
            pass
    except PER_OBJECT as exc:
        return problem_of(ref.name, ref.version, exc)
    return None


@dataclass(frozen=True)
class VerifyReport:
    """What ``verify`` found: the versions it read and the number markers it checked, what failed, what is foreign."""

    checked: int
    markers: int
    problems: list[Problem]
    foreign: list[Finding]

    @property
    def ok(self) -> bool:
        return not self.problems and not self.foreign

    def counts(self) -> dict[str, int]:
        """``ok``, ``damaged``, ``unreadable``, ``missing`` versions and markers; ``foreign`` versions, delete markers."""
        kinds = [problem.kind for problem in self.problems]
        return {"ok": self.checked + self.markers - len(kinds), DAMAGED: kinds.count(DAMAGED),
                UNREADABLE: kinds.count(UNREADABLE), MISSING: kinds.count(MISSING), "foreign": len(self.foreign)}

    def as_dict(self) -> dict[str, object]:
        return {"checked": self.checked, "markers": self.markers, **self.counts(),
                "problems": [p.as_dict() for p in self.problems],
                "foreign_versions": [f.as_dict() for f in self.foreign]}


def verify_archive(
    archive: Archive, name_text: str | None = None, on_start: Callable[[int], None] | None = None,
    on_progress: Callable[[VersionRef], None] | None = None,
) -> VerifyReport:
    """Check every stored version of the archive (or of one record), then the bucket under its keys."""
    refs = stored_versions(archive, name_text)
    if on_start is not None:
        on_start(len(refs))
    problems = verify(archive, refs, on_progress)
    inventory = check_bucket(archive, name_text)
    return VerifyReport(len(refs), inventory.markers, problems + inventory.problems, inventory.foreign)


def verify(
    archive: Archive, refs: list[VersionRef], on_progress: Callable[[VersionRef], None] | None = None
) -> list[Problem]:
    """Read and check every listed version; return what failed.

    Nothing is raised for a bad version, so one damaged or unreadable object does not
    keep the others from being checked; only an unreachable storage stops the check.
    """
    problems = []
    for ref in refs:
        problem = check_version(archive, ref)
        if problem is not None:
            problems.append(problem)
        if on_progress is not None:
            on_progress(ref)
    return problems
