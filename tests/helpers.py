"""Helpers shared by the integration tests."""

from __future__ import annotations

import io
import os
from pathlib import Path

from archive.filing import Filed, file_record
from archive.service import Archive
from catalog.schema import Record, Version
from config.settings import Settings
from storage.embedded import EmbeddedServer


def put_bytes(archive: Archive, data: bytes, record_type: str = "contract", **kwargs: object) -> Filed:
    return file_record(
        archive, io.BytesIO(data), record_type=record_type, year=int(kwargs.pop("year", 2026)),  # type: ignore[call-overload]
        actor=str(kwargs.pop("actor", "tester")), **kwargs,  # type: ignore[arg-type]
    )


def raw_object(archive: Archive, name: str, version: int) -> tuple[Version, bytes]:
    """The catalog row and the exact stored bytes of one version."""
    with archive.catalog.read() as session:
        row = session.query(Version).join(Record).filter(Record.name == name, Version.version == version).one()
    response = archive.store.client.get_object(archive.store.bucket, row.object_key, version_id=row.s3_version_id)
    try:
        return row, response.read()
    finally:
        response.close()
        response.release_conn()


def replace_stored_bytes(archive: Archive, name: str, version: int, data: bytes) -> None:
    """Make the object version the catalog points at hold ``data``.

    S3 versions are immutable, so this stores ``data`` as a new object version and
    repoints the catalog at it: exactly what a reader sees if the stored bytes of
    that version were altered on the storage server.
    """
    with archive.catalog.write() as session:
        row = session.query(Version).join(Record).filter(Record.name == name, Version.version == version).one()
        result = archive.store.client.put_object(archive.store.bucket, row.object_key, io.BytesIO(data), len(data))
        row.s3_version_id = result.version_id
        row.stored_size = len(data)


def all_object_bytes(archive: Archive) -> list[tuple[str, bytes, dict[str, str]]]:
    """Every version of every object in the bucket, with its S3 metadata headers."""
    client, bucket = archive.store.client, archive.store.bucket
    out = []
    for obj in client.list_objects(bucket, recursive=True, include_version=True):
        if obj.is_delete_marker:
            continue
        response = client.get_object(bucket, obj.object_name, version_id=obj.version_id)
        try:
            out.append((obj.object_name, response.read(), dict(response.headers)))
        finally:
            response.close()
            response.release_conn()
    return out


def write_file(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def flip_byte_in_volume(server: Settings, bucket: str, stored: bytes) -> Path:
    """Flip one byte of ``stored`` (an object's bytes, or a part of them) where SeaweedFS keeps it on disk.

    This is what a failing disk does.

    Every bucket of the suite's SeaweedFS is a collection with a volume of its own
    (``BUCKET_N.dat`` in its data directory), so only that bucket is damaged. The bytes
    are found by content (a slice from the middle of the stored object, unique since it
    is ciphertext or random), and must be found exactly once.
    """
    needle = stored[len(stored) // 2: len(stored) // 2 + 64]
    found = []
    for path in sorted(EmbeddedServer(server).data_dir.glob(f"{bucket}_*.dat")):
        content = path.read_bytes()
        at = content.find(needle)
        while at >= 0:
            found.append((path, at))
            at = content.find(needle, at + 1)
    assert len(found) == 1, f"the object's bytes are in {len(found)} places of {bucket}'s volumes"
    path, at = found[0]
    with open(path, "r+b") as volume:
        volume.seek(at + 32)
        byte = volume.read(1)
        volume.seek(at + 32)
        volume.write(bytes([byte[0] ^ 0x01]))
        volume.flush()
        os.fsync(volume.fileno())
    return path
