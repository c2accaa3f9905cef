"""Reading versions back, authenticated and checked against the catalog, and verifying them."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from archive.errors import IntegrityError, KeyMissing, ObjectUnreadable
from archive.inventory import Finding, check_bucket
from archive.objects import iter_plaintext, open_object
from archive.records import lookup
from archive.service import Archive
from catalog.schema import Record, RecordState, Version, VersionState
from encryption.envelope import EnvelopeError
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


def read_version(archive: Archive, ref: VersionRef) -> Iterator[bytes]:
    """Yield the plaintext of a version; raise :class:`IntegrityError` on any mismatch.

    Each chunk is authenticated before it is yielded; the SHA-256 of the whole is
    checked against the object's metadata and the catalog once the last chunk is read.
    """
    try:
        opened = open_object(archive, ref.object_key, ref.s3_version_id, ref.stored_size)
        meta = opened.meta
        if opened.nonce != ref.nonce or meta.get("name") != ref.name or meta.get("version") != ref.version:
            raise EnvelopeError("the stored object is not this version (swapped or replaced)")
        if meta.get("sha256") != ref.sha256 or meta.get("size") != ref.size:
            raise EnvelopeError("the stored object's checksum differs from the catalog")
        yield from iter_plaintext(archive, opened)
    except EnvelopeError as exc:
        raise IntegrityError(f"integrity error in {ref.label}: {exc}") from None
    except MissingObject:
        raise IntegrityError(f"integrity error in {ref.label}: its object is missing or shorter than catalogued") from None
    except KeyMissing as exc:
        raise KeyMissing(f"cannot decrypt {ref.label}: {exc}") from None
    except ObjectUnreadable as exc:
        raise ObjectUnreadable(f"{ref.label} is unreadable: {exc}") from None


DAMAGED = "damaged"
UNREADABLE = "unreadable"


@dataclass(frozen=True)
class Problem:
    """A version that failed its check: ``damaged`` (its bytes are wrong or gone) or ``unreadable``."""

    name: str
    version: int
    kind: str
    error: str


def stored_versions(archive: Archive, name_text: str | None = None) -> list[VersionRef]:
    """Every stored version, of one record or of the whole archive, in name order."""
    with archive.catalog.read() as session:
        query = (
            select(Record)
            .where(Record.state == RecordState.ACTIVE)
            .options(selectinload(Record.versions))
            .order_by(Record.year, Record.type, Record.number)
        )
        if name_text is not None:
            record, _ = lookup(session, name_text)
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
    except IntegrityError as exc:
        return Problem(ref.name, ref.version, DAMAGED, str(exc))
    except (ObjectUnreadable, KeyMissing) as exc:
        return Problem(ref.name, ref.version, UNREADABLE, str(exc))
    return None


@dataclass(frozen=True)
class VerifyReport:
    """What ``verify`` found: the versions it read, those that failed, and what it found in the bucket."""

    checked: int
    problems: list[Problem]
    foreign: list[Finding]

    @property
    def ok(self) -> bool:
        return not self.problems and not self.foreign

    def counts(self) -> dict[str, int]:
        """``ok``, ``damaged`` and ``unreadable`` versions, and ``foreign`` object versions and delete markers."""
        kinds = [problem.kind for problem in self.problems]
        return {"ok": self.checked - len(kinds), DAMAGED: kinds.count(DAMAGED), UNREADABLE: kinds.count(UNREADABLE),
                "foreign": len(self.foreign)}

    def as_dict(self) -> dict[str, object]:
        return {"checked": self.checked, **self.counts(), "problems": [asdict(p) for p in self.problems],
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
    return VerifyReport(len(refs), problems, check_bucket(archive, name_text))


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
