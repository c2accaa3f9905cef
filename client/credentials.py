"""Login tokens saved by ``strongroom login``, one per server, in a file of mode 0600."""

from __future__ import annotations

import json
import os
from pathlib import Path

from encryption.private_files import check_private_file, write_private_file
from errors import ConfigError


def credentials_path() -> Path:
    """``$STRONGROOM_CREDENTIALS``, else ``$XDG_CONFIG_HOME/strongroom/credentials.json``."""
    explicit = os.environ.get("STRONGROOM_CREDENTIALS")
    if explicit:
        return Path(explicit)
    config_home = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(config_home) / "strongroom" / "credentials.json"


def _load() -> dict[str, dict[str, str]]:
    path = credentials_path()
    if not path.exists():
        return {}
    check_private_file(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise ConfigError(f"{path} is not a valid credentials file; delete it and log in again") from None
    return data if isinstance(data, dict) else {}


def server_key(url: str) -> str:
    return url.rstrip("/")


def saved_token(url: str) -> str | None:
    entry = _load().get(server_key(url))
    return entry.get("token") if isinstance(entry, dict) else None


def save_token(url: str, user: str, token: str, expires_at: str) -> Path:
    data = _load()
    data[server_key(url)] = {"user": user, "token": token, "expires_at": expires_at}
    path = credentials_path()
    write_private_file(path, json.dumps(data, indent=2).encode("utf-8"))
    return path


def forget_token(url: str) -> None:
    data = _load()
    if data.pop(server_key(url), None) is not None:
        write_private_file(credentials_path(), json.dumps(data, indent=2).encode("utf-8"))
