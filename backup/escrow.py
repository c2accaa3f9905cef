"""Exporting the keyring for escrow, and importing it into a new home before a restore.

Backups never hold the keyring, so without an export a lost home means lost data. An
export is a JSON file (mode 0600) holding every key, newest first. By default it is
protected with a passphrase: the keys are Fernet-encrypted under a key derived from
the passphrase with scrypt (n=2^15, r=8, p=1), so the file and the passphrase can be
kept apart (a safe and a second person, say). ``--plain`` leaves the keys readable,
for escrow systems that encrypt on their own.
"""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from encryption.keyring import KEY_ID_PATTERN, KeyEntry, Keyring
from encryption.raw_fernet import RawFernet
from errors import Conflict, UsageError

FORMAT = "strongroom-keyring-export"
VERSION = 1
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**15, 8, 1
SALT_BYTES = 16
MAX_SCRYPT_N = 2**20
MIN_PASSPHRASE = 8


def _passphrase_key(passphrase: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    derived = Scrypt(salt=salt, length=32, n=n, r=r, p=p).derive(passphrase.encode("utf-8"))
    return base64.urlsafe_b64encode(derived)


def export_keyring(keyring: Keyring, passphrase: str | None) -> bytes:
    """The export file's content; protected when a passphrase is given."""
    keys = [{"id": e.id, "created": e.created, "key": e.key.decode("ascii")} for e in keyring.entries]
    document: dict[str, object] = {"format": FORMAT, "version": VERSION}
    if passphrase is None:
        document.update(protected=False, keys=keys)
    else:
        if len(passphrase) < MIN_PASSPHRASE:
            raise UsageError(f"the passphrase must have at least {MIN_PASSPHRASE} characters")
        salt = os.urandom(SALT_BYTES)
        token = Fernet(_passphrase_key(passphrase, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)).encrypt(json.dumps(keys).encode())
        document.update(
            protected=True,
            kdf={"name": "scrypt", "n": SCRYPT_N, "r": SCRYPT_R, "p": SCRYPT_P,
                 "salt": base64.b64encode(salt).decode("ascii")},
            keys=token.decode("ascii"),
        )
    return (json.dumps(document, indent=2) + "\n").encode("utf-8")


def _require(condition: bool) -> None:
    if not condition:
        raise ValueError("malformed keyring export")


def _document(data: bytes) -> dict[str, object]:
    try:
        document = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        document = None
    if not isinstance(document, dict) or document.get("format") != FORMAT or document.get("version") != VERSION:
        raise UsageError("not a Strongroom keyring export")
    return document


def is_protected(data: bytes) -> bool:
    return _document(data).get("protected") is True


def read_export(data: bytes, passphrase: str | None) -> list[KeyEntry]:
    """The keys of an export, checked; UsageError for a wrong passphrase or a damaged file."""
    document = _document(data)
    keys = document.get("keys")
    if document.get("protected") is True:
        if passphrase is None:
            raise UsageError("this keyring export is protected: a passphrase is needed")
        kdf = document.get("kdf")
        if not isinstance(kdf, dict) or kdf.get("name") != "scrypt" or not isinstance(keys, str):
            raise UsageError("the keyring export is damaged")
        try:
            n, r, p = int(kdf["n"]), int(kdf["r"]), int(kdf["p"])
            _require(n <= MAX_SCRYPT_N and r <= 32 and p <= 16)  # a crafted file must not exhaust memory
            secret = _passphrase_key(passphrase, base64.b64decode(kdf["salt"]), n, r, p)
            keys = json.loads(Fernet(secret).decrypt(keys.encode("ascii")))
        except InvalidToken:
            raise UsageError("wrong passphrase (or a damaged keyring export)") from None
        except (KeyError, TypeError, ValueError):
            raise UsageError("the keyring export is damaged") from None
    return _entries(keys)


def _entries(keys: object) -> list[KeyEntry]:
    if not isinstance(keys, list) or not keys:
        raise UsageError("the keyring export holds no keys")
    try:
        entries = [KeyEntry(str(item["id"]), str(item["created"]), str(item["key"]).encode("ascii")) for item in keys]
        for entry in entries:
            _require(bool(KEY_ID_PATTERN.match(entry.id)))
            RawFernet(entry.key)
        _require(len({entry.id for entry in entries}) == len(entries))
    except (KeyError, TypeError, ValueError):
        raise UsageError("the keyring export holds invalid keys") from None
    return entries


def install_keyring(path: Path, entries: list[KeyEntry]) -> bool:
    """Write the keyring at ``path``; False if that very keyring is there already.

    A different keyring is never overwritten: a home's keyring decrypts its objects.
    """
    if path.exists():
        current = Keyring.load(path)
        if [(e.id, e.key) for e in current.entries] == [(e.id, e.key) for e in entries]:
            return False
        raise Conflict(
            f"{path} holds a different keyring; import into a new home before 'strongroom init' "
            "(init keeps an existing keyring)"
        )
    Keyring.install(path, entries)
    return True
