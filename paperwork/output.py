"""Writing a generated document: whole or not at all."""

from __future__ import annotations

import os
import re
import sys
import tempfile
from pathlib import Path

from errors import UsageError

_UNSAFE = re.compile(r"[^\w.-]+")


def safe_filename(*parts: str) -> str:
    """``minutes-weekly-2026-11-06.docx`` from parts that may hold spaces, slashes or colons."""
    return "-".join(_UNSAFE.sub("-", part).strip("-") for part in parts if part) + ".docx"


def write_document(target: str, data: bytes, *, force: bool) -> None:
    """Write to ``target`` ('-': stdout) through a temporary file renamed into place, so a failure
    or an interruption never leaves a half-written document; an existing file is kept unless ``force``.
    The file is created readable by its owner only (mode 0600), like the temporary file it was."""
    if target == "-":
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return
    path = Path(target)
    if path.is_dir():
        raise UsageError(f"{path} is a directory")
    if path.exists() and not force:
        raise UsageError(f"{path} exists; use --force to replace it")
    try:
        descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror}") from None
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException as exc:
        Path(temporary).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise UsageError(f"cannot write {path}: {exc.strerror}") from None
        raise
