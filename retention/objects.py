"""Every S3 object version that belongs to one record, whatever the catalog points at."""

from __future__ import annotations

from naming import ARCHIVE_PREFIX, current_key, parse_name
from storage.s3 import ObjectStore, StoredVersion


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
