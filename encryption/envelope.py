"""The encrypted object format: a plaintext header, Fernet frames, and a footer.

::

    object  := header frame* footer
    header  := "SRMOBJ01" | key id (8 bytes) | object nonce (16 bytes) | chunk size (u32)
    frame   := length (u32) | Fernet token (raw bytes, see raw_fernet.py)
    footer  := offset of the metadata frame (u64) | "SRMEND01"

Every frame's plaintext starts with a context — the object nonce, the frame kind
(data or metadata) and the frame index — followed by its payload. Fernet
authenticates the whole plaintext, so a frame moved to another position, taken from
another object, or dropped from the end fails to open. The last frame is the
metadata frame; its index equals the number of data frames, and its JSON payload
names the record, the version, the plaintext size and SHA-256, so an object swapped
for another record's or version's is recognised too.

Only the key id, the nonce and the chunk size are plaintext; they reveal nothing of
the content. All integers are little-endian.
"""

from __future__ import annotations

import hashlib
import json
import struct
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import BinaryIO

from cryptography.fernet import InvalidToken

from encryption.raw_fernet import RawFernet

MAGIC = b"SRMOBJ01"
FOOTER_MAGIC = b"SRMEND01"
HEADER = struct.Struct("<8s8s16sI")
FRAME_LENGTH = struct.Struct("<I")
CONTEXT = struct.Struct("<16sBQ")
FOOTER = struct.Struct("<Q8s")
KIND_DATA = 0
KIND_META = 1
NONCE_BYTES = 16
MAX_META_BYTES = 1 << 20
FERNET_OVERHEAD = 1 + 8 + 16 + 16 + 32
ENVELOPE_FIELDS = ("size", "sha256", "chunks")  # metadata the writer adds; the rest is the caller's


class EnvelopeError(Exception):
    """The object is not a well-formed, authentic Strongroom object."""


class SourceReadError(Exception):
    """The plaintext source could not be read (kept apart from storage errors)."""


@dataclass(frozen=True)
class Header:
    key_id: str
    nonce: bytes
    chunk_size: int

    def pack(self) -> bytes:
        return HEADER.pack(MAGIC, bytes.fromhex(self.key_id), self.nonce, self.chunk_size)


def parse_header(data: bytes) -> Header:
    if len(data) < HEADER.size:
        raise EnvelopeError("object is too short to hold a header")
    magic, key_id, nonce, chunk_size = HEADER.unpack_from(data)
    if magic != MAGIC:
        raise EnvelopeError("object does not start with the Strongroom header")
    if chunk_size < 1:
        raise EnvelopeError("object header has an invalid chunk size")
    return Header(key_id.hex(), nonce, chunk_size)


def parse_footer(data: bytes, object_size: int) -> int:
    """Return the offset of the metadata frame from the last bytes of an object."""
    if len(data) < FOOTER.size:
        raise EnvelopeError("object is too short to hold a footer")
    offset, magic = FOOTER.unpack_from(data, len(data) - FOOTER.size)
    if magic != FOOTER_MAGIC:
        raise EnvelopeError("object is truncated (no footer)")
    if not HEADER.size <= offset < object_size - FOOTER.size:
        raise EnvelopeError("object footer points outside the object")
    return offset


def max_frame_bytes(chunk_size: int) -> int:
    """Largest frame (token) a writer with this chunk size can produce."""
    return max(chunk_size, MAX_META_BYTES) + CONTEXT.size + FERNET_OVERHEAD + 16


def seal_frame(fernet: RawFernet, nonce: bytes, kind: int, index: int, payload: bytes) -> bytes:
    """Encrypt one frame and return it with its length prefix."""
    token = fernet.encrypt(CONTEXT.pack(nonce, kind, index) + payload)
    return FRAME_LENGTH.pack(len(token)) + token


def open_frame(fernet: RawFernet, token: bytes, nonce: bytes, kind: int, index: int) -> bytes:
    """Authenticate and decrypt one frame, checking that it is the expected frame of this object."""
    try:
        plaintext = fernet.decrypt(token)
    except InvalidToken:
        raise EnvelopeError(f"frame {index} failed authentication (tampered, or encrypted with another key)") from None
    if len(plaintext) < CONTEXT.size:
        raise EnvelopeError(f"frame {index} is malformed")
    got_nonce, got_kind, got_index = CONTEXT.unpack_from(plaintext)
    if got_nonce != nonce:
        raise EnvelopeError(f"frame {index} belongs to another object (spliced)")
    if got_kind != kind or got_index != index:
        raise EnvelopeError(f"frame {index} is out of place (frames reordered, dropped or truncated)")
    return plaintext[CONTEXT.size:]


class EncryptingReader:
    """A read-only stream producing the encrypted object for a plaintext source.

    The plaintext SHA-256 and size are computed on the way through and written into
    the metadata frame at the end, so the source is read exactly once.
    """

    def __init__(
        self,
        source: BinaryIO,
        fernet: RawFernet,
        header: Header,
        meta: dict[str, object],
    ) -> None:
        self._source = source
        self._fernet = fernet
        self._header = header
        self._meta = dict(meta)
        self._buffer = bytearray(header.pack())
        self._produced = 0
        self._index = 0
        self._finished = False
        self._hash = hashlib.sha256()
        self.size = 0

    @property
    def sha256(self) -> str:
        return self._hash.hexdigest()

    @property
    def chunks(self) -> int:
        return self._index

    @property
    def stored_size(self) -> int:
        """Bytes produced so far (the object size once the stream is exhausted)."""
        return self._produced

    @property
    def meta(self) -> dict[str, object]:
        """The metadata written into the object (complete once the stream is exhausted)."""
        return dict(self._meta)

    def read(self, size: int = -1) -> bytes:
        while not self._finished and (size < 0 or len(self._buffer) < size):
            self._produce()
        if size < 0 or size >= len(self._buffer):
            out = bytes(self._buffer)
            self._buffer.clear()
        else:
            with memoryview(self._buffer) as view:
                out = bytes(view[:size])
            del self._buffer[:size]
        self._produced += len(out)
        return out

    def _produce(self) -> None:
        try:
            chunk = self._source.read(self._header.chunk_size)
        except OSError as exc:
            raise SourceReadError(exc.strerror or str(exc)) from None
        if chunk:
            self._hash.update(chunk)
            self.size += len(chunk)
            self._buffer += seal_frame(self._fernet, self._header.nonce, KIND_DATA, self._index, chunk)
            self._index += 1
            return
        self._meta.update(size=self.size, sha256=self.sha256, chunks=self._index)
        meta_offset = self._produced + len(self._buffer)
        payload = json.dumps(self._meta, ensure_ascii=False, sort_keys=True).encode()
        self._buffer += seal_frame(self._fernet, self._header.nonce, KIND_META, self._index, payload)
        self._buffer += FOOTER.pack(meta_offset, FOOTER_MAGIC)
        self._finished = True


def open_meta(fernet: RawFernet, header: Header, tail: bytes) -> dict[str, object]:
    """Decrypt the metadata frame from the object's tail (metadata frame plus footer)."""
    if len(tail) < FRAME_LENGTH.size + FOOTER.size:
        raise EnvelopeError("object tail is too short")
    (length,) = FRAME_LENGTH.unpack_from(tail)
    if FRAME_LENGTH.size + length + FOOTER.size != len(tail):
        raise EnvelopeError("metadata frame length does not match the object")
    token = tail[FRAME_LENGTH.size:FRAME_LENGTH.size + length]
    try:
        plaintext = fernet.decrypt(token)
    except InvalidToken:
        raise EnvelopeError("metadata failed authentication (tampered, or encrypted with another key)") from None
    if len(plaintext) < CONTEXT.size:
        raise EnvelopeError("metadata frame is malformed")
    got_nonce, got_kind, got_index = CONTEXT.unpack_from(plaintext)
    if got_nonce != header.nonce or got_kind != KIND_META:
        raise EnvelopeError("metadata frame belongs to another object (spliced)")
    try:
        meta = json.loads(plaintext[CONTEXT.size:])
    except ValueError:
        raise EnvelopeError("metadata frame is not valid JSON") from None
    if not isinstance(meta, dict) or meta.get("chunks") != got_index:
        raise EnvelopeError("metadata frame is out of place")
    return meta


def iter_frames(stream: Iterable[bytes], max_frame: int) -> Iterator[bytes]:
    """Split a byte stream of length-prefixed frames into tokens."""
    buffer = bytearray()
    for block in stream:
        buffer += block
        start = 0
        while len(buffer) - start >= FRAME_LENGTH.size:
            (length,) = FRAME_LENGTH.unpack_from(buffer, start)
            if length > max_frame:
                raise EnvelopeError("frame length is implausible (corrupted object)")
            end = start + FRAME_LENGTH.size + length
            if end > len(buffer):
                break
            yield bytes(buffer[start + FRAME_LENGTH.size:end])
            start = end
        del buffer[:start]
    if buffer:
        raise EnvelopeError("object ends inside a frame (truncated)")


def decrypt_data(
    fernet: RawFernet,
    header: Header,
    meta: dict[str, object],
    frames: Iterable[bytes],
) -> Iterator[bytes]:
    """Yield the plaintext chunks of the data frames, then check count, size and SHA-256."""
    digest = hashlib.sha256()
    size = 0
    index = 0
    expected_chunks = meta["chunks"]
    for token in frames:
        if index >= expected_chunks:  # type: ignore[operator]
            raise EnvelopeError("object has more data frames than its metadata lists")
        chunk = open_frame(fernet, token, header.nonce, KIND_DATA, index)
        digest.update(chunk)
        size += len(chunk)
        index += 1
        yield chunk
    if index != expected_chunks:
        raise EnvelopeError(f"object has {index} data frames, its metadata lists {expected_chunks} (truncated)")
    if size != meta.get("size") or digest.hexdigest() != meta.get("sha256"):
        raise EnvelopeError("plaintext size or SHA-256 does not match the object's metadata")
