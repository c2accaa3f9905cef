"""Filing and reading through the HTTP API vs the same operations in-process, on the same bytes.

A real ``strongroom serve`` runs in a child process. It gets a home of its own, with a
second bucket on the benchmark's SeaweedFS, so that the benchmark home keeps no users (the
other benchmarks run the CLI there as a bootstrap operator). One staff user acts on both
sides, so both establish who acts and pay for the same policy check and audit entry:

- **local:** ``operations.records.file_new`` and ``operations.records.open_version``
  (iterated) in this process, each with the user's context resolved first, as every command
  of the CLI's local mode does (the user must be registered and enabled);
- **API:** the CLI's ``--server`` backend, ``client.remote.RemoteArchive``: ``POST /records``
  (a body of at most 1 MiB sent whole, larger ones chunked) and ``GET /records/{name}/content``
  streamed and checked against the SHA-256 the service announces, on one keep-alive connection.

Both sides file the same bytes and read the same records; which side goes first alternates
from round to round, and the round with the median ratio API / local is reported with the
quartiles of all rounds. Small documents go in 20 short rounds of 10 per side rather than a
few long ones, so a burst of noise on the shared machine spoils a round, not the result.
"""

from __future__ import annotations

import hashlib
import io
import os
import secrets
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import BinaryIO

import urllib3

from access.policy import AccessPolicy
from accounts.users import add_user
from archive.service import Archive
from audit.actor import Actor
from bench.common import (
    KIB,
    MIB,
    BenchResult,
    Comparison,
    alternating_rounds,
    mb_per_s,
    median_round,
)
from bench.env import STRONGROOM, Env
from bench.large import write_random_file
from bootstrap.home import ExternalStorage, init_home
from client.remote import RemoteArchive
from operations.context import Context, local_actor
from operations.records import file_new, open_version

USER = "bench-api"
ROLE = "staff"
BUCKET = "bench-api"
SMALL = 50 * KIB
SMALL_ROUNDS = 20  # pairs of short blocks: see bench.common.alternating_rounds
SMALL_PER_ROUND = 10  # documents each side files, then reads, per round
LARGE_ROUNDS = 3
WARMUP = 5
YEAR = 2026
RECORD_TYPE = "other"  # staff may file and read it
TARGET = 0.7
LOCAL_FILE = "in-process operations.records.file_new"
LOCAL_READ = "in-process operations.records.open_version"
STARTUP_SECONDS = 90
OnChunk = Callable[[bytes], object]


@dataclass(frozen=True)
class Sides:
    """The two ways to file and read: in-process as the user, and over HTTP with the user's token."""

    archive: Archive
    policy: AccessPolicy
    remote: RemoteArchive

    def context(self) -> Context:
        """Who acts, checked per operation as each local CLI command checks it (the API checks the token)."""
        return Context(self.archive, self.policy, local_actor(self.archive, USER))

    def file_local(self, source: BinaryIO) -> str:
        filed = file_new(self.context(), source, record_type=RECORD_TYPE, year=YEAR, title=None, filename=None)
        return filed.name

    def file_api(self, source: BinaryIO) -> str:
        return self.remote.file_new(source, record_type=RECORD_TYPE, year=YEAR, title=None, filename=None).name

    def read_local(self, name: str, on_chunk: OnChunk | None = None) -> int:
        _, chunks = open_version(self.context(), name)
        return _consume(chunks, on_chunk)

    def read_api(self, name: str, on_chunk: OnChunk | None = None) -> int:
        _, chunks = self.remote.open_version(name)
        return _consume(chunks, on_chunk)


def _consume(chunks: Iterator[bytes], on_chunk: OnChunk | None) -> int:
    """Read a download to the end; return its length."""
    size = 0
    for chunk in chunks:
        size += len(chunk)
        if on_chunk is not None:
            on_chunk(chunk)
    return size


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _api_home(env: Env) -> Path:
    """A home whose storage is the benchmark's SeaweedFS, with a bucket of its own."""
    settings = env.archive.settings
    credentials = settings.credentials()
    home = env.files / "api-home"
    init_home(home, ExternalStorage(endpoint=settings.storage.endpoint, bucket=BUCKET, region="",
                                    access_key=credentials.access_key, secret_key=credentials.secret_key))
    return home


@contextmanager
def _service(home: Path, output: Path) -> Iterator[str]:
    """Run ``strongroom serve`` on a free loopback port until the block ends; yield its URL."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    with open(output, "wb") as out:
        process = subprocess.Popen([STRONGROOM, "--home", str(home), "serve", "--port", str(port)],
                                   stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while not _healthy(url):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"strongroom serve did not start: {output.read_text(errors='replace')}")
            time.sleep(0.2)
        yield url
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _healthy(url: str) -> bool:
    try:
        return urllib3.request("GET", f"{url}/health", timeout=2, retries=False).status == 200
    except urllib3.exceptions.HTTPError:
        return False


def _comparison(name: str, unit: str, seconds: tuple[list[float], list[float]], rate: Callable[[float], float],
                local_label: str) -> tuple[Comparison, dict[str, object]]:
    """The round with the median ratio API / local as a figure; every round in the details."""
    api_rates, local_rates = ([rate(s) for s in side] for side in seconds)
    figure, mid = median_round(name, unit, api_rates, local_rates, local_label, TARGET)
    return figure, {name: {"api": api_rates, "local": local_rates, "median_round": mid}}


def _small(sides: Sides, rounds: int, per_round: int) -> tuple[list[Comparison], dict[str, object]]:
    docs = [[os.urandom(SMALL) for _ in range(per_round)] for _ in range(rounds)]
    filed: list[list[str]] = [[] for _ in range(rounds)]  # by the local side; both sides read these

    def file_local(round_: int) -> None:
        filed[round_] = [sides.file_local(io.BytesIO(doc)) for doc in docs[round_]]

    def file_api(round_: int) -> None:
        for doc in docs[round_]:
            sides.file_api(io.BytesIO(doc))

    def read(reader: Callable[[str], int]) -> Callable[[int], None]:
        def read_all(round_: int) -> None:
            for name in filed[round_]:
                if reader(name) != SMALL:
                    raise RuntimeError(f"{name}: short read")
        return read_all

    def per_s(seconds: float) -> float:
        return per_round / seconds

    put, put_details = _comparison(f"file {SMALL // KIB} KiB documents", "docs/s",
                                   alternating_rounds(file_api, file_local, rounds), per_s, LOCAL_FILE)
    get, get_details = _comparison(f"read {SMALL // KIB} KiB documents", "docs/s",
                                   alternating_rounds(read(sides.read_api), read(sides.read_local), rounds), per_s,
                                   LOCAL_READ)
    return [put, get], {**put_details, **get_details}


def _large(sides: Sides, source: Path, size: int) -> tuple[list[Comparison], dict[str, object]]:
    original = write_random_file(source, size)
    filed = [""] * LARGE_ROUNDS  # by the local side; both sides read these

    def file_local(round_: int) -> None:
        with open(source, "rb") as data:
            filed[round_] = sides.file_local(data)

    def file_api(_round: int) -> None:
        with open(source, "rb") as data:
            sides.file_api(data)

    def read(reader: Callable[[str], int]) -> Callable[[int], None]:
        def read_one(round_: int) -> None:
            if reader(filed[round_]) != size:
                raise RuntimeError(f"{filed[round_]}: short read")
        return read_one

    label = f"{size // MIB} MiB"
    per_s = partial(mb_per_s, size)
    put, put_details = _comparison(f"file {label}", "MB/s", alternating_rounds(file_api, file_local, LARGE_ROUNDS),
                                   per_s, LOCAL_FILE)
    get, get_details = _comparison(f"read {label}", "MB/s",
                                   alternating_rounds(read(sides.read_api), read(sides.read_local), LARGE_ROUNDS),
                                   per_s, LOCAL_READ)
    for reader in (sides.read_local, sides.read_api):  # untimed: the bytes that come back are the bytes filed
        digest = hashlib.sha256()
        reader(filed[-1], digest.update)
        if digest.hexdigest() != original:
            raise RuntimeError(f"{filed[-1]} read back differs from what was filed")
    source.unlink()
    return [put, get], {**put_details, **get_details, "sha256": original}


def run(env: Env, quick: bool) -> BenchResult:
    rounds, per_round = (6, 5) if quick else (SMALL_ROUNDS, SMALL_PER_ROUND)
    large = 32 * MIB if quick else 256 * MIB
    home = _api_home(env)
    password = secrets.token_urlsafe(24)
    archive = Archive.open(home)
    try:
        add_user(archive, USER, ROLE, password, actor=Actor("bench", None, "bench"))
        archive.ready_to_write()  # create the bucket before anything is timed
        with _service(home, env.files / "api-serve.out") as url:
            remote = RemoteArchive(url, str(RemoteArchive(url).login(USER, password)["token"]))
            try:
                sides = Sides(archive, AccessPolicy.load(archive.settings), remote)
                for _ in range(WARMUP):
                    sides.read_api(sides.file_api(io.BytesIO(os.urandom(SMALL))))
                    sides.read_local(sides.file_local(io.BytesIO(os.urandom(SMALL))))
                small_figures, small_details = _small(sides, rounds, per_round)
                large_figures, large_details = _large(sides, env.files / "api-large.bin", large)
            finally:
                remote.close()
    finally:
        archive.close()
    return BenchResult(
        name="api",
        params={"docs": rounds * per_round, "doc_size": f"{SMALL // KIB} KiB", "small_rounds": rounds,
                "large": f"{large // MIB} MiB", "large_rounds": LARGE_ROUNDS,
                "user_role": ROLE},
        figures=[*small_figures, *large_figures],
        details={**small_details, **large_details},
    )
