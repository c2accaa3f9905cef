"""What the index holds for each stored version, and how to bring the index in line with the catalog (pure).

One index document per stored version, keyed ``NAME@VERSION``. Only the catalog says which
version is current, so a new version changes two documents: the new one is added as current and
the previous one is re-stamped as archived from its own stored fields (no need to read it again).
:func:`plan` compares what the catalog says with what the index holds and lists the changes; the
same comparison serves a filing, the catch-up after a crash and the end of a rebuild.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from search.extract import Extracted

TEXT = "text"
METADATA = "metadata"


def key_of(name: str, version: int) -> str:
    return f"{name}@{version}"


@dataclass(frozen=True)
class VersionInfo:
    """A stored version as the catalog describes it (``ref`` is how to read it; opaque here)."""

    name: str
    type: str
    year: int
    title: str | None
    version: int
    current: bool
    filed_at: datetime
    filed_by: str
    filename: str | None
    size: int
    ref: Any = field(default=None, compare=False)

    @property
    def key(self) -> str:
        return key_of(self.name, self.version)


def document(info: VersionInfo, extracted: Extracted) -> dict[str, Any]:
    """The fields of the index document of one version."""
    return {
        "key": info.key,
        "name": info.name,
        "type": info.type,
        "year": info.year,
        "title": info.title or "",
        "body": extracted.text,
        "filename": info.filename or "",
        "uploader": info.filed_by,
        "filed": info.filed_at,
        "version": info.version,
        "current": info.current,
        "content": TEXT if extracted.has_text else METADATA,
        "note": extracted.note or "",
    }


def restamped(stored: Mapping[str, Any], current: bool) -> dict[str, Any]:
    """An index document again, from its stored fields, with a new current/archived flag."""
    return {**stored, "current": current}


@dataclass(frozen=True)
class Plan:
    add: list[VersionInfo]  # not in the index yet: their content must be read
    restamp: list[VersionInfo]  # in the index with the wrong current flag
    delete: list[str]  # keys in the index that the catalog does not have (any more)

    @property
    def empty(self) -> bool:
        return not (self.add or self.restamp or self.delete)


def plan(catalog: Iterable[VersionInfo], indexed: Mapping[str, bool]) -> Plan:
    """The changes that make the index (``key -> current``) hold exactly the catalog's versions."""
    add, restamp, wanted = [], [], set()
    for info in catalog:
        wanted.add(info.key)
        flag = indexed.get(info.key)
        if flag is None:
            add.append(info)
        elif flag != info.current:
            restamp.append(info)
    return Plan(add, restamp, sorted(key for key in indexed if key not in wanted))
