"""Test fixtures: one real embedded SeaweedFS per test run, a fresh home and bucket per test.

Every test home is configured as an *external* S3 endpoint pointing at the suite's
SeaweedFS (started through Strongroom's own embedded-storage code), each with a bucket
of its own, so tests are isolated without starting a server each.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from archive.service import Archive
from bootstrap.home import ExternalStorage, init_home
from config.settings import Settings, load_settings
from storage.embedded import EmbeddedServer

REPO = Path(__file__).resolve().parent.parent
STRONGROOM = str(Path(sys.executable).parent / "strongroom")


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """The suite's SeaweedFS, run from an embedded-mode home; yields that home's settings."""
    home = tmp_path_factory.mktemp("s3-server-home")
    init_home(home)
    settings = load_settings(home)
    server = EmbeddedServer(settings)
    server.start()
    yield settings
    server.stop()


def make_home(path: Path, server: Settings, bucket: str | None = None) -> Path:
    credentials = server.credentials()
    init_home(
        path,
        ExternalStorage(
            endpoint=server.storage.endpoint,
            bucket=bucket or f"t-{uuid.uuid4().hex[:20]}",
            region="",
            access_key=credentials.access_key,
            secret_key=credentials.secret_key,
        ),
    )
    return path


@pytest.fixture
def home(tmp_path: Path, s3_server: Settings, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh home with its own bucket on the suite's S3 server."""
    monkeypatch.delenv("STRONGROOM_HOME", raising=False)
    monkeypatch.setenv("STRONGROOM_USER", "tester")
    return make_home(tmp_path / "home", s3_server)


@pytest.fixture
def archive(home: Path) -> Iterator[Archive]:
    opened = Archive.open(home)
    yield opened
    opened.close()


def cli(home: Path, *args: str, input: bytes | None = None) -> Result:
    """Run the CLI in-process against ``home``."""
    from cli import main

    runner = CliRunner()
    return runner.invoke(main, ["--home", str(home), *args], input=input, catch_exceptions=False)


def cli_process(
    home: Path, *args: str, env: dict[str, str] | None = None, **kwargs: object
) -> subprocess.CompletedProcess[bytes]:
    """Run the installed ``strongroom`` command in a child process against ``home`` (``env`` adds variables)."""
    env = {**os.environ, "STRONGROOM_HOME": str(home), **(env or {})}
    return subprocess.run([STRONGROOM, *args], env=env, capture_output=True, timeout=300, **kwargs)  # type: ignore[call-overload]
