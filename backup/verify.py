"""Checking snapshots in a target: their manifests and blobs, and optionally every byte.

The structure check opens and authenticates each manifest and checks that every blob
it lists is in the target with the listed size. With read-data, each blob (or a random
subset of them) is read back and its SHA-256 compared with its name; the sealed
catalog copies are also opened, authenticated and their plaintext SHA-256 checked.

A blob is *damaged* when it is missing, of the wrong size or its bytes are wrong, and
*unreadable* when the target answers but cannot deliver it (a damaged volume of an S3
target, a file that cannot be read) or no key opens it; either is reported and the
check goes on. Only an unreachable target stops it.
"""

from __future__ import annotations

import hashlib
import math
import random
import tempfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field

from backup.layout import blob_key
from backup.manifest import Manifest
from backup.repository import blob_sizes, load_all, load_manifest
from backup.sealing import KeyLookup, SealError, unseal_file
from backup.targets import MissingBlob, Target
from errors import KeyMissing, ObjectUnreadable

DAMAGED = "damaged"
UNREADABLE = "unreadable"


@dataclass(frozen=True)
class Problem:
    """A blob that is damaged (missing, of the wrong size, corrupt) or unreadable, and what needs it."""

    blob: str
    what: str
    snapshots: list[str]
    problem: str
    kind: str = DAMAGED


@dataclass
class VerifyReport:
    snapshots: list[str] = field(default_factory=list)
    blobs: int = 0
    read: int = 0
    read_bytes: int = 0
    problems: list[Problem] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems and not self.unreadable

    def counts(self) -> dict[str, int]:
        """Blobs by outcome: ``ok`` (present with the listed size, and right when read back), damaged, unreadable."""
        kinds = [problem.kind for problem in self.problems]
        return {"ok": self.blobs - len(kinds), DAMAGED: kinds.count(DAMAGED), UNREADABLE: kinds.count(UNREADABLE)}

    def as_dict(self) -> dict[str, object]:
        counts = self.counts()
        return {**asdict(self), "ok": self.ok, "blobs_ok": counts["ok"], DAMAGED: counts[DAMAGED],
                UNREADABLE: counts[UNREADABLE]}


def verify_snapshots(
    target: Target,
    keys: KeyLookup,
    snapshot_ids: list[str] | None,
    *,
    read_fraction: float = 0.0,
    threads: int = 4,
    on_start: Callable[[int], None] | None = None,
    on_progress: Callable[[object], None] | None = None,
) -> VerifyReport:
    """Verify the given snapshots (all when None); read back ``read_fraction`` (0..1) of their blobs."""
    report = VerifyReport()
    if snapshot_ids is None:
        manifests, unreadable = load_all(target, keys)
        report.unreadable = [f"{u.snapshot}: {u.problem}" for u in unreadable]
    else:
        manifests = [load_manifest(target, snapshot_id, keys) for snapshot_id in snapshot_ids]
    report.snapshots = [m.snapshot for m in manifests]
    needed = _needed(manifests)
    report.blobs = len(needed)
    existing = blob_sizes(target)
    present = []
    for blob, (size, what, users) in sorted(needed.items()):
        if blob not in existing:
            report.problems.append(Problem(blob, what, users, "missing from the target"))
        elif existing[blob] != size:
            report.problems.append(Problem(blob, what, users, f"is {existing[blob]} bytes, the manifest lists {size}"))
        else:
            present.append(blob)
    chosen = _sample(present, read_fraction)
    catalogs = {m.catalog.blob: m.catalog.sha256 for m in manifests}
    if on_start is not None:
        on_start(len(chosen))

    def check(blob: str) -> tuple[str, tuple[str, str] | None, int]:
        size = needed[blob][0]
        try:
            if blob in catalogs:
                return blob, _check_catalog(target, blob, size, catalogs[blob], keys), size
            return blob, _check_blob(target, blob), size
        except (ObjectUnreadable, KeyMissing) as exc:
            return blob, (UNREADABLE, f"is unreadable: {exc}"), size

    with ThreadPoolExecutor(max_workers=threads) as pool:
        for blob, problem, size in pool.map(check, chosen):
            report.read += 1
            report.read_bytes += size
            if problem is not None:
                _, what, users = needed[blob]
                kind, text = problem
                report.problems.append(Problem(blob, what, users, text, kind))
            if on_progress is not None:
                on_progress(blob)
    return report


def _needed(manifests: list[Manifest]) -> dict[str, tuple[int, str, list[str]]]:
    """Every blob the manifests list: its size, what it holds, and which snapshots need it."""
    needed: dict[str, tuple[int, str, list[str]]] = {}
    for manifest in manifests:
        items = [(e.blob, e.size, f"{e.name} v{e.version} ({e.key})" if e.is_record else e.key) for e in manifest.entries]
        items.append((manifest.catalog.blob, manifest.catalog.size, "catalog copy"))
        for blob, size, what in items:
            _, _, users = needed.setdefault(blob, (size, what, []))
            if manifest.snapshot not in users:
                users.append(manifest.snapshot)
    return needed


def _sample(blobs: list[str], fraction: float) -> list[str]:
    if fraction <= 0 or not blobs:
        return []
    if fraction >= 1:
        return blobs
    return sorted(random.SystemRandom().sample(blobs, max(1, math.ceil(len(blobs) * fraction))))


def _check_blob(target: Target, blob: str) -> tuple[str, str] | None:
    """Read a blob back: None if its SHA-256 is its name, else (kind, problem)."""
    digest = hashlib.sha256()
    try:
        for block in target.stream(blob_key(blob)):
            digest.update(block)
    except MissingBlob:
        return DAMAGED, "missing from the target"
    return None if digest.hexdigest() == blob else (DAMAGED, "is corrupt (its SHA-256 differs from its name)")


def _check_catalog(target: Target, blob: str, size: int, plain_sha256: str, keys: KeyLookup) -> tuple[str, str] | None:
    """Download the sealed catalog copy, check its digest, then open it and check the plaintext."""
    digest = hashlib.sha256()
    with tempfile.TemporaryFile() as sealed:
        try:
            for block in target.stream(blob_key(blob)):
                digest.update(block)
                sealed.write(block)
        except MissingBlob:
            return DAMAGED, "missing from the target"
        if digest.hexdigest() != blob:
            return DAMAGED, "is corrupt (its SHA-256 differs from its name)"
        try:
            meta, chunks = unseal_file(sealed, size, keys)
            for _ in chunks:
                pass
        except SealError as exc:
            return DAMAGED, f"does not open: {exc}"
        if meta.get("sha256") != plain_sha256:
            return DAMAGED, "holds another catalog than its manifest lists"
    return None
