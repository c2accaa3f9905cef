"""Many processes filing at once, and processes killed in the middle of a filing."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from archive.filing import _allocate, _meta
from archive.objects import write_object
from archive.reading import read_version, resolve
from archive.repair import repair
from archive.service import Archive
from catalog.schema import Record, RecordState, Version, VersionState
from tests.conftest import STRONGROOM, cli, cli_process

PROCESSES = 8
PER_PROCESS = 3


def _filer(home: Path, tmp: Path, worker: int) -> list[tuple[str, bytes]]:
    filed = []
    for index in range(PER_PROCESS):
        content = f"worker {worker} document {index} ".encode() * 50
        path = tmp / f"w{worker}-{index}.txt"
        path.write_bytes(content)
        result = cli_process(home, "put", str(path), "--type", "minutes", "--as", f"user{worker}")
        assert result.returncode == 0, result.stderr
        filed.append((result.stdout.decode().strip(), content))
    return filed


def test_parallel_processes_get_unique_consecutive_numbers(home: Path, tmp_path: Path):
    with ThreadPoolExecutor(PROCESSES) as pool:
        results = list(pool.map(lambda w: _filer(home, tmp_path, w), range(PROCESSES)))
    filed = [item for worker in results for item in worker]
    names = sorted(name for name, _ in filed)
    total = PROCESSES * PER_PROCESS
    assert names == [f"2026-{n:04d}-minutes" for n in range(1, total + 1)]
    archive = Archive.open(home)
    for name, content in filed:
        assert b"".join(read_version(archive, resolve(archive, name))) == content
    listed = json.loads(cli(home, "ls", "--all", "--json").output)
    assert [r["state"] for r in listed] == ["active"] * total
    archive.close()


def _pending_rows(home: Path) -> list[Version]:
    archive = Archive.open(home)
    try:
        with archive.catalog.read() as session:
            return list(session.query(Version).filter_by(state=VersionState.PENDING))
    finally:
        archive.close()


def _kill_during_upload(home: Path, args: list[str]) -> None:
    env = {**os.environ, "STRONGROOM_HOME": str(home)}
    process = subprocess.Popen([STRONGROOM, *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while not _pending_rows(home):
        assert process.poll() is None, process.stderr.read()  # type: ignore[union-attr]
        assert time.monotonic() < deadline
        time.sleep(0.05)
    time.sleep(0.3)
    process.send_signal(signal.SIGKILL)
    process.wait()


def test_killed_first_filing_is_voided_by_repair(home: Path, tmp_path: Path):
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(150 * 1024 * 1024))
    _kill_during_upload(home, ["put", str(big), "--type", "report"])
    assert len(_pending_rows(home)) == 1
    result = cli(home, "repair", "--json")
    actions = json.loads(result.output)
    assert [(a["name"], a["action"]) for a in actions] == [("2026-0001-report", "voided")]
    assert _pending_rows(home) == []
    listed = json.loads(cli(home, "ls", "--all", "--json").output)
    assert listed[0]["state"] == "void" and "interrupted" in listed[0]["void_reason"]
    assert cli(home, "put", "-", "--type", "report", input=b"again").output.strip() == "2026-0002-report"
    assert cli(home, "verify").exit_code == 0


def test_killed_new_version_is_dropped_and_record_still_reads(home: Path, tmp_path: Path):
    assert cli(home, "put", "-", "--type", "contract", input=b"version one").exit_code == 0
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(150 * 1024 * 1024))
    _kill_during_upload(home, ["put", str(big), "--to", "2026-0001-contract"])
    blocked = cli(home, "put", "-", "--to", "2026-0001-contract", input=b"v2")
    assert blocked.exit_code == 1 and "strongroom repair" in blocked.output
    actions = json.loads(cli(home, "repair", "--json").output)
    assert [(a["version"], a["action"]) for a in actions] == [(2, "dropped")]
    assert cli(home, "get", "2026-0001-contract", "-o", "-").stdout_bytes == b"version one"
    assert cli(home, "put", "-", "--to", "2026-0001-contract", input=b"v2").output.strip() == "2026-0001-contract v2"
    assert cli(home, "get", "2026-0001-contract", "--version", "1", "-o", "-").stdout_bytes == b"version one"
    assert cli(home, "verify").exit_code == 0


def test_repair_completes_an_upload_that_finished_before_the_crash(archive):
    """The writer died after its object was stored but before the catalog said so."""
    record, version = _allocate(archive, "contract", 2026, "title", "tester", "a.txt", None)
    write_object(archive, version.object_key, io.BytesIO(b"made it"), bytes.fromhex(version.nonce), _meta(record, version))
    with archive.catalog.write() as session:
        session.get(Version, version.id).writer = "elsewhere-host:1"  # type: ignore[union-attr]
    skipped = repair(archive)
    assert [a.action for a in skipped] == ["skipped"], "a writer on another host is not presumed dead"
    actions = repair(archive, force=True)
    assert [(a.name, a.action) for a in actions] == [("2026-0001-contract", "completed")]
    assert b"".join(read_version(archive, resolve(archive, "2026-0001-contract"))) == b"made it"
    with archive.catalog.read() as session:
        assert session.query(Record).one().state == RecordState.ACTIVE


def test_repair_leaves_live_writers_alone(archive):
    record, version = _allocate(archive, "contract", 2026, None, "tester", None, None)
    actions = repair(archive)
    assert [(a.action, a.detail.startswith("still being filed")) for a in actions] == [("skipped", True)]
    with archive.catalog.read() as session:
        assert session.get(Record, record.id).state == RecordState.PENDING  # type: ignore[union-attr]
