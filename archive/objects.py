"""Writing and reading encrypted objects in the bucket (the envelope format over S3); every object of one record."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import BinaryIO

from archive.service import Archive, utcnow
from encryption.envelope import (
    FOOTER,
    HEADER,
    NONCE_BYTES,
    EncryptingReader,
    EnvelopeError,
    Header,
    SourceReadError,
    decrypt_data,
    iter_frames,
    max_frame_bytes,
    open_meta,
    parse_footer,
    parse_header,
)
from errors import Conflict, StrongroomError
from naming import ARCHIVE_PREFIX, current_key, parse_name
from storage.s3 import ObjectStore, StoredVersion

WHOLE_OBJECT_LIMIT = 4 * 1024 * 1024
READ_BLOCK = 1024 * 1024


def new_nonce() -> bytes:
    return os.urandom(NONCE_BYTES)


@dataclass(frozen=True)
class WrittenObject:
    s3_version_id: str
    size: int
    sha256: str
    stored_size: int
    key_id: str
    locked_until: datetime | None = None


@dataclass(frozen=True)
class OpenedObject:
    """An object whose header and metadata frame have been read and authenticated."""

    key: str
    s3_version_id: str
    header: Header
    meta: dict[str, object]
    meta_offset: int
    body: bytes | None

    @property
    def nonce(self) -> str:
        return self.header.nonce.hex()


def write_object(
    archive: Archive, key: str, source: BinaryIO, nonce: bytes, meta: dict[str, object],
    retain_until: datetime | None = None,
) -> WrittenObject:
    """Encrypt ``source`` with the primary key and upload it as a new version of ``key``.

    With ``retain_until`` the version is write-once (Object Lock, compliance mode) until then.
    """
    primary, cipher = archive.keyring.encryption_key()
    header = Header(primary.id, nonce, archive.settings.chunk_size)
    reader = EncryptingReader(source, cipher, header, meta)
    try:
        version_id = archive.store.put_stream(key, reader, retain_until)  # type: ignore[arg-type]
    except SourceReadError as exc:
        raise StrongroomError(f"cannot read the document being filed: {exc}") from None
    return WrittenObject(version_id, reader.size, reader.sha256, reader.stored_size, primary.id, retain_until)


def read_header(archive: Archive, key: str, version_id: str) -> Header:
    return parse_header(archive.store.read_range(key, version_id, 0, HEADER.size))


def still_locked(locked_until: datetime | None) -> datetime | None:
    """A version's Object Lock date while it is still ahead (a new copy must carry it), else None."""
    return locked_until if locked_until is not None and locked_until > utcnow() else None


def copy_checked(
    archive: Archive, source_key: str, source_id: str, target_key: str, *, nonce: str,
    locked_until: datetime | None, storage_class: str | None = None, what: str,
) -> str:
    """Server-side copy of one stored version, keeping its lock; the copy is checked by its nonce."""
    copied = archive.store.copy(source_key, source_id, target_key, retain_until=still_locked(locked_until),
                                storage_class=storage_class)
    if read_header(archive, target_key, copied).nonce.hex() != nonce:
        raise Conflict(f"{what}: the copy does not match its source")
    return copied


def open_object(archive: Archive, key: str, version_id: str, stored_size: int) -> OpenedObject:
    """Read the header and the authenticated metadata of one object version.

    The object must be exactly ``stored_size`` bytes long (the size the catalog or the
    listing gives): bytes appended after the footer, or an object cut short, are refused
    before anything is decrypted (``EnvelopeError``).
    """
    store = archive.store
    body: bytes | None = None
    if stored_size <= WHOLE_OBJECT_LIMIT:
        body, actual = store.read_start(key, version_id, stored_size)
        head, footer = body[: HEADER.size], body[-FOOTER.size:]
    else:
        head, actual = store.read_start(key, version_id, HEADER.size)
    check_size(actual, stored_size)
    if body is None:
        footer = store.read_range(key, version_id, stored_size - FOOTER.size, FOOTER.size)
    header = parse_header(head)
    meta_offset = parse_footer(footer, stored_size)
    if body is not None:
        tail = body[meta_offset:]
    else:
        tail = store.read_range(key, version_id, meta_offset, stored_size - meta_offset)
    meta = open_meta(archive.keyring.cipher(header.key_id), header, tail)
    return OpenedObject(key, version_id, header, meta, meta_offset, body)


def check_size(actual: int, expected: int) -> None:
    """Refuse an object whose size is not the one recorded when it was written."""
    if actual > expected:
        raise EnvelopeError(f"the stored object is {actual} bytes, {actual - expected} more than written "
                            "(bytes were added after its end)")
    if actual < expected:
        raise EnvelopeError(f"the stored object is {actual} bytes, {expected - actual} fewer than written (truncated)")


def iter_plaintext(archive: Archive, opened: OpenedObject) -> Iterator[bytes]:
    """Stream the authenticated plaintext of an opened object; checks SHA-256 at the end."""
    header = opened.header
    if opened.body is not None:
        blocks: Iterator[bytes] = iter([opened.body[HEADER.size:opened.meta_offset]])
    else:
        blocks = archive.store.stream_range(
            opened.key, opened.s3_version_id, HEADER.size, opened.meta_offset - HEADER.size, READ_BLOCK
        )
    frames = iter_frames(blocks, max_frame_bytes(header.chunk_size))
    return decrypt_data(archive.keyring.cipher(header.key_id), header, opened.meta, frames)


class IteratorReader:
    """A minimal read-only stream over an iterator of byte blocks (for re-encryption)."""

    def __init__(self, blocks: Iterator[bytes]) -> None:
        self._blocks = blocks
        self._pending = b""

    def read(self, size: int = -1) -> bytes:
        out = bytearray(self._pending)
        while size < 0 or len(out) < size:
            block = next(self._blocks, b"")
            if not block:
                break
            out += block
        if size >= 0:
            self._pending = bytes(out[size:])
            del out[size:]
        else:
            self._pending = b""
        return bytes(out)


def record_objects(store: ObjectStore, name_text: str) -> list[StoredVersion]:
    """Versions (and delete markers) at ``current/NAME`` and under ``archive/NAME/``.

    Besides the catalogued versions this finds superseded copies and re-encrypted
    ciphertexts that Object Lock kept from being deleted.
    """
    name = parse_name(name_text)
    current = current_key(name)
    archived = f"{ARCHIVE_PREFIX}{name}/"
    found = [v for v in store.list_versions(current, with_delete_markers=True) if v.key == current]
    return found + store.list_versions(archived, with_delete_markers=True)
