"""Running a query: Whoosh query syntax, filters, BM25F ranking, the permission gate, snippets.

The query language is Whoosh's: words (all must match), ``AND`` / ``OR`` / ``NOT``, ``"phrases"``,
``field:value`` (name, type, year, title, body, filename, uploader, filed, version), wildcards
(``report*``, ``备*``) and ranges (``year:[2024 TO 2026]``, ``filed:[20260101 TO 20260630]``).
Unqualified words search the title (counted double), the text and the file name.

Who sees what is not decided here: :func:`run` takes a *scope* — the record types and granted
records the actor may read, used to narrow the search cheaply — and a *decide* function that rules
on every hit (full, restricted or hidden); only a full hit gets a title and a snippet.
:func:`count_outside` counts the matching records outside a scope, and :func:`plain_words` says
whether a query may be matched against records the actor may not read at all.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from typing import Any, TypeVar

from whoosh.qparser import MultifieldParser
from whoosh.query import And, DateRange, NullQuery, NumericRange, Or, Query, Term, TermRange
from whoosh.searching import Hit, Searcher

from errors import UsageError
from search.analysis import WIDTH_FOLD
from search.index import IndexDamaged, OpenIndex, SearchIndex, schema
from search.mask import mask
from search.results import SearchHit
from search.snippet import make_snippet

log = logging.getLogger("strongroom.search")
DEFAULT_FIELDS = ["title", "body", "filename"]
QUERY_HELP = 'use words, AND, OR, NOT, "phrases", field:value, report*, year:[2024 TO 2026]'
MAX_HIGHLIGHT_TERMS = 200
FULL, RESTRICTED, HIDDEN = "full", "restricted", "hidden"
# What a search tells those who may audit about matching records they may not read (search.restricted_hits).
NAMES, COUNT, NONE = "names", "count", "none"
NOT_PLAIN = re.compile(r"[:*?~^\[\]{}]")  # fields, wildcards, fuzzy terms and slops, boosts, ranges

Decide = Callable[[str, str], str]  # (record name, record type) -> FULL | RESTRICTED | HIDDEN
T = TypeVar("T")


@dataclass(frozen=True)
class Filters:
    record_type: str | None = None
    year: int | None = None
    date_from: date | None = None  # filing date, UTC, inclusive
    date_to: date | None = None  # inclusive
    all_versions: bool = False

    def queries(self) -> list[Query]:
        parts: list[Query] = []
        if not self.all_versions:
            parts.append(Term("current", True))
        if self.record_type:
            parts.append(Term("type", self.record_type))
        if self.year is not None:
            parts.append(NumericRange("year", self.year, self.year))
        if self.date_from or self.date_to:
            start = datetime.combine(self.date_from, time(), UTC) if self.date_from else None
            end = datetime.combine(self.date_to + timedelta(days=1), time(), UTC) if self.date_to else None
            parts.append(DateRange("filed", start, end, endexcl=True))
        return parts


@dataclass(frozen=True)
class Scope:
    """The records an actor may read in full: these types, plus these granted records."""

    types: frozenset[str]
    names: frozenset[str]

    def query(self) -> Query:
        wanted = [Term("type", t) for t in sorted(self.types)] + [Term("name", n) for n in sorted(self.names)]
        return Or(wanted) if wanted else NullQuery


@cache
def _parser() -> MultifieldParser:
    return MultifieldParser(DEFAULT_FIELDS, schema=schema())


def parse(text: str) -> Query:
    """The query for ``text``, or a one-line :class:`UsageError` for anything that cannot be run.

    Whoosh's parser is lenient with most malformed input (it drops what it cannot read), but some
    raises from deep inside it (``NOT NOT NOT``: IndexError; ``note:x``: a bare Exception) and some
    only fails once the search runs (``filed:"a b"``: not a date); every value is therefore turned
    into its field's indexed form here, so that such a query is refused before it is run.
    """
    if not text.strip():
        raise UsageError("empty search query")
    try:
        query = _parser().parse(text)
    except Exception:  # noqa: BLE001 - Whoosh raises IndexError, ValueError, bare Exception… on odd input
        raise UsageError(f"search query not understood ({QUERY_HELP})") from None
    fields = _parser().schema
    for field, value in _values(query):
        try:
            fields[field].to_bytes(value)
        except Exception:  # noqa: BLE001 - as above: each field type has its own way of failing
            shown = str(value) if len(str(value)) <= 40 else f"{str(value)[:40]}…"
            raise UsageError(f"search query: {shown!r} is not a valid value for {field}") from None
    return query


def _values(query: Query) -> Iterator[tuple[str, Any]]:
    """Every (field, value) the query will look up, phrases included, ranges by their ends."""
    for leaf in query.leaves():
        if isinstance(leaf, (NumericRange, DateRange)):
            continue  # built from already converted values
        if isinstance(leaf, TermRange):
            yield from ((leaf.fieldname, end) for end in (leaf.start, leaf.end) if end is not None)
        elif leaf.has_terms():
            yield from leaf.terms(phrases=True)


def _highlight_terms(query: Query, searcher: Searcher) -> set[str]:
    """The analysed terms of the query in the text fields, wildcards expanded against the index."""
    words: set[str] = set()
    for leaf in query.leaves():
        for field, text in leaf.expanded_terms(searcher.reader(), phrases=True):
            if field in DEFAULT_FIELDS:
                words.add(text.decode("utf-8") if isinstance(text, bytes) else text)
    return set(sorted(words)[:MAX_HIGHLIGHT_TERMS])


def _full_hit(hit: Hit, terms: set[str]) -> SearchHit:
    stored: dict[str, Any] = hit.fields()
    snippet = make_snippet(stored.get("body") or "", terms)
    filed = stored["filed"]
    return SearchHit(
        name=stored["name"], type=stored["type"], version=stored["version"], current=bool(stored["current"]),
        title=mask(stored["title"]) if stored.get("title") else None,
        filed=(filed if filed.tzinfo else filed.replace(tzinfo=UTC)).isoformat(),
        score=round(float(hit.score), 4), snippet=snippet.text if snippet else None,
        highlights=snippet.highlights if snippet else [], indexed=stored["content"],
    )


def _filter(opened: OpenIndex, filters: Filters, scope: Scope | None) -> Any:
    parts = filters.queries() + ([scope.query()] if scope is not None else [])
    if not parts:
        return None
    return opened.filter((filters, scope), And(parts) if len(parts) > 1 else parts[0])


def plain_words(text: str) -> bool:
    """Whether ``text`` is plain words: words without digits, ``AND``/``OR``/``NOT``, parentheses, "phrases".

    Only such a query is matched against records the actor may not read. A field (``title:``), a
    wildcard or prefix (``*``, ``?``), a fuzzy term or a slop (``~``), a boost (``^``), a range
    (``[ ]``, ``{ }``) or any digit (full-width ones too) makes the query run on readable records
    only: otherwise each yes/no answer about an unreadable record could spell out a title word or a
    masked ID-card or phone number one character at a time (``1381234567*``, then ``…8*``).
    """
    folded = text.translate(WIDTH_FOLD)
    return not NOT_PLAIN.search(folded) and not any(char.isdigit() for char in folded)


def run(index: SearchIndex, text: str, filters: Filters, scope: Scope | None, limit: int,
        decide: Decide) -> list[SearchHit]:
    """The best ``limit`` hits the actor may see (restricted ones once per record), best first."""
    query = parse(text)
    if scope is not None and not scope.types and not scope.names:
        return []
    return _guarded(index, lambda opened: _collect(opened, query, filters, scope, limit, decide), [])


def count_outside(index: SearchIndex, text: str, filters: Filters, scope: Scope) -> int:
    """How many records (not versions) match ``text`` and ``filters`` outside ``scope``: those the actor may not read.

    No per-record decision here (it would cost a policy decision per matching record): the scope
    *is* what the actor may read under the shipped model (types by role, live grants); a custom
    model that opens more records than the scope knows can only make this count too high.
    """
    query = parse(text)
    return _guarded(index, lambda opened: _count_outside(opened, query, filters, scope), 0)


def _guarded(index: SearchIndex, work: Callable[[OpenIndex], T], empty: T) -> T:
    """``work`` on the open index (``empty`` without one), telling a damaged index from a query Whoosh cannot run."""
    opened = index.reading()
    if opened is None:
        return empty
    try:
        return work(opened)
    except (UsageError, IndexDamaged):
        raise
    except Exception as exc:
        problem = index.verify()  # Whoosh fails in odd ways on a torn file: tell damage from the query
        if problem:
            raise IndexDamaged(f"search index damaged: {problem}") from exc
        log.warning("a search failed inside Whoosh on an intact index (%s): answered as a usage error",
                    type(exc).__name__)
        raise UsageError(f"search query not understood ({QUERY_HELP})") from None


def _count_outside(opened: OpenIndex, query: Query, filters: Filters, scope: Scope) -> int:
    searcher = opened.searcher
    readable = opened.filter(("scope", scope), scope.query()) if scope.types or scope.names else None
    found = searcher.search(query, filter=_filter(opened, filters, None), mask=readable, limit=None, scored=False)
    if found.is_empty():
        return 0
    keys = searcher.reader().column_reader("key")  # NAME@VERSION, read from a column: no stored fields
    return len({keys[docnum].rpartition("@")[0] for docnum in found.docs()})


def _collect(opened: OpenIndex, query: Query, filters: Filters, scope: Scope | None, limit: int,
             decide: Decide) -> list[SearchHit]:
    searcher = opened.searcher
    allowed = _filter(opened, filters, scope)
    terms = _highlight_terms(query, searcher)
    hits: list[SearchHit] = []
    restricted: set[str] = set()
    seen, fetch = 0, limit * 2 + 10
    while True:
        results = searcher.search(query, filter=allowed, limit=fetch)
        ranked = results[:]  # not list(results): that asks len(), which counts every match
        for hit in ranked[seen:]:
            name, record_type = hit["name"], hit["type"]
            verdict = decide(name, record_type)
            if verdict == FULL:
                hits.append(_full_hit(hit, terms))
            elif verdict == RESTRICTED and name not in restricted:
                restricted.add(name)
                hits.append(SearchHit.restricted_hit(name, record_type))
            if len(hits) == limit:
                return hits
        if len(ranked) < fetch:
            return hits
        seen, fetch = len(ranked), fetch * 4
