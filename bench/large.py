"""Putting and getting one large file: the ``strongroom`` CLI vs raw minio multipart put and get.

The CLI runs as a child process so its peak RSS can be read exactly: ``os.wait4``
returns the resource usage of that one child, unlike ``RUSAGE_CHILDREN``, which
accumulates the maximum over every child this process has waited for.
"""

from __future__ import annotations

import hashlib
import os
import resource
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import BinaryIO

from bench.common import GIB, MIB, BenchResult, Comparison, Limit, mb_per_s, timed
from bench.env import STRONGROOM, Env

BLOCK = 16 * MIB
PUT_TARGET = 0.6
RSS_LIMIT_MIB = 200


@dataclass(frozen=True)
class ChildRun:
    seconds: float
    peak_rss_mib: float
    stdout: str


def _spawn_and_wait(
    args: list[str], env: dict[str, str], out: BinaryIO, err: BinaryIO
) -> tuple[int, resource.struct_rusage]:
    """Run a child to completion; return its exit code and its own resource usage."""
    process = subprocess.Popen(args, env=env, stdout=out, stderr=err)
    try:
        _, status, usage = os.wait4(process.pid, 0)
    except BaseException:
        process.kill()
        process.wait()
        raise
    process.returncode = os.waitstatus_to_exitcode(status)
    return process.returncode, usage


def run_cli(env: Env, *args: str) -> ChildRun:
    """Run ``strongroom ARGS`` against the benchmark home; time it and read its peak RSS."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        seconds, (code, usage) = timed(partial(_spawn_and_wait, [STRONGROOM, *args], env.cli_env(), out, err))
        if code != 0:
            err.seek(0)
            raise RuntimeError(f"strongroom {' '.join(args)} exited {code}: {err.read().decode(errors='replace')}")
        out.seek(0)
        return ChildRun(seconds, usage.ru_maxrss / 1024, out.read().decode().strip())  # ru_maxrss is KiB on Linux


def write_random_file(path: Path, size: int) -> str:
    """Write ``size`` random bytes to ``path``; return their SHA-256."""
    digest = hashlib.sha256()
    with open(path, "wb") as out:
        for offset in range(0, size, BLOCK):
            block = os.urandom(min(BLOCK, size - offset))
            digest.update(block)
            out.write(block)
    return digest.hexdigest()


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as source:
        while block := source.read(BLOCK):
            digest.update(block)
    return digest.hexdigest()


def raw_get(env: Env, key: str, target: Path) -> None:
    """Stream an object to a file and fsync it, as ``strongroom get`` does."""
    response = env.baseline.client.get_object(env.baseline.bucket, key)
    try:
        with open(target, "wb") as out:
            out.writelines(response.stream(MIB))
            out.flush()
            os.fsync(out.fileno())
    finally:
        response.close()
        response.release_conn()


def run(env: Env, quick: bool) -> BenchResult:
    size = 64 * MIB if quick else GIB
    needed = 4 * size + GIB  # source, two stored copies, one download, and slack
    free = shutil.disk_usage(env.files).free
    if free < needed:
        raise RuntimeError(f"{env.files} has {free / GIB:.1f} GiB free; this benchmark needs {needed / GIB:.1f} GiB")
    source = env.files / "large.bin"
    download = env.files / "large.out"
    original = write_random_file(source, size)
    client, bucket = env.baseline.client, env.baseline.bucket
    part_size = env.archive.settings.part_size
    startup = run_cli(env, "ls")  # start-up and catalog open, part of every CLI figure below

    raw_put_s, _ = timed(lambda: client.fput_object(bucket, "large.bin", str(source), part_size=part_size))
    put = run_cli(env, "put", str(source), "--type", "other")
    name = put.stdout.splitlines()[-1]
    raw_get_s, _ = timed(lambda: raw_get(env, "large.bin", download))
    download.unlink()
    get = run_cli(env, "get", name, "-o", str(download))
    if sha256_of(download) != original:
        raise RuntimeError(f"strongroom get {name} returned different bytes than were put")
    download.unlink()
    source.unlink()

    size_label = f"{size // MIB} MiB"
    return BenchResult(
        name="large",
        params={"size": size_label, "part_size": f"{part_size // MIB} MiB"},
        figures=[
            Comparison(f"put {size_label}", "MB/s", mb_per_s(size, put.seconds), mb_per_s(size, raw_put_s),
                       f"raw minio fput_object, {part_size // MIB} MiB parts", PUT_TARGET),
            Comparison(f"get {size_label}", "MB/s", mb_per_s(size, get.seconds), mb_per_s(size, raw_get_s),
                       "raw minio get_object streamed to a file"),
            Limit("peak RSS of strongroom put", "MiB", put.peak_rss_mib, RSS_LIMIT_MIB),
            Limit("peak RSS of strongroom get", "MiB", get.peak_rss_mib, RSS_LIMIT_MIB),
        ],
        details={
            "record": name, "sha256": original, "cli_startup_s": startup.seconds,
            "put_s": put.seconds, "raw_put_s": raw_put_s, "get_s": get.seconds, "raw_get_s": raw_get_s,
        },
    )
