"""Searching, index status, audit samples and reindexing on behalf of an actor: the checks and the audit trail.

Who sees what in a search: a hit's title and snippet are shown only when the actor may *read*
that record (by role or by a live grant); everyone else's hits are dropped. Actors who may audit are
told about matching records they may not read as ``search.restricted_hits`` says: ``names`` (each as
name and type, marked "restricted — request access"), ``count`` (how many; the default) or ``none``
— and only when the query is plain words (:func:`search.query.plain_words`); any other query runs on
the records they may read alone, and the results say so. Every search is recorded (``search.query``:
the query, the filters, the names returned and the restricted count, exactly what the actor was shown).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from zoneinfo import ZoneInfo

from sqlalchemy import select

from access.grants import list_grants
from archive.service import Archive, as_utc
from audit.actor import Actor
from audit.trail import record as audit
from catalog.schema import Record, RecordState, VersionState
from errors import NotFound, StrongroomError, UsageError
from naming import parse_name
from operations.context import Context
from search import query as search_query
from search.documents import METADATA, TEXT, key_of
from search.index import IndexDamaged, stored_by_key
from search.indexer import SyncReport, index_for, rebuild
from search.queue import queue_for
from search.results import AuditSample, IndexStatus, SampleItem, SearchResults
from search.sample import Quarter, draw, new_seed

MAX_LIMIT = 200


class SearchUnavailable(StrongroomError):
    """The index cannot answer now (damaged, being rebuilt, or never built)."""


def search(
    ctx: Context, text: str, *, record_type: str | None = None, year: int | None = None,
    date_from: date | None = None, date_to: date | None = None, limit: int = 20, all_versions: bool = False,
) -> SearchResults:
    """Search as the actor (policy action ``list``), recorded as ``search.query``."""
    ctx.require("list", "search.query")
    if not 1 <= limit <= MAX_LIMIT:
        raise UsageError(f"limit must be between 1 and {MAX_LIMIT}")
    filters = search_query.Filters(record_type, year, date_from, date_to, all_versions)
    archive, actor = ctx.archive, ctx.actor
    index = index_for(archive)
    told, skipped = _restricted_hits(ctx, text)
    with archive.catalog.read() as session:
        def decide(name: str, _type: str) -> str:
            if ctx.policy.allows(session, actor, "read", record_name=name):
                return search_query.FULL
            return search_query.RESTRICTED if told == search_query.NAMES else search_query.HIDDEN

        scope = None if told == search_query.NAMES or actor.is_bootstrap else _scope(ctx)
        try:
            if not index.exists() and _has_records(archive):
                raise IndexDamaged("there is no search index yet")
            hits = search_query.run(index, text, filters, scope, limit, decide)
            count = (search_query.count_outside(index, text, filters, scope)
                     if told == search_query.COUNT and scope is not None else None)
        except IndexDamaged as exc:
            raise SearchUnavailable(_unavailable(archive, str(exc))) from None
    detail: dict[str, object] = {
        "query": text,
        "filters": {key: str(value) for key, value in vars(filters).items() if value not in (None, False)},
        "results": [hit.name for hit in hits],
        "restricted": sorted({hit.name for hit in hits if hit.restricted}),
    }
    if count is not None:
        detail["restricted_count"] = count
    if skipped:
        detail["restricted_skipped"] = True
    audit(archive, actor, "search.query", detail=detail)
    return SearchResults(query=text, hits=hits, restricted_count=count, restricted_skipped=skipped)


def _restricted_hits(ctx: Context, text: str) -> tuple[str, bool]:
    """What this search tells the actor about matching records they may not read, and whether it leaves them out.

    Only those who may audit are told anything (``search.restricted_hits``), and only for a query of
    plain words; for any other query those records are not searched (``skipped``), so a field,
    wildcard, prefix or digit query gives the same answer whatever an unreadable record holds.
    """
    if ctx.actor.is_bootstrap or not ctx.allows("audit"):
        return search_query.NONE, False
    setting = ctx.archive.settings.search.restricted_hits
    if setting != search_query.NONE and not search_query.plain_words(text):
        return search_query.NONE, True
    return setting, False


def _scope(ctx: Context) -> search_query.Scope:
    """What the actor may read in full: types allowed by role, plus records granted to them."""
    types = frozenset(t for t in ctx.archive.settings.records.types if ctx.allows("read", record_type=t))
    granted = frozenset(grant.record for grant in list_grants(ctx.archive, user=ctx.actor.name))
    return search_query.Scope(types, granted)


def _has_records(archive: Archive) -> bool:
    with archive.catalog.read() as session:
        return session.scalar(select(Record.id).where(Record.state == RecordState.ACTIVE).limit(1)) is not None


def _unavailable(archive: Archive, problem: str) -> str:
    """Say what happens next: the service rebuilds on its own; locally, the operator must."""
    running = queue_for(archive)
    if running is not None:
        running.request_rebuild()
        return f"{problem}; it is being rebuilt from the archive, try again in a while"
    return f"{problem}; rebuild it with 'strongroom search reindex' on the service host"


def index_status(ctx: Context, name_text: str) -> IndexStatus:
    """How the record's current version is indexed (policy action ``view``; refusals recorded)."""
    name = parse_name(name_text)
    ctx.require("view", "record.view", record_type=name.type, record_name=str(name))
    with ctx.archive.catalog.read() as session:
        record = session.scalar(select(Record).where(Record.name == str(name)))
        if record is None:
            raise NotFound(f"no record named {name}")
        current = max((v.version for v in record.versions if v.state == VersionState.CURRENT), default=None)
    if current is None:
        return IndexStatus(str(name), None, "missing", "no stored version")
    index = index_for(ctx.archive)
    try:
        opened = index.reading() if index.exists() else None
    except IndexDamaged as exc:
        return IndexStatus(str(name), current, "missing", str(exc))
    stored = stored_by_key(opened.searcher, key_of(str(name), current)) if opened else None
    if stored is None:
        return IndexStatus(str(name), current, "missing")
    indexed = TEXT if stored.get("content") == TEXT else METADATA
    return IndexStatus(str(name), current, indexed, stored.get("note") or None)


def audit_sample(ctx: Context, record_type: str, quarter_text: str, n: int, seed: str | None = None) -> AuditSample:
    """A reproducible random sample of a type's records filed in a quarter (policy action ``audit``)."""
    ctx.require("audit", "audit.sample")
    quarter = Quarter.parse(quarter_text)
    chosen_seed = seed or new_seed()
    start, end = quarter.bounds(ZoneInfo(ctx.archive.settings.paperwork.time_zone))
    with ctx.archive.catalog.read() as session:
        records = {
            record.name: record for record in session.scalars(
                select(Record).where(Record.type == record_type, Record.state == RecordState.ACTIVE)
            )
            if start <= as_utc(record.created_at) < end
        }
        names = draw(records, n, seed=chosen_seed, record_type=record_type, quarter=quarter)
        items = [
            SampleItem(
                name=name,
                title=records[name].title if ctx.policy.allows(session, ctx.actor, "view", record_name=name) else None,
                filed_at=as_utc(records[name].created_at).isoformat(), filed_by=records[name].created_by,
            )
            for name in names
        ]
    sample = AuditSample(record_type, str(quarter), chosen_seed, len(records), items)
    audit(ctx.archive, ctx.actor, "audit.sample", detail={
        "type": record_type, "quarter": str(quarter), "n": n, "seed": chosen_seed, "population": len(records),
        "records": names,
    })
    return sample


def reindex(archive: Archive, actor: Actor, on_progress: Callable[[int, int], None] | None = None) -> SyncReport:
    """Rebuild the index from every stored version (an operator's command on the host); recorded."""
    report = rebuild(archive, index_for(archive), on_progress)
    audit(archive, actor, "search.reindex", detail={"versions": report.added + report.restamped,
                                                    "left_out": [str(item) for item in report.left_out]})
    return report
