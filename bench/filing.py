"""Filing throughput of small documents: ``file_record`` in-process vs raw ``put_object``."""

from __future__ import annotations

import io
import os
from collections.abc import Callable
from functools import partial

from archive.filing import file_record
from bench.common import KIB, BenchResult, Comparison, median_index, timed
from bench.env import Env

DOC_SIZE = 50 * KIB
ROUNDS = 3
WARMUP = 5
YEAR = 2026
TARGET = 0.5


def _docs(count: int) -> list[bytes]:
    """Fresh random documents, generated before timing starts."""
    return [os.urandom(DOC_SIZE) for _ in range(count)]


def _file_all(env: Env, docs: list[bytes]) -> None:
    for i, doc in enumerate(docs):
        file_record(
            env.archive, io.BytesIO(doc), record_type="other", year=YEAR, actor="bench", filename=f"doc-{i}.bin"
        )


def _put_all(env: Env, docs: list[bytes], prefix: str) -> None:
    client, bucket = env.baseline.client, env.baseline.bucket
    for i, doc in enumerate(docs):
        client.put_object(bucket, f"{prefix}/doc-{i}.bin", io.BytesIO(doc), len(doc))


def _docs_per_second(count: int, action: Callable[[], None]) -> float:
    seconds, _ = timed(action)
    return count / seconds


def run(env: Env, quick: bool) -> BenchResult:
    """Alternate which side goes first in each round, so drift hits both; report the median round."""
    count = 30 if quick else 200
    _file_all(env, _docs(WARMUP))
    _put_all(env, _docs(WARMUP), "warmup")
    ours: list[float] = []
    baseline: list[float] = []
    for round_ in range(ROUNDS):
        sides = [
            (baseline, partial(_put_all, env, _docs(count), f"round-{round_}")),
            (ours, partial(_file_all, env, _docs(count))),
        ]
        for figures, action in sides if round_ % 2 == 0 else reversed(sides):
            figures.append(_docs_per_second(count, action))
    ratios = [o / b for o, b in zip(ours, baseline, strict=True)]
    mid = median_index(ratios)
    return BenchResult(
        name="filing",
        params={"docs": count, "doc_size": "50 KiB", "rounds": ROUNDS},
        figures=[Comparison("filing throughput", "docs/s", ours[mid], baseline[mid], "raw minio put_object", TARGET)],
        details={"rounds_strongroom_docs_s": ours, "rounds_baseline_docs_s": baseline, "median_round": mid},
    )
