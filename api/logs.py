"""The service's logging: one line per event on stderr, the details (tracebacks) in ``HOME/logs/strongroom.log``.

Given to uvicorn as its ``log_config`` (a :func:`logging.config.dictConfig` dictionary), so
uvicorn's own records ("Exception in ASGI application" with a traceback) and the service's
(``strongroom.*``) go through the same two handlers: a terminal or service manager reads
one line each, as the CLI prints its errors, and the log file keeps everything.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from errors import StrongroomError

LOG_FILE = "strongroom.log"
DETAIL_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def summary(record: logging.LogRecord, log_file: str) -> str:
    """One line for a log record: its message, or for an exception what it was and where the details are."""
    exc = record.exc_info[1] if record.exc_info else None
    if isinstance(exc, StrongroomError):
        text = f"{type(exc).__name__}: {exc}; details in {log_file}"
    elif exc is not None:
        text = f"internal error ({type(exc).__name__}); details in {log_file}"
    else:
        text = record.getMessage()
    lines = text.strip().splitlines()
    return f"strongroom: {record.levelname.lower()}: {lines[0] if lines else ''}"


class OneLine(logging.Formatter):
    """A record as one line, never with a traceback (those go to the log file)."""

    def __init__(self, log_file: str) -> None:
        super().__init__()
        self.log_file = log_file

    def format(self, record: logging.LogRecord) -> str:
        return summary(record, self.log_file)


def private_file(path: str) -> logging.FileHandler:
    """An appending handler on ``path``, created with mode 0600 in a directory of mode 0700."""
    target = Path(path)
    target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.close(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600))
    return logging.FileHandler(target, encoding="utf-8")


def log_config(logs_dir: Path) -> dict[str, Any]:
    """The dictConfig of the running service: every logger (uvicorn's included) to stderr and the log file."""
    path = str(logs_dir / LOG_FILE)
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "line": {"()": OneLine, "log_file": path},
            "detail": {"format": DETAIL_FORMAT},
        },
        "handlers": {
            "stderr": {"class": "logging.StreamHandler", "formatter": "line", "stream": "ext://sys.stderr"},
            "file": {"()": private_file, "path": path, "formatter": "detail"},
        },
        "root": {"handlers": ["stderr", "file"], "level": "WARNING"},
    }
