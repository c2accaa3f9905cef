"""The manifest of a snapshot: what it holds, sealed and authenticated (pure).

The manifest lists every object version in the snapshot (object key, S3 version id,
blob digest and size; for record objects also the record name, version, nonce, key
id and plaintext SHA-256 from the catalog; for audit checkpoints their retention),
the sealed catalog copy (its blob, and the SHA-256 of the plaintext catalog), the
audit chain head and counts. It is zlib-compressed JSON sealed with the backup key
(:mod:`backup.sealing`); the sealed metadata names the snapshot, so a manifest
copied or renamed to another snapshot id does not open.
"""

from __future__ import annotations

import json
import zlib
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from backup.sealing import KeyLookup, SealError, seal, unseal
from encryption.keyring import KeyEntry

FORMAT = 1
KIND = "strongroom-backup-manifest"


@dataclass(frozen=True)
class Entry:
    """One stored object version, as the snapshot holds it."""

    key: str
    version_id: str
    blob: str
    size: int
    name: str | None = None
    version: int | None = None
    nonce: str | None = None
    key_id: str | None = None
    sha256: str | None = None
    retain_until: str | None = None

    @property
    def is_record(self) -> bool:
        return self.name is not None


@dataclass(frozen=True)
class CatalogCopy:
    """The sealed copy of the catalog: ``blob``/``size`` of the sealed form, ``sha256``/``plain_size`` of the SQLite file."""

    blob: str
    size: int
    sha256: str
    plain_size: int


@dataclass(frozen=True)
class Manifest:
    snapshot: str
    started: str
    completed: str
    source: dict[str, str]
    catalog: CatalogCopy
    audit_head: int
    counts: dict[str, int]
    entries: list[Entry] = field(default_factory=list)

    def blobs(self) -> dict[str, int]:
        """Every blob this snapshot needs, with its size."""
        needed = {entry.blob: entry.size for entry in self.entries}
        needed[self.catalog.blob] = self.catalog.size
        return needed

    @property
    def stored_bytes(self) -> int:
        """Bytes of the object versions (what the archive stores), counted once per version."""
        return sum(entry.size for entry in self.entries)

    @property
    def key_ids(self) -> set[str]:
        return {entry.key_id for entry in self.entries if entry.key_id}

    def summary(self) -> dict[str, Any]:
        return {
            "id": self.snapshot, "started": self.started, "completed": self.completed, "source": self.source,
            "audit_head": self.audit_head, **self.counts, "stored_bytes": self.stored_bytes,
            "catalog_bytes": self.catalog.plain_size,
        }


def encode(manifest: Manifest, key: KeyEntry) -> bytes:
    body = {
        **{f.name: getattr(manifest, f.name) for f in fields(manifest) if f.name not in ("catalog", "entries")},
        "catalog": asdict(manifest.catalog),
        "entries": [{k: v for k, v in asdict(entry).items() if v is not None} for entry in manifest.entries],
    }
    data = zlib.compress(json.dumps(body, separators=(",", ":"), sort_keys=True).encode("utf-8"))
    return seal(key, data, {"kind": KIND, "format": FORMAT, "snapshot": manifest.snapshot})


def decode(data: bytes, keys: KeyLookup, snapshot_id: str) -> Manifest:
    """Open and authenticate the manifest of ``snapshot_id``; SealError if it is not exactly that."""
    meta, plaintext = unseal(data, keys)
    if meta.get("kind") != KIND or meta.get("format") != FORMAT:
        raise SealError("not a Strongroom backup manifest of a known format")
    if meta.get("snapshot") != snapshot_id:
        raise SealError(f"the manifest stored as {snapshot_id} belongs to snapshot {meta.get('snapshot')!r}")
    try:
        body = json.loads(zlib.decompress(plaintext))
        manifest = Manifest(
            snapshot=str(body["snapshot"]),
            started=str(body["started"]),
            completed=str(body["completed"]),
            source={str(k): str(v) for k, v in body["source"].items()},
            catalog=CatalogCopy(**body["catalog"]),
            audit_head=int(body["audit_head"]),
            counts={str(k): int(v) for k, v in body["counts"].items()},
            entries=[Entry(**item) for item in body["entries"]],
        )
    except (ValueError, KeyError, TypeError, AttributeError, zlib.error):
        raise SealError(f"the manifest of {snapshot_id} is malformed") from None
    if manifest.snapshot != snapshot_id:
        raise SealError(f"the manifest of {snapshot_id} names snapshot {manifest.snapshot!r}")
    return manifest
