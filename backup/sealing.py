"""Encrypting what a backup adds to the stored objects: manifests and the catalog copy (pure).

Both use the archive's own encrypted object format (``encryption/envelope.py``:
authenticated Fernet frames, a metadata frame, plaintext SHA-256 and size checked at
the end), but under a key *derived for backups* from one keyring key with HKDF-SHA256,
so a backup never holds a keyring key, nor anything encrypted with one that is not
already in the bucket. The header names the keyring key the backup key was derived
from; opening needs a keyring that still holds it.
"""

from __future__ import annotations

import base64
import io
import os
from collections.abc import Callable, Iterator
from typing import BinaryIO

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from encryption.envelope import (
    FOOTER,
    HEADER,
    NONCE_BYTES,
    EncryptingReader,
    EnvelopeError,
    Header,
    decrypt_data,
    iter_frames,
    max_frame_bytes,
    open_meta,
    parse_footer,
    parse_header,
)
from encryption.keyring import KeyEntry, Keyring
from encryption.raw_fernet import RawFernet
from errors import KeyMissing

BACKUP_KEY_INFO = b"strongroom backup key v1"
CHUNK_SIZE = 1024 * 1024
READ_BLOCK = 1024 * 1024

KeyLookup = Callable[[str], KeyEntry]


class SealError(Exception):
    """Sealed data that is malformed, altered, or not sealed for this snapshot."""


def backup_cipher(entry: KeyEntry) -> RawFernet:
    """The backup cipher derived from one keyring key (HKDF-SHA256, fixed context string)."""
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=BACKUP_KEY_INFO).derive(
        base64.urlsafe_b64decode(entry.key)
    )
    return RawFernet(base64.urlsafe_b64encode(derived))


def keys_of(keyring: Keyring) -> KeyLookup:
    """Look keys up by id in ``keyring`` (as its file is now); a missing one is :class:`KeyMissing`."""

    def lookup(key_id: str) -> KeyEntry:
        try:
            return keyring.entry(key_id)
        except KeyMissing:
            raise KeyMissing(
                f"the keyring has no key {key_id}, which this backup was sealed with "
                "(import the keyring exported when the snapshot was made)"
            ) from None

    return lookup


def sealing_reader(entry: KeyEntry, source: BinaryIO, meta: dict[str, object]) -> EncryptingReader:
    """A stream of the sealed form of ``source``; ``meta`` is authenticated along with it."""
    header = Header(entry.id, os.urandom(NONCE_BYTES), CHUNK_SIZE)
    return EncryptingReader(source, backup_cipher(entry), header, meta)


def seal(entry: KeyEntry, data: bytes, meta: dict[str, object]) -> bytes:
    return sealing_reader(entry, io.BytesIO(data), meta).read()


def unseal(data: bytes, keys: KeyLookup) -> tuple[dict[str, object], bytes]:
    """The authenticated metadata and plaintext of sealed ``data``; SealError if not authentic."""
    meta, chunks = unseal_file(io.BytesIO(data), len(data), keys)
    return meta, b"".join(chunks)


def unseal_file(
    sealed: BinaryIO, size: int, keys: KeyLookup
) -> tuple[dict[str, object], Iterator[bytes]]:
    """Open a sealed file: its metadata now, its plaintext as an iterator (checked to the end).

    The iterator raises SealError when a frame fails authentication or the total size or
    SHA-256 differs from the metadata, so a consumer must not trust what it wrote until
    the iterator is exhausted.
    """
    try:
        sealed.seek(0)
        header = parse_header(sealed.read(HEADER.size))
        sealed.seek(max(size - FOOTER.size, 0))
        meta_offset = parse_footer(sealed.read(FOOTER.size), size)
        sealed.seek(meta_offset)
        cipher = backup_cipher(keys(header.key_id))
        meta = open_meta(cipher, header, sealed.read(size - meta_offset))
    except EnvelopeError as exc:
        raise SealError(str(exc)) from None
    return meta, _plaintext(sealed, header, meta, cipher, meta_offset)


def _plaintext(
    sealed: BinaryIO, header: Header, meta: dict[str, object], cipher: RawFernet, meta_offset: int
) -> Iterator[bytes]:
    def blocks() -> Iterator[bytes]:
        sealed.seek(HEADER.size)
        remaining = meta_offset - HEADER.size
        while remaining > 0:
            block = sealed.read(min(READ_BLOCK, remaining))
            if not block:
                return
            remaining -= len(block)
            yield block

    try:
        yield from decrypt_data(cipher, header, meta, iter_frames(blocks(), max_frame_bytes(header.chunk_size)))
    except EnvelopeError as exc:
        raise SealError(str(exc)) from None
