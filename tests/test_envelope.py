"""Unit tests of the encrypted object format (in memory, no S3)."""

from __future__ import annotations

import hashlib
import io
import os
import struct
from collections.abc import Iterable
from dataclasses import dataclass

import pytest
from cryptography.fernet import Fernet
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from encryption.envelope import (
    CONTEXT,
    FOOTER,
    FOOTER_MAGIC,
    FRAME_LENGTH,
    HEADER,
    KIND_DATA,
    KIND_META,
    MAGIC,
    EncryptingReader,
    EnvelopeError,
    Header,
    decrypt_data,
    iter_frames,
    max_frame_bytes,
    open_frame,
    open_meta,
    parse_footer,
    parse_header,
    seal_frame,
)
from encryption.raw_fernet import RawFernet

CHUNK = 64
KEY = Fernet.generate_key()
FERNET = RawFernet(KEY)
KEY_ID = "0123456789abcdef"
META = {"record": "2026-0001-contract", "version": 1}


def encrypt(data: bytes, *, chunk_size: int = CHUNK, nonce: bytes | None = None, fernet: RawFernet = FERNET,
            meta: dict[str, object] | None = None, read_size: int = -1) -> tuple[bytes, EncryptingReader]:
    header = Header(KEY_ID, nonce if nonce is not None else os.urandom(16), chunk_size)
    reader = EncryptingReader(io.BytesIO(data), fernet, header, dict(META if meta is None else meta))
    if read_size < 0:
        blob = reader.read()
    else:
        parts = []
        while part := reader.read(read_size):
            parts.append(part)
        blob = b"".join(parts)
    assert reader.read() == b""
    return blob, reader


@dataclass
class Opened:
    header: Header
    meta: dict[str, object]
    meta_offset: int


def open_object(blob: bytes, fernet: RawFernet = FERNET) -> Opened:
    """What archive.objects.open_object does, on an in-memory object."""
    header = parse_header(blob[: HEADER.size])
    meta_offset = parse_footer(blob[-FOOTER.size:], len(blob))
    meta = open_meta(fernet, header, blob[meta_offset:])
    return Opened(header, meta, meta_offset)


def decrypt(blob: bytes, fernet: RawFernet = FERNET, block: int | None = None) -> tuple[bytes, dict[str, object]]:
    """Full read path: header, footer, metadata, frames, data."""
    opened = open_object(blob, fernet)
    body = blob[HEADER.size: opened.meta_offset]
    blocks: Iterable[bytes]
    if block is None:
        blocks = [body]
    else:
        blocks = [body[i: i + block] for i in range(0, len(body), block)]
    frames = iter_frames(blocks, max_frame_bytes(opened.header.chunk_size))
    plaintext = b"".join(decrypt_data(fernet, opened.header, opened.meta, frames))
    return plaintext, opened.meta


def frame_spans(blob: bytes) -> list[tuple[int, int]]:
    """(start, end) offsets of every frame (length prefix included), data frames then metadata frame."""
    spans = []
    pos = HEADER.size
    end_of_frames = len(blob) - FOOTER.size
    while pos < end_of_frames:
        (length,) = FRAME_LENGTH.unpack_from(blob, pos)
        spans.append((pos, pos + FRAME_LENGTH.size + length))
        pos += FRAME_LENGTH.size + length
    assert pos == end_of_frames
    return spans


def with_footer(body_and_meta: bytes, meta_offset: int) -> bytes:
    return body_and_meta + FOOTER.pack(meta_offset, FOOTER_MAGIC)


def consume(blob: bytes, fernet: RawFernet = FERNET) -> None:
    decrypt(blob, fernet)


# --- round trips --------------------------------------------------------------------------


@pytest.mark.parametrize("size", [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK, 5 * CHUNK + 17])
def test_round_trip_sizes(size: int) -> None:
    data = os.urandom(size)
    blob, reader = encrypt(data)
    plaintext, meta = decrypt(blob)
    assert plaintext == data
    expected_chunks = -(-size // CHUNK)
    assert meta["size"] == size
    assert meta["sha256"] == hashlib.sha256(data).hexdigest()
    assert meta["chunks"] == expected_chunks
    assert meta["record"] == "2026-0001-contract" and meta["version"] == 1
    assert reader.size == size
    assert reader.sha256 == hashlib.sha256(data).hexdigest()
    assert reader.chunks == expected_chunks
    assert reader.stored_size == len(blob)
    assert reader.meta == meta
    assert len(frame_spans(blob)) == expected_chunks + 1


def test_plaintext_does_not_appear_in_object() -> None:
    data = b"CONFIDENTIAL-BOARD-MINUTES " * 20
    blob, _ = encrypt(data, meta={"record": "2026-0042-minutes", "version": 3})
    assert b"CONFIDENTIAL" not in blob
    assert b"2026-0042-minutes" not in blob
    assert hashlib.sha256(data).hexdigest().encode() not in blob


def test_header_layout() -> None:
    nonce = bytes(range(16))
    blob, _ = encrypt(b"x" * 100, nonce=nonce, chunk_size=77)
    assert blob.startswith(MAGIC)
    header = parse_header(blob)
    assert header == Header(KEY_ID, nonce, 77)
    assert header.pack() == blob[: HEADER.size]
    assert blob.endswith(FOOTER_MAGIC)


def test_meta_offset_points_at_metadata_frame() -> None:
    blob, _ = encrypt(os.urandom(3 * CHUNK + 5))
    spans = frame_spans(blob)
    assert parse_footer(blob[-FOOTER.size:], len(blob)) == spans[-1][0]


def test_same_plaintext_encrypts_differently() -> None:
    data = b"a" * 200
    nonce = os.urandom(16)
    a, _ = encrypt(data, nonce=nonce)
    b, _ = encrypt(data, nonce=nonce)
    assert a != b
    assert decrypt(a)[0] == decrypt(b)[0] == data


def test_meta_with_unicode_round_trips() -> None:
    blob, _ = encrypt(b"data", meta={"title": "Protokoll über Ärger — 契約"})
    assert decrypt(blob)[1]["title"] == "Protokoll über Ärger — 契約"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=st.binary(max_size=700),
    chunk_size=st.integers(min_value=1, max_value=200),
    read_sizes=st.lists(st.integers(min_value=0, max_value=300), min_size=1, max_size=20),
    block=st.integers(min_value=1, max_value=500),
)
def test_round_trip_any_read_sizes(data: bytes, chunk_size: int, read_sizes: list[int], block: int) -> None:
    header = Header(KEY_ID, os.urandom(16), chunk_size)
    reader = EncryptingReader(io.BytesIO(data), FERNET, header, {})
    out = bytearray()
    i = 0
    # Cycle through the drawn read sizes (0 included) until the stream is exhausted.
    empty_in_a_row = 0
    while True:
        n = read_sizes[i % len(read_sizes)]
        i += 1
        piece = reader.read(n)
        assert len(piece) <= n
        out += piece
        assert reader.stored_size == len(out)
        if n > 0 and len(piece) < n:
            break  # short read only at the end of the stream
        if n == 0:
            empty_in_a_row += 1
            if empty_in_a_row > len(read_sizes):
                out += reader.read()
                break
        else:
            empty_in_a_row = 0
    assert reader.read() == b""
    assert reader.read(10) == b""
    blob = bytes(out)
    assert reader.stored_size == len(blob)
    plaintext, meta = decrypt(blob, block=block)
    assert plaintext == data
    assert meta["size"] == len(data)
    assert meta["chunks"] == -(-len(data) // chunk_size)
    assert meta["sha256"] == hashlib.sha256(data).hexdigest()


@settings(max_examples=40, deadline=None)
@given(data=st.binary(max_size=500), n=st.integers(min_value=1, max_value=400))
def test_fixed_read_size_equals_read_all(data: bytes, n: int) -> None:
    nonce = os.urandom(16)
    header = Header(KEY_ID, nonce, CHUNK)
    whole, _ = encrypt(data, nonce=nonce)
    piecewise, reader = encrypt(data, nonce=nonce, read_size=n)
    # Fernet tokens are randomised (IV, timestamp), but their lengths are not.
    assert len(piecewise) == len(whole)
    assert [e - s for s, e in frame_spans(piecewise)] == [e - s for s, e in frame_spans(whole)]
    assert piecewise[: HEADER.size] == header.pack()
    assert decrypt(piecewise)[0] == data
    assert reader.stored_size == len(piecewise)


def test_read_never_returns_empty_before_end() -> None:
    """A reader that returns b"" for read(n > 0) signals EOF to upload clients."""
    data = os.urandom(10 * CHUNK)
    header = Header(KEY_ID, os.urandom(16), CHUNK)
    reader = EncryptingReader(io.BytesIO(data), FERNET, header, {})
    out = bytearray()
    while piece := reader.read(1):
        assert len(piece) == 1
        out += piece
    assert decrypt(bytes(out))[0] == data


# --- tampering ----------------------------------------------------------------------------


def sample(chunks: int = 4, extra: int = 0, nonce: bytes | None = None) -> tuple[bytes, bytes]:
    data = os.urandom(chunks * CHUNK + extra)
    blob, _ = encrypt(data, nonce=nonce)
    return data, blob


@pytest.mark.parametrize("offset_in_token", [0, 1, 9, 30, 60, -1, -20, -33])
def test_flipped_byte_in_data_frame(offset_in_token: int) -> None:
    _, blob = sample()
    start, end = frame_spans(blob)[1]
    token_start = start + FRAME_LENGTH.size
    pos = token_start + offset_in_token if offset_in_token >= 0 else end + offset_in_token
    tampered = bytearray(blob)
    tampered[pos] ^= 0x01
    with pytest.raises(EnvelopeError):
        consume(bytes(tampered))


def test_flipped_byte_anywhere_is_detected() -> None:
    _, blob = sample(chunks=2, extra=3)
    for pos in range(HEADER.size, len(blob), 7):
        tampered = bytearray(blob)
        tampered[pos] ^= 0x80
        with pytest.raises(EnvelopeError):
            consume(bytes(tampered))


def test_flipped_byte_in_metadata_frame() -> None:
    _, blob = sample()
    start, end = frame_spans(blob)[-1]
    tampered = bytearray(blob)
    tampered[(start + end) // 2] ^= 0x04
    with pytest.raises(EnvelopeError, match="metadata"):
        open_object(bytes(tampered))


def test_swapped_data_frames() -> None:
    _, blob = sample(chunks=4)
    spans = frame_spans(blob)
    (a0, a1), (b0, b1) = spans[1], spans[2]
    assert a1 - a0 == b1 - b0  # full chunks: same frame length, offsets unchanged
    tampered = blob[:a0] + blob[b0:b1] + blob[a0:a1] + blob[b1:]
    assert len(tampered) == len(blob)
    open_object(tampered)  # header and metadata are untouched
    with pytest.raises(EnvelopeError, match="out of place"):
        consume(tampered)


def test_duplicated_data_frame() -> None:
    _, blob = sample(chunks=3)
    spans = frame_spans(blob)
    (a0, a1), (b0, b1) = spans[0], spans[1]
    tampered = blob[:b0] + blob[a0:a1] + blob[b1:]
    with pytest.raises(EnvelopeError):
        consume(tampered)


@pytest.mark.parametrize("extra", [0, 9])
def test_dropped_last_data_frame_with_fixed_footer(extra: int) -> None:
    data, blob = sample(chunks=3, extra=extra)
    spans = frame_spans(blob)
    last_start, last_end = spans[-2]
    meta_start, meta_end = spans[-1]
    dropped = last_end - last_start
    body = blob[:last_start] + blob[meta_start:meta_end]
    tampered = with_footer(body, meta_start - dropped)
    # Footer, header and metadata all check out; only the frame count can catch it.
    opened = open_object(tampered)
    assert opened.meta["chunks"] == len(spans) - 1
    chunks = []
    with pytest.raises(EnvelopeError, match="data frames"):
        for chunk in decrypt_data(
            FERNET,
            opened.header,
            opened.meta,
            iter_frames([tampered[HEADER.size: opened.meta_offset]], max_frame_bytes(CHUNK)),
        ):
            chunks.append(chunk)
    assert b"".join(chunks) == data[: len(b"".join(chunks))]


def test_dropped_first_data_frame_with_fixed_footer() -> None:
    _, blob = sample(chunks=3)
    spans = frame_spans(blob)
    first_start, first_end = spans[0]
    meta_start = spans[-1][0]
    dropped = first_end - first_start
    tampered = with_footer(blob[:first_start] + blob[first_end:-FOOTER.size], meta_start - dropped)
    with pytest.raises(EnvelopeError):
        consume(tampered)


def test_extra_data_frame_before_metadata() -> None:
    _, blob = sample(chunks=2)
    spans = frame_spans(blob)
    meta_start, meta_end = spans[-1]
    header = parse_header(blob)
    extra = seal_frame(FERNET, header.nonce, KIND_DATA, 99, b"evil")
    tampered = with_footer(blob[:meta_start] + extra + blob[meta_start:meta_end], meta_start + len(extra))
    with pytest.raises(EnvelopeError):
        consume(tampered)


def test_extra_data_frame_in_sequence_is_not_yielded() -> None:
    """A correctly indexed extra data frame (index == chunks) is refused before it is yielded."""
    _, blob = sample(chunks=2)
    spans = frame_spans(blob)
    meta_start, meta_end = spans[-1]
    header = parse_header(blob)
    extra = seal_frame(FERNET, header.nonce, KIND_DATA, 2, b"EVIL")
    tampered = with_footer(blob[:meta_start] + extra + blob[meta_start:meta_end], meta_start + len(extra))
    opened = open_object(tampered)
    frames = iter_frames([tampered[HEADER.size: opened.meta_offset]], max_frame_bytes(CHUNK))
    yielded = []
    with pytest.raises(EnvelopeError, match="more data frames"):
        for chunk in decrypt_data(FERNET, opened.header, opened.meta, frames):
            yielded.append(chunk)
    assert len(yielded) == 2
    assert b"EVIL" not in b"".join(yielded)


@pytest.mark.parametrize("field", ["size", "sha256"])
def test_decrypt_data_checks_size_and_sha256(field: str) -> None:
    data, blob = sample(chunks=2, extra=1)
    opened = open_object(blob)
    meta = dict(opened.meta)
    meta[field] = len(data) + 1 if field == "size" else hashlib.sha256(b"other").hexdigest()
    frames = iter_frames([blob[HEADER.size: opened.meta_offset]], max_frame_bytes(CHUNK))
    with pytest.raises(EnvelopeError, match="SHA-256"):
        list(decrypt_data(FERNET, opened.header, meta, frames))


@pytest.mark.parametrize("cut", [1, FOOTER.size - 1, FOOTER.size, FOOTER.size + 1, 50])
def test_truncated_object(cut: int) -> None:
    _, blob = sample()
    with pytest.raises(EnvelopeError):
        consume(blob[:-cut])


def test_truncated_to_almost_nothing() -> None:
    _, blob = sample()
    for size in (0, 1, HEADER.size - 1, HEADER.size, HEADER.size + FOOTER.size):
        with pytest.raises(EnvelopeError):
            consume(blob[:size])


def test_truncated_inside_data_frame_stream() -> None:
    _, blob = sample()
    opened = open_object(blob)
    body = blob[HEADER.size: opened.meta_offset]
    frames = iter_frames([body[:-5]], max_frame_bytes(CHUNK))
    with pytest.raises(EnvelopeError, match="truncated"):
        list(decrypt_data(FERNET, opened.header, opened.meta, frames))


def test_spliced_frame_from_other_object_same_key() -> None:
    _, blob = sample(chunks=3)
    _, other = sample(chunks=3)
    assert parse_header(blob).nonce != parse_header(other).nonce
    a0, a1 = frame_spans(blob)[1]
    b0, b1 = frame_spans(other)[1]
    assert a1 - a0 == b1 - b0
    tampered = blob[:a0] + other[b0:b1] + blob[a1:]
    open_object(tampered)
    with pytest.raises(EnvelopeError, match="another object"):
        consume(tampered)


def test_whole_body_from_other_object_same_key() -> None:
    """Data frames of another object under this object's header and metadata."""
    _, blob = sample(chunks=2)
    _, other = sample(chunks=2)
    spans, other_spans = frame_spans(blob), frame_spans(other)
    assert spans[-1][0] == other_spans[-1][0]
    tampered = blob[: HEADER.size] + other[HEADER.size: other_spans[-1][0]] + blob[spans[-1][0]:]
    with pytest.raises(EnvelopeError):
        consume(tampered)


def test_metadata_frame_from_other_object() -> None:
    _, blob = sample(chunks=2)
    _, other = sample(chunks=2)
    meta_start = frame_spans(blob)[-1][0]
    other_meta_start, other_meta_end = frame_spans(other)[-1]
    tampered = with_footer(blob[:meta_start] + other[other_meta_start:other_meta_end], meta_start)
    with pytest.raises(EnvelopeError, match="another object"):
        open_object(tampered)


def test_object_with_other_header_nonce() -> None:
    _, blob = sample(chunks=2)
    header = parse_header(blob)
    forged = Header(header.key_id, os.urandom(16), header.chunk_size).pack()
    with pytest.raises(EnvelopeError):
        consume(forged + blob[HEADER.size:])


def test_wrong_key() -> None:
    _, blob = sample(chunks=2)
    other = RawFernet(Fernet.generate_key())
    with pytest.raises(EnvelopeError, match="another key"):
        open_object(blob, other)
    opened = open_object(blob)
    frames = iter_frames([blob[HEADER.size: opened.meta_offset]], max_frame_bytes(CHUNK))
    with pytest.raises(EnvelopeError, match="another key"):
        list(decrypt_data(other, opened.header, opened.meta, frames))


def test_errors_do_not_leak_key() -> None:
    _, blob = sample(chunks=1)
    tampered = bytearray(blob)
    tampered[HEADER.size + 20] ^= 1
    with pytest.raises(EnvelopeError) as info:
        consume(bytes(tampered))
    assert KEY.decode() not in str(info.value)


@pytest.mark.parametrize("magic", [b"XXXXXXXX", b"SRMOBJ02", b"srmobj01", b"\x00" * 8])
def test_garbage_header_magic(magic: bytes) -> None:
    _, blob = sample(chunks=1)
    with pytest.raises(EnvelopeError, match="header"):
        parse_header(magic + blob[len(MAGIC):])


def test_header_too_short_and_zero_chunk_size() -> None:
    with pytest.raises(EnvelopeError):
        parse_header(MAGIC)
    with pytest.raises(EnvelopeError, match="chunk size"):
        parse_header(HEADER.pack(MAGIC, bytes(8), bytes(16), 0))


def test_footer_checks() -> None:
    _, blob = sample(chunks=1)
    size = len(blob)
    with pytest.raises(EnvelopeError, match="too short"):
        parse_footer(b"1234", size)
    with pytest.raises(EnvelopeError, match="truncated"):
        parse_footer(struct.pack("<Q", HEADER.size) + b"SRMEND02", size)
    for bad_offset in (0, HEADER.size - 1, size - FOOTER.size, size, 2**63):
        with pytest.raises(EnvelopeError, match="outside"):
            parse_footer(FOOTER.pack(bad_offset, FOOTER_MAGIC), size)


def test_open_meta_rejects_malformed_tail() -> None:
    _, blob = sample(chunks=1)
    opened = open_object(blob)
    tail = blob[opened.meta_offset:]
    with pytest.raises(EnvelopeError, match="too short"):
        open_meta(FERNET, opened.header, tail[:5])
    with pytest.raises(EnvelopeError, match="length"):
        open_meta(FERNET, opened.header, tail + b"x")
    with pytest.raises(EnvelopeError, match="length"):
        open_meta(FERNET, opened.header, tail[:-1])


def test_data_frame_as_metadata_is_rejected() -> None:
    _, blob = sample(chunks=2)
    header = parse_header(blob)
    start, end = frame_spans(blob)[0]
    tail = blob[start:end] + FOOTER.pack(start, FOOTER_MAGIC)
    with pytest.raises(EnvelopeError):
        open_meta(FERNET, header, tail)


def test_metadata_frame_with_wrong_index_is_rejected() -> None:
    header = Header(KEY_ID, os.urandom(16), CHUNK)
    frame = seal_frame(FERNET, header.nonce, KIND_META, 3, b'{"chunks": 2, "size": 0, "sha256": ""}')
    with pytest.raises(EnvelopeError, match="out of place"):
        open_meta(FERNET, header, frame + FOOTER.pack(HEADER.size, FOOTER_MAGIC))
    frame = seal_frame(FERNET, header.nonce, KIND_META, 0, b"not json")
    with pytest.raises(EnvelopeError, match="JSON"):
        open_meta(FERNET, header, frame + FOOTER.pack(HEADER.size, FOOTER_MAGIC))


def test_open_frame_checks_context() -> None:
    nonce = os.urandom(16)
    frame = seal_frame(FERNET, nonce, KIND_DATA, 5, b"payload")
    token = frame[FRAME_LENGTH.size:]
    assert FRAME_LENGTH.unpack_from(frame)[0] == len(token)
    assert open_frame(FERNET, token, nonce, KIND_DATA, 5) == b"payload"
    with pytest.raises(EnvelopeError, match="out of place"):
        open_frame(FERNET, token, nonce, KIND_DATA, 4)
    with pytest.raises(EnvelopeError, match="out of place"):
        open_frame(FERNET, token, nonce, KIND_META, 5)
    with pytest.raises(EnvelopeError, match="another object"):
        open_frame(FERNET, token, os.urandom(16), KIND_DATA, 5)
    short = FERNET.encrypt(b"tiny")

    with pytest.raises(EnvelopeError, match="malformed"):
        open_frame(FERNET, short, nonce, KIND_DATA, 0)


def test_frame_size_within_max_frame_bytes() -> None:
    for chunk_size in (1, 64, 1 << 20, 4 << 20):
        frame = seal_frame(FERNET, bytes(16), KIND_DATA, 0, bytes(chunk_size))
        assert len(frame) - FRAME_LENGTH.size <= max_frame_bytes(chunk_size)
    meta = seal_frame(FERNET, bytes(16), KIND_META, 0, bytes(1 << 20))
    assert len(meta) - FRAME_LENGTH.size <= max_frame_bytes(1)
    assert CONTEXT.size == 25


# --- iter_frames --------------------------------------------------------------------------


def test_iter_frames_rejects_implausible_length() -> None:
    limit = max_frame_bytes(CHUNK)
    with pytest.raises(EnvelopeError, match="implausible"):
        list(iter_frames([FRAME_LENGTH.pack(limit + 1) + b"x" * 10], limit))
    with pytest.raises(EnvelopeError, match="implausible"):
        list(iter_frames([FRAME_LENGTH.pack(0xFFFFFFFF)], limit))
    # Detected before any payload arrives, not after buffering gigabytes.
    gen = iter_frames(iter([FRAME_LENGTH.pack(0xFFFFFFFF)] + [b"x" * 1000] * 1000), limit)
    with pytest.raises(EnvelopeError, match="implausible"):
        next(gen)


def test_iter_frames_accepts_length_at_limit() -> None:
    limit = 10
    frames = list(iter_frames([FRAME_LENGTH.pack(limit) + b"a" * limit], limit))
    assert frames == [b"a" * limit]


def test_iter_frames_corrupted_length_in_object() -> None:
    _, blob = sample(chunks=2)
    tampered = bytearray(blob)
    struct.pack_into("<I", tampered, HEADER.size, 0x7FFFFFFF)
    with pytest.raises(EnvelopeError):
        consume(bytes(tampered))


@settings(max_examples=60, deadline=None)
@given(
    payloads=st.lists(st.binary(max_size=50), max_size=8),
    cuts=st.lists(st.integers(min_value=0, max_value=500), max_size=10),
)
def test_iter_frames_any_block_boundaries(payloads: list[bytes], cuts: list[int]) -> None:
    stream = b"".join(FRAME_LENGTH.pack(len(p)) + p for p in payloads)
    points = sorted({c for c in cuts if c <= len(stream)} | {0, len(stream)})
    blocks = [stream[a:b] for a, b in zip(points, points[1:])]
    assert list(iter_frames(blocks, 100)) == payloads
    if stream:
        with pytest.raises(EnvelopeError, match="truncated"):
            list(iter_frames([stream[:-1]], 100))
