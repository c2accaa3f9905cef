"""``retention due`` over a large catalog, against a plain SQL scan of the same rows.

The catalog of the benchmark home is filled with synthetic active records (one stored
version each, spread over 26 filing years and the five default types, contracts with a
trigger date), written straight into the tables: what is measured is the catalog query
and the retention arithmetic of every record, not S3. The baseline is ``SELECT`` of the
same columns through the same SQLite connection settings, fetched into Python tuples.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import insert, text

from archive.service import utcnow
from bench.common import BenchResult, Comparison, median_index, timed
from bench.env import Env
from catalog.schema import Record, Version
from retention import status

ROUNDS = 3
TYPES = ("contract", "minutes", "report", "letter", "other")
TARGET = 0.1  # the retention arithmetic of each record may cost up to ten times reading its row
BASELINE_SQL = text(
    "SELECT r.name, r.type, r.state, r.created_at, r.retain_from, max(v.locked_until) FROM records r "
    "LEFT JOIN versions v ON v.record_id = r.id AND v.state IN ('current', 'archived') "
    "WHERE r.state = 'active' GROUP BY r.id ORDER BY r.year, r.type, r.number"
)


def _fill(env: Env, count: int) -> None:
    records, versions = [], []
    for i in range(count):
        record_type, year = TYPES[i % len(TYPES)], 2000 + i % 26
        name = f"{year}-{i + 1:06d}-{record_type}"
        filed = datetime(year, 3, 1, tzinfo=UTC)
        records.append({
            "id": i + 1, "name": name, "year": year, "type": record_type, "number": i + 1, "state": "active",
            "title": None, "created_at": filed, "created_by": "bench", "void_reason": None,
            "retain_from": date(year + 1, 1, 1) if record_type == "contract" else None,
            "disposal_id": None, "disposed_at": None,
        })
        versions.append({
            "record_id": i + 1, "version": 1, "state": "current", "object_key": f"current/{name}",
            "s3_version_id": "synthetic", "nonce": "00" * 16, "key_id": "synthetic", "size": 1, "stored_size": 1,
            "sha256": "0" * 64, "filed_at": filed, "filed_by": "bench", "filename": None, "comment": None,
            "archived_at": None, "writer": None, "locked_until": None, "storage_class": None,
        })
    with env.archive.catalog.write() as session:
        session.execute(insert(Record), records)
        session.execute(insert(Version), versions)


def run(env: Env, quick: bool) -> BenchResult:
    count = 10_000 if quick else 100_000
    _fill(env, count)
    archive = env.archive
    ours: list[float] = []
    baseline: list[float] = []
    due = 0
    for _ in range(ROUNDS):
        with archive.catalog.read() as session:
            seconds, rows = timed(lambda: session.execute(BASELINE_SQL).all())
        baseline.append(len(rows) / seconds)
        with archive.catalog.read() as session:
            seconds, found = timed(lambda: status.due(session, archive, utcnow()))
        ours.append(count / seconds)
        due = len(found)
    ratios = [o / b for o, b in zip(ours, baseline, strict=True)]
    mid = median_index(ratios)
    return BenchResult(
        name="retention",
        params={"records": count, "due": due, "rounds": ROUNDS},
        figures=[Comparison("retention due over the catalog", "records/s", ours[mid], baseline[mid],
                            "SELECT of the same rows", TARGET)],
        details={"rounds_strongroom_records_s": ours, "rounds_baseline_records_s": baseline, "median_round": mid},
    )
