"""A full backup of an archive vs a raw minio copy of the same object versions, then a backup after 1% changed.

Setup (untimed): N records of mixed sizes are filed (N = 10,000 and at least 1 GiB;
``--quick``: 400 records, about 70 MiB). Then, in rounds that alternate which side goes
first: ``backup run`` into a fresh S3 target bucket on the same server (fresh hash
cache, so everything is read and copied), and the baseline, minio ``get_object`` of
each catalogued version streamed into ``put_object`` to a fresh bucket, on as many
threads as the backup uses (``backup.threads``) and with the same client settings.
Finally 1% of the records get a new version of the same size and the last round's
target is backed up again: the share of the snapshot's bytes that was copied.
"""

from __future__ import annotations

import io
import random
import shutil
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial

from sqlalchemy import select

from archive.filing import file_record, file_version
from backup.hash_cache import FILE_NAME as HASH_CACHE
from backup.lock import backup_lock
from backup.snapshot import RunReport, run_backup
from backup.targets import S3Location, S3Target
from bench.common import (
    GIB,
    KIB,
    MIB,
    BenchResult,
    Comparison,
    Limit,
    mb_per_s,
    median_index,
    timed,
)
from bench.env import Env
from catalog.schema import Record, Version, VersionState

ROUNDS = 3
TARGET_RATIO = 0.8
CHANGED_SHARE = 0.01
COPIED_LIMIT_PERCENT = 2.0
SEED = 20260107
# (share of records, smallest, largest): mostly letters and minutes, some reports, a few scans
SIZE_MIX = ((0.70, 4 * KIB, 32 * KIB), (0.25, 64 * KIB, 256 * KIB), (0.05, 1 * MIB, 4 * MIB))


@dataclass(frozen=True)
class _Stored:
    name: str
    key: str
    version_id: str
    size: int


def _sizes(count: int, rng: random.Random, minimum_total: int) -> list[int]:
    """Document sizes drawn from SIZE_MIX, scaled up if need be to reach ``minimum_total``."""
    sizes = []
    for share, low, high in SIZE_MIX:
        sizes += [rng.randint(low, high) for _ in range(round(count * share))]
    sizes = sizes[:count] + [SIZE_MIX[0][1]] * (count - len(sizes))
    total = sum(sizes)
    if total < minimum_total:
        sizes = [size * minimum_total // total + 1 for size in sizes]
    rng.shuffle(sizes)
    return sizes


def _file_all(env: Env, sizes: list[int], threads: int) -> None:
    def file_one(index_size: tuple[int, int]) -> None:
        index, size = index_size
        file_record(env.archive, io.BytesIO(random.randbytes(size)), record_type="other", year=2026,
                    actor="bench", filename=f"doc-{index}.bin")

    with ThreadPoolExecutor(max_workers=threads) as pool:
        list(pool.map(file_one, enumerate(sizes)))


def _stored(env: Env) -> list[_Stored]:
    with env.archive.catalog.read() as session:
        rows = session.execute(
            select(Record.name, Version.object_key, Version.s3_version_id, Version.stored_size)
            .join(Record, Record.id == Version.record_id)
            .where(Version.state.in_((VersionState.CURRENT, VersionState.ARCHIVED)))
        ).all()
    return [_Stored(name, key, version_id or "", size or 0) for name, key, version_id, size in rows]


def _target(env: Env, prefix: str) -> S3Target:
    settings = env.archive.settings
    location = S3Location(settings.storage.endpoint, f"{prefix}-{uuid.uuid4().hex[:12]}")
    target = S3Target(location, settings.credentials(), threads=settings.backup.threads)
    target.prepare()
    return target


def _raw_copy(env: Env, stored: list[_Stored], destination: S3Target, threads: int) -> None:
    """The baseline: stream every object version from the records bucket into another bucket."""
    source = env.archive.store

    def copy(item: _Stored) -> None:
        response = source.client.get_object(source.bucket, item.key, version_id=item.version_id)
        try:
            destination.client.put_object(destination.bucket, item.key, response, item.size)
        finally:
            response.close()
            response.release_conn()

    with ThreadPoolExecutor(max_workers=threads) as pool:
        list(pool.map(copy, stored))


def _backup(env: Env, target: S3Target, fresh: bool) -> RunReport:
    if fresh:
        (env.archive.settings.run_dir / HASH_CACHE).unlink(missing_ok=True)
    with backup_lock(env.archive.settings):
        return run_backup(env.archive, "bench", target)


def _change(env: Env, stored: list[_Stored], rng: random.Random) -> int:
    """File a new version, of the same size, of 1% of the records; return how many."""
    chosen = rng.sample(stored, max(1, round(len(stored) * CHANGED_SHARE)))
    for item in chosen:
        with env.archive.catalog.read() as session:
            size = session.scalar(
                select(Version.size).join(Record).where(Record.name == item.name, Version.state == VersionState.CURRENT)
            )
        file_version(env.archive, item.name, io.BytesIO(rng.randbytes(size or 1)), actor="bench")
    return len(chosen)


def run(env: Env, quick: bool) -> BenchResult:
    count = 400 if quick else 10_000
    minimum_total = 64 * MIB if quick else GIB
    rng = random.Random(SEED)
    sizes = _sizes(count, rng, minimum_total)
    needed = (2 * ROUNDS + 2) * sum(sizes) + GIB
    free = shutil.disk_usage(env.files).free
    if free < needed:
        raise RuntimeError(f"{env.files} has {free / GIB:.1f} GiB free; this benchmark needs {needed / GIB:.1f} GiB")
    threads = env.archive.settings.backup.threads
    _file_all(env, sizes, threads)
    stored = _stored(env)
    total = sum(item.size for item in stored)

    ours: list[float] = []
    baseline: list[float] = []
    reports: list[RunReport] = []
    targets: list[S3Target] = []
    for round_ in range(ROUNDS):
        target = _target(env, "bench-backup")
        targets.append(target)
        raw_target = _target(env, "bench-raw")

        def ours_side(destination: S3Target = target) -> None:
            seconds, report = timed(partial(_backup, env, destination, True))
            reports.append(report)
            ours.append(seconds)

        def raw_side(destination: S3Target = raw_target) -> None:
            seconds, _ = timed(partial(_raw_copy, env, stored, destination, threads))
            baseline.append(seconds)

        sides = [raw_side, ours_side]
        for side in sides if round_ % 2 == 0 else reversed(sides):
            side()
    ratios = [raw_s / ours_s for ours_s, raw_s in zip(ours, baseline, strict=True)]
    mid = median_index(ratios)
    full = reports[mid]

    changed = _change(env, stored, rng)
    incremental_s, incremental = timed(partial(_backup, env, targets[-1], False))
    copied_percent = 100 * incremental.copied_bytes / incremental.stored_bytes

    return BenchResult(
        name="backup",
        params={"objects": len(stored), "total": f"{total / GIB:.2f} GiB", "threads": threads, "rounds": ROUNDS,
                "target": "S3 bucket on the same server"},
        figures=[
            Comparison(f"full backup of {len(stored)} objects", "MB/s", mb_per_s(total, ours[mid]),
                       mb_per_s(total, baseline[mid]),
                       f"raw minio get_object -> put_object of the same versions, {threads} threads", TARGET_RATIO),
            Limit(f"second backup after changing {changed} records (1%): bytes copied", "% of snapshot",
                  copied_percent, COPIED_LIMIT_PERCENT),
        ],
        details={
            "rounds_backup_s": ours, "rounds_raw_copy_s": baseline, "median_round": mid,
            "full": full.as_dict(), "changed_records": changed, "incremental_s": incremental_s,
            "incremental": incremental.as_dict(),
        },
    )
