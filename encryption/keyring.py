"""The Fernet keyring: a JSON file of mode 0600, newest key first.

It is ordered like a ``MultiFernet`` (new data is encrypted with the newest key), but
since every object header names its key, decryption picks that key directly instead of
trying each key in turn.

Each key has a random identifier. The identifier (not the key) is written in the
plaintext header of every object so the right key is found without trial decryption,
and so that rotation knows which objects still need re-encrypting.

The file is shared by every process of a home (the service, CLI commands, cron jobs),
and any of them may change it (``keys rotate``, ``keys retire``), so a :class:`Keyring`
is a live view of the file, not a copy taken once:

- encrypting asks for the primary key, which first compares the file's stat signature
  (device, inode, size, mtime, ctime) with the one it was read under, and reads the file
  again when it differs: new objects always use the newest primary on disk;
- decrypting with a key id it does not hold reads the file once more before failing,
  so objects another process re-encrypted open at once;
- changes (:meth:`Keyring.add_key`, :meth:`Keyring.remove`, :meth:`Keyring.install`)
  happen under a file lock (``keyring.json.lock`` next to the file), re-read the file
  inside it and replace it atomically, so two processes never lose each other's keys.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from cryptography.fernet import Fernet
from filelock import FileLock

from encryption.private_files import check_private_file, write_private_file
from encryption.raw_fernet import RawFernet
from errors import ConfigError, KeyMissing

KEY_ID_BYTES = 8
KEY_ID_PATTERN = re.compile(r"^[0-9a-f]{16}\Z")

# What identifies one version of the file: an atomic replace always changes the inode and ctime.
Signature = tuple[int, int, int, int, int]


@dataclass(frozen=True)
class KeyEntry:
    """One Fernet key with its identifier and creation time."""

    id: str
    created: str
    key: bytes

    def __repr__(self) -> str:
        return f"KeyEntry(id={self.id!r}, created={self.created!r})"


@dataclass(frozen=True)
class KeySet:
    """The keys of one version of the keyring file, newest first, with their ciphers."""

    entries: tuple[KeyEntry, ...]
    signature: Signature | None
    ciphers: dict[str, RawFernet] = field(repr=False, compare=False)

    @classmethod
    def of(cls, entries: list[KeyEntry] | tuple[KeyEntry, ...], signature: Signature | None) -> KeySet:
        return cls(tuple(entries), signature, {entry.id: RawFernet(entry.key) for entry in entries})

    @property
    def primary(self) -> KeyEntry:
        return self.entries[0]

    def find(self, key_id: str) -> KeyEntry | None:
        return next((entry for entry in self.entries if entry.id == key_id), None)


class Keyring:
    """The ordered set of Fernet keys of one archive, kept in step with its file."""

    def __init__(self, path: Path, entries: list[KeyEntry], signature: Signature | None = None) -> None:
        if not entries:
            raise ConfigError(f"keyring {path} holds no keys")
        self.path = path
        self._keys = KeySet.of(entries, signature)
        self._reading = threading.Lock()

    @classmethod
    def load(cls, path: Path) -> Keyring:
        entries, signature = _read(path)
        return cls(path, entries, signature)

    @classmethod
    def create(cls, path: Path) -> Keyring:
        """Create a keyring with one new key; never overwrites an existing file."""
        return cls.install(path, [_new_entry()])

    @classmethod
    def install(cls, path: Path, entries: list[KeyEntry]) -> Keyring:
        """Write a keyring file holding ``entries``; refused if one exists already."""
        if not entries:
            raise ConfigError(f"keyring {path} holds no keys")
        with _file_lock(path):
            if path.exists():
                raise ConfigError(f"keyring {path} already exists")
            return cls(path, entries, _write(path, entries))

    @property
    def entries(self) -> list[KeyEntry]:
        """The keys as the file holds them now, newest first."""
        return list(self.current().entries)

    @property
    def primary(self) -> KeyEntry:
        """The key new objects are encrypted with: the newest in the file now."""
        return self.current().primary

    def encryption_key(self) -> tuple[KeyEntry, RawFernet]:
        """The primary key and its cipher, taken from one version of the file."""
        keys = self.current()
        return keys.primary, keys.ciphers[keys.primary.id]

    def current(self) -> KeySet:
        """The keys of the file as it is now: read again if it changed since it was last read."""
        keys = self._keys
        if _signature(self.path) != keys.signature:
            keys = self._reload()
        return keys

    def entry(self, key_id: str) -> KeyEntry:
        """The key with this id; the file is read again once before :class:`KeyMissing`."""
        found = self._keys.find(key_id) or self._reload().find(key_id)
        if found is None:
            raise KeyMissing(f"the keyring has no key {key_id} (wrong or outdated keyring)")
        return found

    def cipher(self, key_id: str) -> RawFernet:
        """The cipher of one key, producing and opening Fernet tokens as raw bytes."""
        cipher = self._keys.ciphers.get(key_id)
        if cipher is None:
            self.entry(key_id)
            cipher = self._keys.ciphers[key_id]
        return cipher

    def add_key(self) -> KeyEntry:
        """Add a new primary key to the file (keeping every key it holds now)."""
        entry = _new_entry()
        with _file_lock(self.path):
            on_disk, _ = _read(self.path)
            self._store([entry, *on_disk])
        return entry

    def remove(self, key_ids: set[str]) -> None:
        """Drop keys from the file; never its primary (the newest key in the file now)."""
        with _file_lock(self.path):
            on_disk, _ = _read(self.path)
            if on_disk[0].id in key_ids:
                raise ConfigError("the newest key cannot be retired")
            self._store([entry for entry in on_disk if entry.id not in key_ids])

    def _store(self, entries: list[KeyEntry]) -> None:
        """Replace the file (the caller holds the file lock) and remember what it now holds."""
        self._keys = KeySet.of(entries, _write(self.path, entries))

    def _reload(self) -> KeySet:
        with self._reading:
            entries, signature = _read(self.path)
            self._keys = KeySet.of(entries, signature)
            return self._keys


def _new_entry() -> KeyEntry:
    return KeyEntry(
        id=secrets.token_hex(KEY_ID_BYTES),
        created=datetime.now(UTC).isoformat(timespec="seconds"),
        key=Fernet.generate_key(),
    )


def _signature_of(stat: os.stat_result) -> Signature:
    return (stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns)


def _signature(path: Path) -> Signature | None:
    try:
        return _signature_of(path.stat())
    except FileNotFoundError:
        return None


def _read(path: Path) -> tuple[list[KeyEntry], Signature]:
    """The keys of the file and the signature of the very version read (one open file)."""
    try:
        check_private_file(path)
        with open(path, "rb") as file:
            signature = _signature_of(os.fstat(file.fileno()))
            data = json.loads(file.read())
        entries = [
            KeyEntry(str(item["id"]), str(item["created"]), str(item["key"]).encode("ascii"))
            for item in data["keys"]
        ]
        ids = [entry.id for entry in entries]
        if not entries or len(set(ids)) != len(ids) or not all(KEY_ID_PATTERN.match(key_id) for key_id in ids):
            raise ValueError("bad key ids")
        for entry in entries:
            RawFernet(entry.key)
        return entries, signature
    except FileNotFoundError:
        raise ConfigError(f"keyring {path} is missing; run 'strongroom init'") from None
    except (ValueError, KeyError, TypeError):
        raise ConfigError(f"keyring {path} is not valid") from None


def _write(path: Path, entries: list[KeyEntry]) -> Signature:
    """Atomically replace the file with ``entries``; return the new file's signature."""
    data = {"keys": [{"id": e.id, "created": e.created, "key": e.key.decode("ascii")} for e in entries]}
    write_private_file(path, (json.dumps(data, indent=2) + "\n").encode())
    return _signature_of(path.stat())


@contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    """Serialise changes of the keyring file between processes (and threads)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    with FileLock(str(path.with_name(path.name + ".lock")), mode=0o600):
        yield
