"""Creating a home directory (``strongroom init``), and the home a whole restore starts from."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from pathlib import Path

import tomli_w

from archive.service import Archive
from backup.escrow import install_keyring
from backup.target_config import TARGETS_FILE, ensure_default_target, load_targets, same_disk_warning
from config.settings import (
    BUCKET_PATTERN,
    CONFIG_FILE,
    Settings,
    load_settings,
    split_endpoint,
)
from encryption.keyring import KeyEntry, Keyring
from encryption.private_files import write_private_file
from errors import ConfigError, Conflict, UsageError
from storage.embedded import EmbeddedServer, choose_ports


@dataclass
class InitReport:
    home: Path
    created: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ExternalStorage:
    """An S3 endpoint other than the embedded one, given at ``init``."""

    endpoint: str
    bucket: str
    region: str
    access_key: str
    secret_key: str


def init_home(home: Path, external: ExternalStorage | None = None) -> InitReport:
    """Create what is missing in ``home``; never overwrite configuration or keys."""
    if external is not None:
        try:
            split_endpoint(external.endpoint)
        except ConfigError as exc:
            raise UsageError(str(exc)) from None
        if not BUCKET_PATTERN.match(external.bucket):
            raise UsageError(f"{external.bucket!r} is not a valid S3 bucket name")
    report = InitReport(home)
    home.mkdir(mode=0o700, parents=True, exist_ok=True)
    for sub in ("secrets", "logs", "run", "storage"):
        (home / sub).mkdir(mode=0o700, exist_ok=True)
    config_path = home / CONFIG_FILE
    if config_path.exists():
        if external is not None:
            raise ConfigError(f"{config_path} exists; edit it to change the storage endpoint")
        report.kept.append(CONFIG_FILE)
    else:
        settings = Settings(home=home)
        if external is None:
            for name, port in choose_ports().items():
                setattr(settings.embedded, name, port)
            settings.storage.endpoint = f"http://127.0.0.1:{settings.embedded.s3_port}"
        else:
            settings.storage.mode = "external"
            settings.storage.endpoint = external.endpoint
            settings.storage.bucket = external.bucket
            settings.storage.region = external.region
        tmp = config_path.with_suffix(".tmp")
        tmp.write_text(_header() + tomli_w.dumps(settings.to_toml()), encoding="utf-8")
        tmp.replace(config_path)
        report.created.append(CONFIG_FILE)
    settings = load_settings(home)
    if settings.credentials_path.exists():
        report.kept.append(settings.storage.credentials_file)
    else:
        if external is not None:
            credentials = {"access_key": external.access_key, "secret_key": external.secret_key}
        else:
            credentials = {"access_key": "SR" + secrets.token_hex(9).upper(), "secret_key": secrets.token_urlsafe(30)}
        write_private_file(settings.credentials_path, json.dumps(credentials).encode())
        report.created.append(settings.storage.credentials_file)
    if settings.is_embedded:
        server = EmbeddedServer(settings)
        if not server.identities_path.exists():
            server.write_identities(settings.credentials())
    if settings.keyring_path.exists():
        report.kept.append("secrets/keyring.json")
    else:
        Keyring.create(settings.keyring_path)
        report.created.append("secrets/keyring.json")
    _default_backup_target(settings, report)
    Archive(settings).close()
    return report


def prepare_home(home: Path, keys: list[KeyEntry], external: ExternalStorage | None) -> bool:
    """Make ``home`` ready for a whole restore: the escrowed ``keys`` first, then ``init``.

    True if the home was initialised here; False if it already was, with these very keys (a
    restore that stopped part-way and is run again: it keeps its storage settings). Anything
    else in the directory is refused, so a restore never lands on a home in use.
    """
    settings = Settings(home=home)
    initialised = (home / CONFIG_FILE).exists()
    if not initialised and home.exists():
        keyring = settings.keyring_path.name  # the keyring, its lock and temporary files: an earlier attempt's
        stray = [p.name for p in home.iterdir() if p != settings.secrets_dir]
        if settings.secrets_dir.is_dir():
            stray += [f"secrets/{p.name}" for p in settings.secrets_dir.iterdir()
                      if not p.name.lstrip(".").startswith(keyring)]
        if stray:
            raise Conflict(f"{home} is not empty (it holds {sorted(stray)[0]}): restore into a new directory")
    home.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        install_keyring(settings.keyring_path, keys)
    except Conflict:
        raise Conflict(f"{home} holds another keyring: restore into a new home") from None
    if initialised:
        return False
    init_home(home, external)
    return True


def _default_backup_target(settings: Settings, report: InitReport) -> None:
    """A ``local`` backup target in the home, so ``backup run`` works at once (with a warning)."""
    if not ensure_default_target(settings.home):
        report.kept.append(TARGETS_FILE)
        return
    report.created.append(TARGETS_FILE)
    for target in load_targets(settings).values():
        warning = same_disk_warning(settings, target)
        if warning:
            report.warnings.append(warning)


def _header() -> str:
    return (
        "# Strongroom configuration. Every setting can be overridden by an environment variable\n"
        "# named STRONGROOM_<SECTION>_<SETTING>, e.g. STRONGROOM_STORAGE_BUCKET.\n"
        "# Secrets are not kept here: see secrets/ (mode 0600).\n\n"
    )
