"""Dropping old snapshots and the content no kept snapshot needs.

The manifests of dropped snapshots are deleted first, then every blob no remaining
manifest lists: a prune interrupted in between leaves only unreferenced blobs, which
the next prune removes. Which snapshots stay is :func:`backup.retention.select_kept`;
the newest is never dropped. A target holding a manifest this keyring cannot open
(another archive's, or one sealed with a retired key) is refused: its blobs cannot
be told apart from garbage.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from backup.layout import blob_key, snapshot_key, snapshot_time
from backup.repository import blob_sizes, load_all
from backup.retention import select_kept
from backup.sealing import KeyLookup
from backup.targets import Target
from errors import Conflict


@dataclass
class PruneReport:
    kept: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    blobs_deleted: int = 0
    bytes_freed: int = 0
    dry_run: bool = False

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def prune(target: Target, keys: KeyLookup, keep_weekly: int, keep_monthly: int, *, dry_run: bool = False) -> PruneReport:
    """Apply the retention policy to ``target`` (the caller holds the backup lock unless ``dry_run``)."""
    manifests, unreadable = load_all(target, keys)
    if unreadable:
        raise Conflict(
            f"cannot prune {target.location}: {len(unreadable)} snapshot(s) do not open with this keyring "
            f"(first: {unreadable[0].problem}); their content cannot be told from garbage"
        )
    kept = select_kept({m.snapshot: snapshot_time(m.snapshot) for m in manifests}, keep_weekly, keep_monthly)
    needed: set[str] = set()
    for manifest in manifests:
        if manifest.snapshot in kept:
            needed.update(manifest.blobs())
    garbage = {blob: size for blob, size in blob_sizes(target).items() if blob not in needed}
    report = PruneReport(
        kept=sorted(kept),
        dropped=sorted(m.snapshot for m in manifests if m.snapshot not in kept),
        blobs_deleted=len(garbage),
        bytes_freed=sum(garbage.values()),
        dry_run=dry_run,
    )
    if dry_run:
        return report
    for snapshot_id in report.dropped:
        target.delete(snapshot_key(snapshot_id))
    target.sync()
    for blob in sorted(garbage):
        target.delete(blob_key(blob))
    target.sync()
    return report
