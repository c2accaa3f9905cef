"""What earlier runs learned: the blob digest of each stored object version, in ``HOME/run``.

An S3 object version never changes, so once a run has copied ``(key, version id)``
and found its SHA-256, later runs need not read it again: if the target still holds
that blob, the version is already backed up. Each copy is appended here as soon as
its blob is in the target, which is what lets an interrupted run resume without
copying anything twice; after a complete snapshot the file is rewritten to hold
just that snapshot's entries. Losing the file only costs re-reading (never re-
uploading: blobs are found by digest). It holds object keys, version ids and
digests, no secrets.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

FILE_NAME = "backup-hashes.jsonl"


@dataclass(frozen=True)
class Known:
    """A stored object version's blob; ``nonce`` (record objects) guards against a reused version id."""

    blob: str
    size: int
    retain_until: str | None = None
    nonce: str | None = None


class HashCache:
    def __init__(self, run_dir: Path) -> None:
        self.path = run_dir / FILE_NAME
        self._known: dict[tuple[str, str], Known] = {}
        self._lock = threading.Lock()
        self._load()

    def _load(self) -> None:
        try:
            lines = self.path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return
        for line in lines:
            try:
                item = json.loads(line)
                self._known[(item["key"], item["version_id"])] = Known(
                    str(item["blob"]), int(item["size"]), item.get("retain_until"), item.get("nonce")
                )
            except (ValueError, KeyError, TypeError):
                continue  # a line cut short by a crash

    def get(self, key: str, version_id: str) -> Known | None:
        return self._known.get((key, version_id))

    def learn(self, entries: Iterable[tuple[str, str, Known]]) -> None:
        """Remember entries known from elsewhere (a manifest) without writing them."""
        for key, version_id, known in entries:
            self._known.setdefault((key, version_id), known)

    def add(self, key: str, version_id: str, known: Known) -> None:
        """Remember a version whose blob is now in a target, appending it to the file."""
        line = _line(key, version_id, known)
        with self._lock:
            self._known[(key, version_id)] = known
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            with open(self.path, "a", encoding="utf-8") as out:
                out.write(line)

    def replace(self, entries: Iterable[tuple[str, str, Known]]) -> None:
        """Keep exactly ``entries`` (after a complete snapshot), rewriting the file atomically."""
        entries = list(entries)
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        with open(tmp, "w", encoding="utf-8") as out:
            out.writelines(_line(key, version_id, known) for key, version_id, known in entries)
        with self._lock:
            tmp.replace(self.path)
            self._known = {(key, version_id): known for key, version_id, known in entries}


def _line(key: str, version_id: str, known: Known) -> str:
    data: dict[str, object] = {"key": key, "version_id": version_id, "blob": known.blob, "size": known.size}
    for name in ("retain_until", "nonce"):
        if getattr(known, name) is not None:
            data[name] = getattr(known, name)
    return json.dumps(data, separators=(",", ":")) + "\n"
