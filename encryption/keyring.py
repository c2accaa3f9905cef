"""The Fernet keyring: a JSON file of mode 0600, newest key first.

It is ordered like a ``MultiFernet`` (new data is encrypted with the newest key), but
since every object header names its key, decryption picks that key directly instead of
trying each key in turn.

Each key has a random identifier. The identifier (not the key) is written in the
plaintext header of every object so the right key is found without trial decryption,
and so that rotation knows which objects still need re-encrypting.
"""

from __future__ import annotations

import json
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography.fernet import Fernet

from archive.errors import ConfigError, KeyMissing
from config.private_files import check_private_file, write_private_file
from encryption.raw_fernet import RawFernet

KEY_ID_BYTES = 8
KEY_ID_PATTERN = re.compile(r"^[0-9a-f]{16}\Z")


@dataclass(frozen=True)
class KeyEntry:
    """One Fernet key with its identifier and creation time."""

    id: str
    created: str
    key: bytes

    def __repr__(self) -> str:
        return f"KeyEntry(id={self.id!r}, created={self.created!r})"


class Keyring:
    """The ordered set of Fernet keys of one archive."""

    def __init__(self, path: Path, entries: list[KeyEntry]) -> None:
        if not entries:
            raise ConfigError(f"keyring {path} holds no keys")
        self.path = path
        self.entries = entries
        self._ciphers = {entry.id: RawFernet(entry.key) for entry in entries}

    @classmethod
    def load(cls, path: Path) -> Keyring:
        try:
            check_private_file(path)
            data = json.loads(path.read_text())
            entries = [
                KeyEntry(str(item["id"]), str(item["created"]), str(item["key"]).encode("ascii"))
                for item in data["keys"]
            ]
            ids = [entry.id for entry in entries]
            if len(set(ids)) != len(ids) or not all(KEY_ID_PATTERN.match(key_id) for key_id in ids):
                raise ValueError("bad key ids")
            return cls(path, entries)
        except FileNotFoundError:
            raise ConfigError(f"keyring {path} is missing; run 'strongroom init'") from None
        except (ValueError, KeyError, TypeError):
            raise ConfigError(f"keyring {path} is not valid") from None

    @classmethod
    def create(cls, path: Path) -> Keyring:
        """Create a keyring with one new key; never overwrites an existing file."""
        if path.exists():
            raise ConfigError(f"keyring {path} already exists")
        keyring = cls(path, [_new_entry()])
        keyring.save()
        return keyring

    @property
    def primary(self) -> KeyEntry:
        """The key new objects are encrypted with (the newest)."""
        return self.entries[0]

    def cipher(self, key_id: str) -> RawFernet:
        """The cipher of one key, producing and opening Fernet tokens as raw bytes."""
        try:
            return self._ciphers[key_id]
        except KeyError:
            raise KeyMissing(f"the keyring has no key {key_id} (wrong or outdated keyring)") from None

    def add_key(self) -> KeyEntry:
        """Add a new primary key and save the keyring."""
        entry = _new_entry()
        self.entries.insert(0, entry)
        self._ciphers[entry.id] = RawFernet(entry.key)
        self.save()
        return entry

    def remove(self, key_ids: set[str]) -> None:
        """Drop keys (never the primary) and save the keyring."""
        if self.primary.id in key_ids:
            raise ConfigError("the newest key cannot be retired")
        self.entries = [entry for entry in self.entries if entry.id not in key_ids]
        for key_id in key_ids:
            self._ciphers.pop(key_id, None)
        self.save()

    def save(self) -> None:
        data = {"keys": [{"id": e.id, "created": e.created, "key": e.key.decode("ascii")} for e in self.entries]}
        write_private_file(self.path, (json.dumps(data, indent=2) + "\n").encode())


def _new_entry() -> KeyEntry:
    return KeyEntry(
        id=secrets.token_hex(KEY_ID_BYTES),
        created=datetime.now(UTC).isoformat(timespec="seconds"),
        key=Fernet.generate_key(),
    )
