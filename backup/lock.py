"""One backup operation at a time per home (run, prune, restore).

An OS file lock (``flock``) on ``HOME/run/backup.lock``: the kernel drops it when the
holder exits or is killed, so a crashed run never leaves a stale lock behind.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from filelock import FileLock, Timeout

from config.settings import Settings
from errors import Conflict


@contextmanager
def backup_lock(settings: Settings) -> Iterator[None]:
    """Hold the home's backup lock, or raise Conflict at once if another process holds it."""
    settings.run_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = settings.run_dir / "backup.lock"
    lock = FileLock(str(path), timeout=0)
    try:
        lock.acquire()
    except Timeout:
        raise Conflict(f"another backup operation is running on this home (lock {path})") from None
    try:
        yield
    finally:
        lock.release()
