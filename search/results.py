"""Search results, index status and audit samples as plain data: what the API sends and both CLI backends return."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

RESTRICTED_NOTE = "restricted — request access"


@dataclass(frozen=True)
class SearchHit:
    """One hit. A restricted hit carries its name and type only (and says so); nothing else is filled in."""

    name: str
    type: str
    restricted: bool = False
    note: str | None = None
    version: int | None = None
    current: bool | None = None
    title: str | None = None
    filed: str | None = None
    score: float | None = None
    snippet: str | None = None
    highlights: list[tuple[int, int]] = field(default_factory=list)  # [start, end) offsets in ``snippet``
    indexed: str | None = None  # "text" or "metadata"

    @classmethod
    def restricted_hit(cls, name: str, record_type: str) -> SearchHit:
        return cls(name=name, type=record_type, restricted=True, note=RESTRICTED_NOTE)

    def as_dict(self) -> dict[str, Any]:
        if self.restricted:
            return {"name": self.name, "type": self.type, "restricted": True, "note": self.note}
        data = asdict(self)
        data["highlights"] = [list(span) for span in self.highlights]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SearchHit:
        spans = [(int(start), int(end)) for start, end in data.get("highlights") or []]
        return cls(**{**data, "highlights": spans})


@dataclass(frozen=True)
class SearchResults:
    """The hits, and what the actor is told about matching records they may not read (``search.restricted_hits``).

    ``restricted_count``: how many more records match that the actor may not read (``count``; None when
    not told). ``restricted_skipped``: such records were not searched at all, because the query is not
    plain words (``names`` and ``count``; see :func:`search.query.plain_words`).
    """

    query: str
    hits: list[SearchHit]
    restricted_count: int | None = None
    restricted_skipped: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {"query": self.query, "hits": [hit.as_dict() for hit in self.hits],
                "restricted_count": self.restricted_count, "restricted_skipped": self.restricted_skipped}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SearchResults:
        return cls(query=data["query"], hits=[SearchHit.from_dict(hit) for hit in data["hits"]],
                   restricted_count=data.get("restricted_count"),
                   restricted_skipped=bool(data.get("restricted_skipped")))


@dataclass(frozen=True)
class IndexStatus:
    """How a record's current version is indexed: ``text``, ``metadata`` (only) or ``missing`` (not yet)."""

    name: str
    version: int | None
    indexed: str
    note: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def describe(self) -> str:
        """One line for ``show``."""
        if self.indexed == "text":
            return "full text" + (f" ({self.note})" if self.note else "")
        if self.indexed == "metadata":
            return "metadata only" + (f": {self.note}" if self.note else "")
        return "not indexed yet ('strongroom search reindex' on the service host)"


@dataclass(frozen=True)
class SampleItem:
    name: str
    title: str | None
    filed_at: str
    filed_by: str


@dataclass(frozen=True)
class AuditSample:
    """A reproducible random sample of one type's records filed in one quarter."""

    type: str
    quarter: str
    seed: str
    population: int
    records: list[SampleItem]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AuditSample:
        return cls(**{**data, "records": [SampleItem(**item) for item in data["records"]]})
