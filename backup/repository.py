"""Reading what a target holds: snapshot ids, manifests, blobs."""

from __future__ import annotations

from dataclasses import dataclass

from backup.layout import BLOBS, SNAPSHOTS, digest_of, snapshot_id_of, snapshot_key
from backup.manifest import Manifest, decode
from backup.sealing import KeyLookup, SealError
from backup.targets import MissingBlob, Target
from errors import IntegrityError, KeyMissing, NotFound, ObjectUnreadable, UsageError


def snapshot_ids(target: Target) -> list[str]:
    """Ids of the complete snapshots (those with a manifest), oldest first."""
    return sorted(filter(None, (snapshot_id_of(key) for key in target.list(SNAPSHOTS))))


def blob_sizes(target: Target) -> dict[str, int]:
    """Every blob in the target: digest → size."""
    return {digest: size for key, size in target.list(BLOBS).items() if (digest := digest_of(key))}


def load_manifest(target: Target, snapshot_id: str, keys: KeyLookup) -> Manifest:
    """The authenticated manifest of one snapshot; IntegrityError if it does not open."""
    try:
        data = target.read(snapshot_key(snapshot_id))
    except MissingBlob:
        raise NotFound(f"no snapshot {snapshot_id} in backup target {target.location}") from None
    try:
        return decode(data, keys, snapshot_id)
    except SealError as exc:
        raise IntegrityError(f"the manifest of snapshot {snapshot_id} is not authentic: {exc}") from None


@dataclass(frozen=True)
class Unreadable:
    snapshot: str
    problem: str


def load_all(target: Target, keys: KeyLookup) -> tuple[list[Manifest], list[Unreadable]]:
    """Every manifest that opens, oldest first, and the snapshots whose manifest does not (or cannot be read)."""
    manifests, unreadable = [], []
    for snapshot_id in snapshot_ids(target):
        try:
            manifests.append(load_manifest(target, snapshot_id, keys))
        except (IntegrityError, KeyMissing, NotFound, ObjectUnreadable) as exc:
            unreadable.append(Unreadable(snapshot_id, str(exc)))
    return manifests, unreadable


def newest_manifest(target: Target, keys: KeyLookup) -> Manifest | None:
    """The newest snapshot whose manifest opens with this keyring, if any."""
    for snapshot_id in reversed(snapshot_ids(target)):
        try:
            return load_manifest(target, snapshot_id, keys)
        except (IntegrityError, KeyMissing, NotFound):
            continue
    return None


def resolve_snapshot(target: Target, text: str) -> str:
    """``latest``, a full snapshot id, or an unambiguous prefix of one."""
    ids = snapshot_ids(target)
    if not ids:
        raise NotFound(f"backup target {target.location} holds no complete snapshot")
    if text == "latest":
        return ids[-1]
    matches = [snapshot_id for snapshot_id in ids if snapshot_id.startswith(text)]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise NotFound(f"no snapshot {text!r} in backup target {target.location}")
    raise UsageError(f"snapshot {text!r} is ambiguous: {', '.join(matches[:5])}")
