"""Named backup targets of a home: ``HOME/backup-targets.toml`` and their S3 credentials.

Targets are kept in a file of their own rather than in ``strongroom.toml`` because
they form a table keyed by name (which ``strongroom.toml``'s flat, one environment
variable per setting scheme cannot express), and because ``backup target add``
rewrites the file, which must not disturb a hand-edited ``strongroom.toml``. The file
holds no secrets; an S3 target's access and secret key, when they are not the
archive's own, live in ``secrets/backup-credentials.json`` (mode 0600).
"""

from __future__ import annotations

import json
import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

import tomli_w

from backup.targets import (
    DirectoryLocation,
    DirectoryTarget,
    Location,
    S3Location,
    S3Target,
    Target,
    parse_location,
)
from config.settings import TARGET_NAME_PATTERN, S3Credentials, Settings, split_endpoint
from encryption.private_files import check_private_file, write_private_file
from errors import ConfigError, Conflict, NotFound, UsageError

TARGETS_FILE = "backup-targets.toml"
CREDENTIALS_FILE = "secrets/backup-credentials.json"
DEFAULT_TARGET = "local"
DEFAULT_DIRECTORY = "backups"
HEADER = (
    "# Strongroom backup targets: [targets.NAME] url = \"https://host[:port]/bucket[/prefix]\" or a directory\n"
    "# (relative paths are inside the home). Managed by 'strongroom backup target add'.\n\n"
)


@dataclass(frozen=True)
class ConfiguredTarget:
    name: str
    url: str
    location: Location

    def as_dict(self) -> dict[str, str]:
        kind = "s3" if isinstance(self.location, S3Location) else "directory"
        return {"name": self.name, "url": self.url, "kind": kind, "location": str(self.location)}


def _targets_path(home: Path) -> Path:
    return home / TARGETS_FILE


def _read(home: Path) -> dict[str, str]:
    path = _targets_path(home)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}") from None
    table = raw.get("targets", {})
    if set(raw) - {"targets"} or not isinstance(table, dict):
        raise ConfigError(f"{path} must hold only a [targets] table")
    urls: dict[str, str] = {}
    for name, entry in table.items():
        if not isinstance(entry, dict) or set(entry) != {"url"} or not isinstance(entry["url"], str):
            raise ConfigError(f"{path}: [targets.{name}] must have exactly one setting, url")
        urls[name] = entry["url"]
    return urls


def _write(home: Path, urls: dict[str, str]) -> None:
    path = _targets_path(home)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(HEADER + tomli_w.dumps({"targets": {n: {"url": u} for n, u in sorted(urls.items())}}), "utf-8")
    tmp.replace(path)


def _check_name(name: str) -> str:
    if not TARGET_NAME_PATTERN.match(name):
        raise UsageError(f"invalid target name {name!r}: lower-case letters, digits and '-', starting with a letter")
    return name


def load_targets(settings: Settings) -> dict[str, ConfiguredTarget]:
    targets = {}
    for name, url in _read(settings.home).items():
        try:
            _check_name(name)
            location = parse_location(url, settings.home, allow_insecure_http=settings.storage.allow_insecure_http)
        except UsageError as exc:
            raise ConfigError(f"{_targets_path(settings.home)}: target {name!r}: {exc}") from None
        targets[name] = ConfiguredTarget(name, url, location)
    return targets


def choose_target(settings: Settings, name: str | None) -> ConfiguredTarget:
    """The target called ``name``, else ``backup.default_target``."""
    chosen = name or settings.backup.default_target
    if not chosen:
        raise UsageError("no backup target: give --target NAME or set backup.default_target")
    targets = load_targets(settings)
    if chosen not in targets:
        known = ", ".join(sorted(targets)) or "none"
        raise NotFound(f"no backup target {chosen!r} (configured: {known}); add one with 'strongroom backup target add'")
    return targets[chosen]


def target_at(
    settings: Settings, url: str, credentials: S3Credentials | None = None
) -> tuple[ConfiguredTarget, Target]:
    """A target given by where it is rather than by name (``backup restore --from``), opened.

    A directory is relative to the working directory, as any path on a command line, and
    must exist; an S3 URL uses ``credentials``, else the archive's own.
    """
    location = parse_location(url, Path.cwd(), allow_insecure_http=settings.storage.allow_insecure_http)
    if credentials is not None and not isinstance(location, S3Location):
        raise UsageError("S3 credentials go with an S3 target (https://host[:port]/bucket)")
    if isinstance(location, DirectoryLocation) and not location.path.is_dir():
        raise NotFound(f"there is no backup directory {location.path}")
    configured = ConfiguredTarget(url, url, location)
    return configured, open_target(settings, configured, credentials)


def add_target(settings: Settings, name: str, url: str, credentials: S3Credentials | None = None) -> ConfiguredTarget:
    """Check that the target can be used (creating it if new), then record it; refuse an existing name.

    ``credentials`` are the target's own S3 keys, kept in the secrets directory; without
    them an S3 target uses the archive's own S3 credentials.
    """
    _check_name(name)
    location = parse_location(url, settings.home, allow_insecure_http=settings.storage.allow_insecure_http)
    _refuse_archive_storage(settings, location)
    urls = _read(settings.home)
    if name in urls:
        raise Conflict(f"backup target {name!r} exists ({urls[name]}); edit {_targets_path(settings.home)} to change it")
    if credentials is not None and not isinstance(location, S3Location):
        raise UsageError("S3 credentials go with an S3 target (https://host[:port]/bucket)")
    configured = ConfiguredTarget(name, url, location)
    open_target(settings, configured, credentials)
    if credentials is not None:
        stored = _read_credentials(settings)
        stored[name] = {"access_key": credentials.access_key, "secret_key": credentials.secret_key}
        write_private_file(settings.home / CREDENTIALS_FILE, json.dumps(stored).encode())
    urls[name] = url
    _write(settings.home, urls)
    return configured


def ensure_default_target(home: Path) -> bool:
    """Configure ``local`` = ``HOME/backups`` when the home has no targets file; True if written."""
    if _targets_path(home).exists():
        return False
    _write(home, {DEFAULT_TARGET: DEFAULT_DIRECTORY})
    return True


def _refuse_archive_storage(settings: Settings, location: Location) -> None:
    if isinstance(location, S3Location):
        if location.bucket == settings.storage.bucket and _same_endpoint(settings, location):
            raise UsageError("a backup target cannot be the archive's own bucket")
    elif _is_within(location.path, settings.storage_dir) or _is_within(location.path, settings.secrets_dir):
        raise UsageError(f"a backup directory cannot be inside {settings.storage_dir} or {settings.secrets_dir}")


def _same_endpoint(settings: Settings, location: S3Location) -> bool:
    try:
        return split_endpoint(settings.storage.endpoint)[0] == split_endpoint(location.endpoint)[0]
    except ConfigError:
        return False


def _is_within(path: Path, directory: Path) -> bool:
    return path.resolve() == directory.resolve() or directory.resolve() in path.resolve().parents


def same_disk_warning(settings: Settings, target: ConfiguredTarget) -> str | None:
    """Why this target is not a disaster-recovery copy, if it is on the archive's own disk or server."""
    location = target.location
    if isinstance(location, S3Location):
        if _same_endpoint(settings, location):
            return f"backup target {target.name!r} is on the archive's own S3 server: not a disaster-recovery copy"
        return None
    if _device(location.path) == _device(settings.home):
        return (f"backup target {target.name!r} ({location.path}) is on the same disk as the archive: "
                "not a disaster-recovery copy; add another with 'strongroom backup target add NAME URL|DIR'")
    return None


def _device(path: Path) -> int | None:
    for candidate in (path, *path.parents):
        try:
            return candidate.stat().st_dev
        except OSError:
            continue
    return None


def _read_credentials(settings: Settings) -> dict[str, dict[str, str]]:
    path = settings.home / CREDENTIALS_FILE
    try:
        check_private_file(path)
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    except ValueError:
        raise ConfigError(f"{path} is not valid JSON") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path} is not valid")
    return data


def open_target(settings: Settings, target: ConfiguredTarget, credentials: S3Credentials | None = None) -> Target:
    """A ready target (created and marked if new).

    An S3 target uses ``credentials`` if given, else its own stored ones, else the archive's.
    """
    location = target.location
    opened: Target
    if isinstance(location, DirectoryLocation):
        opened = DirectoryTarget(location)
    else:
        opened = S3Target(location, credentials or _credentials_of(settings, target.name),
                          threads=settings.backup.threads)
    opened.prepare()
    return opened


def _credentials_of(settings: Settings, name: str) -> S3Credentials:
    own = _read_credentials(settings).get(name)
    if own is None:
        return settings.credentials()
    try:
        return S3Credentials(str(own["access_key"]), str(own["secret_key"]))
    except (KeyError, TypeError):
        raise ConfigError(f"{settings.home / CREDENTIALS_FILE}: the credentials of {name!r} are not valid") from None
