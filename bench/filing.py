"""Filing throughput of small documents: ``file_record`` in-process vs raw ``put_object``."""

from __future__ import annotations

import io
import os

from archive.filing import file_record
from bench.common import KIB, BenchResult, alternating_rounds, median_round
from bench.env import Env

DOC_SIZE = 50 * KIB
ROUNDS = 20  # pairs of short blocks: see bench.common.alternating_rounds
PER_ROUND = 10
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


def run(env: Env, quick: bool) -> BenchResult:
    """Many short rounds, alternating which side goes first, so drift hits both; report the median round."""
    rounds, per_round = (6, 5) if quick else (ROUNDS, PER_ROUND)
    _file_all(env, _docs(WARMUP))
    _put_all(env, _docs(WARMUP), "warmup")
    docs = [_docs(per_round) for _ in range(rounds)]
    ours_s, baseline_s = alternating_rounds(lambda round_: _file_all(env, docs[round_]),
                                            lambda round_: _put_all(env, docs[round_], f"round-{round_}"), rounds)
    ours = [per_round / s for s in ours_s]
    baseline = [per_round / s for s in baseline_s]
    figure, mid = median_round("filing throughput", "docs/s", ours, baseline, "raw minio put_object", TARGET)
    return BenchResult(
        name="filing",
        params={"docs": rounds * per_round, "doc_size": "50 KiB", "rounds": rounds},
        figures=[figure],
        details={"rounds_strongroom_docs_s": ours, "rounds_baseline_docs_s": baseline, "median_round": mid},
    )
