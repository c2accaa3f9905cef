"""Nothing leaks into the bucket, and tampering is detected, never returned as data."""

from __future__ import annotations

import base64
import io
import struct
from pathlib import Path

import pytest

from archive.filing import file_version
from archive.reading import read_version, resolve
from encryption.envelope import FOOTER, FOOTER_MAGIC, HEADER
from errors import IntegrityError
from tests.conftest import cli
from tests.helpers import all_object_bytes, put_bytes, raw_object, replace_stored_bytes

MARKER_TEXT = "PLAINTEXT-MARKER-机密合同-7f3a"
MARKER_TITLE = "TITLE-MARKER-客户名单-91bc"


def _small_chunks(home: Path) -> None:
    config = home / "strongroom.toml"
    config.write_text(config.read_text().replace("chunk_size_kb = 1024", "chunk_size_kb = 1"))


def _frames(data: bytes) -> tuple[list[tuple[int, int]], int]:
    """(start, end) of every data frame, and the metadata frame offset."""
    (meta_offset, _) = FOOTER.unpack_from(data, len(data) - FOOTER.size)
    spans, pos = [], HEADER.size
    while pos < meta_offset:
        (length,) = struct.unpack_from("<I", data, pos)
        spans.append((pos, pos + 4 + length))
        pos += 4 + length
    return spans, meta_offset


def test_no_plaintext_reaches_the_bucket(home: Path, tmp_path: Path):
    from archive.service import Archive

    doc = tmp_path / "客户-contract-MARKERFILE.txt"
    doc.write_text((MARKER_TEXT + "\n") * 5000, encoding="utf-8")
    assert cli(home, "put", str(doc), "--type", "contract", "--title", MARKER_TITLE, "--as", "uploader-marker-x").exit_code == 0
    assert cli(home, "put", str(doc), "--to", "2026-0001-contract", "--comment", "COMMENT-MARKER-q").exit_code == 0
    archive = Archive.open(home)
    objects = all_object_bytes(archive)
    assert len(objects) >= 2
    markers = [
        MARKER_TEXT, MARKER_TITLE, "MARKERFILE", "uploader-marker-x", "COMMENT-MARKER-q",
        base64.b64encode(MARKER_TEXT.encode()).decode()[:16],
    ]
    secrets = [entry.key for entry in archive.keyring.entries]
    for key, data, headers in objects:
        blob = data + repr(headers).encode()
        for marker in markers:
            assert marker.encode() not in blob, f"{marker!r} found in {key}"
        for secret in secrets:
            assert secret not in blob and base64.urlsafe_b64decode(secret) not in blob
    archive.close()


def test_flipped_byte_is_an_integrity_error(home: Path, archive, tmp_path: Path):
    name = put_bytes(archive, b"genuine contract text " * 100).name
    _, data = raw_object(archive, name, 1)
    spans, _ = _frames(data)
    start, end = spans[0]
    tampered = bytearray(data)
    tampered[(start + end) // 2] ^= 0x01
    replace_stored_bytes(archive, name, 1, bytes(tampered))
    out = tmp_path / "out.bin"
    result = cli(home, "get", name, "-o", str(out))
    assert result.exit_code == 1
    assert f"integrity error in {name} v1" in result.output
    assert "Traceback" not in result.output
    assert not out.exists(), "nothing is written when the check fails"


def test_swapped_chunks_are_detected(home: Path, archive):
    _small_chunks(home)
    from archive.service import Archive

    small = Archive.open(home)
    name = put_bytes(small, bytes(range(256)) * 20).name
    _, data = raw_object(small, name, 1)
    spans, _ = _frames(data)
    assert len(spans) >= 4
    (a0, a1), (b0, b1) = spans[1], spans[2]
    swapped = data[:a0] + data[b0:b1] + data[a0:a1] + data[b1:]
    replace_stored_bytes(small, name, 1, swapped)
    with pytest.raises(IntegrityError, match="out of place"):
        b"".join(read_version(small, resolve(small, name)))
    small.close()


def test_truncated_object_is_detected(home: Path):
    _small_chunks(home)
    from archive.service import Archive

    small = Archive.open(home)
    name = put_bytes(small, b"x" * 5000).name
    _, data = raw_object(small, name, 1)
    spans, meta_offset = _frames(data)
    last_start, last_end = spans[-1]
    # Drop the last data frame and repoint the footer, as a careful attacker would.
    cut = data[:last_start] + data[last_end:meta_offset] + data[meta_offset:-FOOTER.size]
    cut += FOOTER.pack(meta_offset - (last_end - last_start), FOOTER_MAGIC)
    replace_stored_bytes(small, name, 1, cut)
    with pytest.raises(IntegrityError):
        b"".join(read_version(small, resolve(small, name)))
    replace_stored_bytes(small, name, 1, data[: len(data) // 2])
    with pytest.raises(IntegrityError):
        b"".join(read_version(small, resolve(small, name)))
    small.close()


def test_object_of_another_record_or_version_is_refused(archive):
    first = put_bytes(archive, b"record one").name
    second = put_bytes(archive, b"record two").name
    file_version(archive, first, io.BytesIO(b"record one, v2"), actor="tester")
    _, other_record = raw_object(archive, second, 1)
    _, other_version = raw_object(archive, first, 1)
    replace_stored_bytes(archive, first, 2, other_version)
    with pytest.raises(IntegrityError, match="not this version"):
        b"".join(read_version(archive, resolve(archive, first, 2)))
    replace_stored_bytes(archive, first, 2, other_record)
    with pytest.raises(IntegrityError, match="not this version"):
        b"".join(read_version(archive, resolve(archive, first, 2)))


def test_verify_reports_each_problem(home: Path, archive):
    good = put_bytes(archive, b"fine").name
    bad = put_bytes(archive, b"will be damaged").name
    _, data = raw_object(archive, bad, 1)
    replace_stored_bytes(archive, bad, 1, data[:-1] + bytes([data[-1] ^ 0xFF]))
    result = cli(home, "verify")
    assert result.exit_code == 1
    assert f"integrity error in {bad} v1" in result.output
    assert good not in result.output
    assert ("checked 2 versions and 0 number markers: ok 1, damaged 1, unreadable 0, missing 0, foreign 0"
            in result.output)
    assert cli(home, "verify", good).exit_code == 0
