"""The benchmark environment: a throw-away embedded-storage home with its SeaweedFS running."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from archive.service import Archive
from bootstrap.home import init_home
from config.settings import ENV_PREFIX, load_settings
from storage.embedded import EmbeddedServer
from storage.s3 import ObjectStore

BASELINE_BUCKET = "bench-baseline"
STRONGROOM = str(Path(sys.executable).parent / "strongroom")


@dataclass(frozen=True)
class Env:
    home: Path
    files: Path  # scratch space for generated and downloaded files
    archive: Archive
    baseline: ObjectStore  # a second, also versioned, bucket on the same server, used through .client

    def cli_env(self) -> dict[str, str]:
        """Environment for ``strongroom`` child processes: the benchmark home."""
        return {**os.environ, f"{ENV_PREFIX}HOME": str(self.home)}


@contextmanager
def bench_env() -> Iterator[Env]:
    """Create the home in a temporary directory (under $TMPDIR), start storage, clean up after.

    ``STRONGROOM_*`` variables of the caller are dropped first, so neither this process
    nor its ``strongroom`` children pick up another home's settings.
    """
    for name in [name for name in os.environ if name.startswith(ENV_PREFIX)]:
        del os.environ[name]
    os.environ[f"{ENV_PREFIX}USER"] = "bench"
    root = Path(tempfile.mkdtemp(prefix="strongroom-bench-"))
    server: EmbeddedServer | None = None
    try:
        home = root / "home"
        init_home(home)
        settings = load_settings(home)
        server = EmbeddedServer(settings)
        server.start()
        credentials = settings.credentials()
        baseline = ObjectStore(
            settings.endpoint_host,
            credentials.access_key,
            credentials.secret_key,
            BASELINE_BUCKET,
            secure=settings.endpoint_secure,
            region=settings.storage.region,
            part_size=settings.part_size,
        )
        baseline.ensure_bucket()
        files = root / "files"
        files.mkdir()
        archive = Archive(settings)
        try:
            archive.store  # noqa: B018 - create the records bucket before anything is timed
            yield Env(home, files, archive, baseline)
        finally:
            archive.close()
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(root, ignore_errors=True)
