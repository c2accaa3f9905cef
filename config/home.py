"""Locating a home directory (creating one is :mod:`bootstrap.home`)."""

from __future__ import annotations

import os
from pathlib import Path

from config.settings import ENV_PREFIX

DEFAULT_HOME = Path("~/.strongroom")


def resolve_home(option: str | None) -> Path:
    """``--home``, else ``STRONGROOM_HOME``, else ``~/.strongroom``."""
    raw = option or os.environ.get(f"{ENV_PREFIX}HOME") or str(DEFAULT_HOME)
    return Path(raw).expanduser().absolute()
