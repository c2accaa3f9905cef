"""Search: indexing throughput and query latency at 100,000 documents (``--quick``: 5,000).

- **Documents.** Generated, mixed Chinese and English, 1-5 KB of UTF-8 each: three sentences in
  four Chinese, words drawn by frequency from jieba's dictionary; the others English, words from
  this repository's documentation and Python's reference, by the square root of their frequency; a
  third of the documents in traditional characters (OpenCC ``s2t``), some with phone and card
  numbers. Five record types, years 2022-2026. Generated before timing starts.
- **Indexing.** Straight through the index writer (``SearchIndex.rebuild``: the bulk writer that
  ``search reindex`` uses), *not* through S3: decrypting the archive is the filing benchmarks'
  business. Figure: documents per second, with the one final merge.
- **Queries.** A fixed set of what an auditor looks for (topics and specific words, simplified and
  traditional Chinese, English stems, phrases, AND/OR/NOT, field:value, wildcards, type and year
  filters), each run by a director, a staff
  member (the scope filter: types by role plus 20 granted contracts) and an auditor (the scope,
  plus the count of matching records outside it for queries of plain words), through ``operations.search.search``: policy, filtering, ranking, masked and highlighted
  snippets and the ``search.query`` audit entry. 20 hits each. Figure: p50 / p95 latency; target
  p95 < 100 ms. Words found in most documents are the worst case (Whoosh scores every posting):
  three such queries are timed apart and reported per query.
- **Baseline.** The same documents in a plain Whoosh index (default analyzer, the same stored
  fields) and the same query strings, top 20 with their titles read, no filter, no snippets, no
  audit, in the same run. The default analyzer does not segment Chinese, so the baseline finds
  far less: hit counts are recorded beside the times.
"""

from __future__ import annotations

import math
import random
import re
import shutil
import statistics
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from itertools import accumulate
from pathlib import Path

from sqlalchemy import insert
from whoosh.fields import ID, NUMERIC, TEXT, Schema
from whoosh.filedb.filestore import FileStorage
from whoosh.qparser import MultifieldParser

from access.policy import AccessPolicy
from archive.service import utcnow
from audit.actor import Actor
from bench.common import BenchResult, Comparison, Limit
from bench.env import Env
from catalog.schema import Grant
from operations.context import Context
from operations.search import search
from search.analysis import HAN_RUN, dictionary, preload
from search.documents import VersionInfo, document
from search.extract import Extracted
from search.index import BULK_WRITER_MB, Writer
from search.indexer import index_for
from search.mask import luhn_check_digit

SEED = 20261128
TARGET_P95_MS = 100.0
TYPES = ("contract", "minutes", "report", "letter", "other")
ROUNDS = 3
CHINESE_SHARE = 0.75  # of the sentences; the rest English
LIMIT = 20
# What an auditor looks for: topics and specific words (in 0.3-20 % of the documents), in every syntax.
QUERIES = [
    "客户", "投訴", "服务 AND 投诉", "银行 OR 合同", "客户 NOT 投诉", '"客户 服务"', "理财*", "信用卡",
    "利率 AND 贷款", "培訓 OR 考核", "escrow", "lease AND complaint", "retention OR deadline",
    "satisfaction NOT lease", '"monthly report"', "title:客户", "type:report 客户", "year:2024 AND 数据",
    "档案 OR escrow", "customer*",
]
# Words in most documents (the corpus's own jargon): the worst case, measured and reported apart.
COMMON = ["report", "record*", "audit NOT verify"]
REPO = Path(__file__).resolve().parent.parent


def _chinese_words() -> tuple[list[str], list[int]]:
    """The 20,000 most frequent words of jieba's dictionary (two characters or more), cumulative weights."""
    freq = dictionary()
    words = sorted((w for w, f in freq.items() if f and len(w) > 1 and HAN_RUN.fullmatch(w)), key=freq.__getitem__,
                   reverse=True)[:20_000]
    return words, list(accumulate(freq[w] for w in words))


def _english_words() -> tuple[list[str], list[float]]:
    """Words of this repository's documentation and of Python's reference (``pydoc_data``), cumulative
    weights by the square root of their counts: a small vocabulary with its true counts would put its
    top words in nearly every document."""
    from pydoc_data.topics import topics

    texts = [path.read_text(encoding="utf-8") for path in [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]]
    counts: Counter[str] = Counter(re.findall(r"[a-z]{3,}", " ".join([*texts, *topics.values()]).lower()))
    words = sorted(counts)
    return words, list(accumulate(math.sqrt(counts[w]) for w in words))


class _Generator:
    def __init__(self, rng: random.Random) -> None:
        import opencc

        self.rng = rng
        self.zh, self.zh_cumulative = _chinese_words()
        self.en, self.en_cumulative = _english_words()
        self.s2t = opencc.OpenCC("s2t")

    def _sentence(self) -> str:
        rng = self.rng
        if rng.random() < CHINESE_SHARE:
            return "".join(rng.choices(self.zh, cum_weights=self.zh_cumulative, k=rng.randint(6, 20))) + "。"
        words = rng.choices(self.en, cum_weights=self.en_cumulative, k=rng.randint(6, 18))
        return " ".join(words).capitalize() + ". "

    def _number(self) -> str:
        rng = self.rng
        if rng.random() < 0.5:
            return f" 电话 1{rng.randint(3, 9)}{rng.randint(0, 999_999_999):09d} "
        body = f"6222{rng.randint(0, 10**11 - 1):011d}"
        return f" card {body}{luhn_check_digit(body)} "

    def text(self) -> str:
        size = self.rng.randint(1000, 5000)
        parts: list[str] = []
        length = 0
        while length < size:
            part = self._number() if self.rng.random() < 0.02 else self._sentence()
            parts.append(part)
            length += len(part.encode("utf-8"))
        body = "".join(parts)
        return self.s2t.convert(body) if self.rng.random() < 1 / 3 else body

    def title(self) -> str:
        rng = self.rng
        if rng.random() < 0.5:
            return "".join(rng.choices(self.zh, cum_weights=self.zh_cumulative, k=rng.randint(2, 4)))
        return " ".join(rng.choices(self.en, cum_weights=self.en_cumulative, k=rng.randint(2, 5))).title()


def _documents(count: int, rng: random.Random) -> list[tuple[VersionInfo, str]]:
    generator = _Generator(rng)
    start = datetime(2022, 1, 1, tzinfo=UTC)
    counters: Counter[tuple[int, str]] = Counter()
    docs = []
    for _ in range(count):
        record_type = rng.choice(TYPES)
        filed = start + timedelta(seconds=rng.randint(0, 5 * 365 * 86400 - 1))
        counters[(filed.year, record_type)] += 1
        name = f"{filed.year}-{counters[(filed.year, record_type)]:04d}-{record_type}"
        info = VersionInfo(name=name, type=record_type, year=filed.year, title=generator.title(), version=1,
                           current=True, filed_at=filed, filed_by=rng.choice(("sam", "dora", "mona")),
                           filename=f"{name}.txt", size=0)
        docs.append((info, generator.text()))
    return docs


def _index_ours(env: Env, docs: list[tuple[VersionInfo, str]]) -> float:
    index = index_for(env.archive)

    def fill(writer: Writer) -> None:
        for info, text in docs:
            writer.put(document(info, Extracted(text)))

    started = time.perf_counter()
    index.rebuild(fill, lambda _writer: None)
    return time.perf_counter() - started


def _baseline_schema() -> Schema:
    return Schema(key=ID(stored=True, unique=True), name=ID(stored=True), type=ID(stored=True),
                  year=NUMERIC(int, stored=True), title=TEXT(stored=True), body=TEXT(stored=True),
                  filename=TEXT(stored=True))


def _index_baseline(path: Path, docs: list[tuple[VersionInfo, str]]) -> tuple[float, object]:
    path.mkdir()
    started = time.perf_counter()
    ix = FileStorage(str(path)).create_index(_baseline_schema())
    writer = ix.writer(limitmb=BULK_WRITER_MB)
    for info, text in docs:
        writer.add_document(key=info.key, name=info.name, type=info.type, year=info.year, title=info.title or "",
                            body=text, filename=info.filename or "")
    writer.commit(optimize=True)
    return time.perf_counter() - started, ix


def _grant_contracts(env: Env, user: str, docs: list[tuple[VersionInfo, str]]) -> None:
    contracts = [info.name for info, _ in docs if info.type == "contract"][:20]
    now = utcnow()
    with env.archive.catalog.write() as session:
        session.execute(insert(Grant), [
            {"user_name": user, "record_name": name, "granted_by": "dora", "expiry_recorded": False,
             "created_at": now, "expires_at": now + timedelta(days=30)} for name in contracts
        ])


def _percentile(sorted_ms: list[float], fraction: float) -> float:
    return sorted_ms[max(0, math.ceil(fraction * len(sorted_ms)) - 1)]


def _summary(samples: list[float]) -> dict[str, float]:
    ms = sorted(samples)
    return {"queries": len(ms), "p50_ms": _percentile(ms, 0.5), "p95_ms": _percentile(ms, 0.95),
            "max_ms": ms[-1], "mean_ms": sum(ms) / len(ms)}


def _time_ours(contexts: list[Context], queries: list[str]) -> tuple[list[float], dict[str, float]]:
    """Every query by every actor, ROUNDS times; the samples and each query's median (ms)."""
    samples, per_query = [], {}
    for query in queries:
        mine = []
        for _ in range(ROUNDS):
            for ctx in contexts:
                started = time.perf_counter()
                search(ctx, query, limit=LIMIT)
                mine.append((time.perf_counter() - started) * 1000)
        samples.extend(mine)
        per_query[query] = round(statistics.median(mine), 2)
    return samples, per_query


def _time_baseline(ix: object, queries: list[str], actors: int) -> tuple[list[float], dict[str, float]]:
    parser = MultifieldParser(["title", "body", "filename"], schema=ix.schema)  # type: ignore[attr-defined]
    samples, per_query = [], {}
    with ix.searcher() as searcher:  # type: ignore[attr-defined]
        for query in queries:
            mine = []
            for _ in range(ROUNDS * actors):
                started = time.perf_counter()
                titles = [hit["title"] for hit in searcher.search(parser.parse(query), limit=LIMIT)]
                mine.append((time.perf_counter() - started) * 1000)
                assert len(titles) <= LIMIT
            samples.extend(mine)
            per_query[query] = round(statistics.median(mine), 2)
    return samples, per_query


def run(env: Env, quick: bool) -> BenchResult:
    rng = random.Random(SEED)
    count = 5_000 if quick else 100_000
    preload()
    docs = _documents(count, rng)
    megabytes = sum(len(text.encode("utf-8")) for _, text in docs) / 1e6
    ours_s = _index_ours(env, docs)
    baseline_dir = env.files / "search-baseline"
    baseline_s, baseline_ix = _index_baseline(baseline_dir, docs)
    index_mb = sum(p.stat().st_size for p in (env.home / "index").iterdir()) / 1e6
    baseline_mb = sum(p.stat().st_size for p in baseline_dir.iterdir() if p.is_file()) / 1e6

    policy = AccessPolicy.load(env.archive.settings)
    _grant_contracts(env, "sam", docs)
    contexts = [Context(env.archive, policy, Actor(name, role)) for name, role in
                (("dora", "director"), ("sam", "staff"), ("alice", "auditor"))]
    for ctx in contexts:  # warm-up: searchers, filter sets, dictionaries
        for query in QUERIES + COMMON:
            search(ctx, query, limit=LIMIT)
    ours_samples, ours_each = _time_ours(contexts, QUERIES)
    base_samples, base_each = _time_baseline(baseline_ix, QUERIES, len(contexts))
    _, ours_common = _time_ours(contexts, COMMON)
    _, base_common = _time_baseline(baseline_ix, COMMON, len(contexts))
    ours, base = _summary(ours_samples), _summary(base_samples)
    shutil.rmtree(baseline_dir, ignore_errors=True)

    verdict = "PASS" if ours["p95_ms"] < TARGET_P95_MS else "FAIL"
    print(f"  search, {count:,} docs ({megabytes:.0f} MB of text): indexing {count / ours_s:.0f} docs/s "
          f"(plain Whoosh {count / baseline_s:.0f} docs/s); index {index_mb:.0f} MB (plain {baseline_mb:.0f} MB)")
    print(f"  search, queries: p50 {ours['p50_ms']:.1f} ms, p95 {ours['p95_ms']:.1f} ms, max {ours['max_ms']:.1f} ms "
          f"{verdict} (p95 < {TARGET_P95_MS:.0f} ms); plain Whoosh p50 {base['p50_ms']:.1f} ms, "
          f"p95 {base['p95_ms']:.1f} ms")
    print("  search, words in most documents (median ms, ours / plain Whoosh): "
          + ", ".join(f"{q} {ours_common[q]:.0f} / {base_common[q]:.0f}" for q in COMMON))
    return BenchResult(
        name="search",
        params={"docs": count, "text_mb": round(megabytes, 1), "queries": len(QUERIES), "actors": len(contexts),
                "rounds": ROUNDS, "limit": LIMIT},
        figures=[
            Comparison("indexing throughput", "docs/s", count / ours_s, count / baseline_s,
                       "plain Whoosh, default analyzer"),
            Comparison("query throughput, sequential (1 / mean latency)", "queries/s", 1000 / ours["mean_ms"],
                       1000 / base["mean_ms"], "plain Whoosh, no filter, snippets or audit"),
            Limit("p95 query latency (policy, filter, snippets, audit)", "ms", ours["p95_ms"], TARGET_P95_MS),
        ],
        details={"ours": ours, "baseline": base, "index_mb": index_mb, "baseline_index_mb": baseline_mb,
                 "indexing_s": ours_s, "baseline_indexing_s": baseline_s,
                 "median_ms_per_query": ours_each, "baseline_median_ms_per_query": base_each,
                 "common_words_median_ms": ours_common, "baseline_common_words_median_ms": base_common},
    )
