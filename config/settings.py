"""Settings read from ``HOME/strongroom.toml``, each overridable by an environment variable.

The variable for ``[section] field`` is ``STRONGROOM_SECTION_FIELD`` (upper case), e.g.
``STRONGROOM_STORAGE_ENDPOINT`` or ``STRONGROOM_RECORDS_TYPES`` (comma-separated lists).
S3 credentials live in their own file (mode 0600) or in ``STRONGROOM_S3_ACCESS_KEY`` and
``STRONGROOM_S3_SECRET_KEY``; they never appear in ``strongroom.toml``.
"""

from __future__ import annotations

import json
import os
import re
import tomllib
import types
import typing
from dataclasses import dataclass, field, fields
from pathlib import Path
from urllib.parse import urlsplit

from encryption.private_files import check_private_file
from errors import ConfigError
from naming import InvalidName, validate_type

CONFIG_FILE = "strongroom.toml"
DEFAULT_TYPES = ["contract", "minutes", "report", "letter", "other"]
ENV_PREFIX = "STRONGROOM_"
BUCKET_PATTERN = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]\Z")
TARGET_NAME_PATTERN = re.compile(r"^[a-z][a-z0-9-]{0,31}\Z")


@dataclass
class StorageSettings:
    """Where records are stored. ``mode`` is ``embedded`` (SeaweedFS run by Strongroom) or ``external``."""

    mode: str = "embedded"
    endpoint: str = ""
    region: str = ""
    bucket: str = "strongroom-records"
    credentials_file: str = "secrets/s3-credentials.json"
    part_size_mb: int = 8
    allow_insecure_http: bool = False


@dataclass
class EmbeddedSettings:
    """Ports of the embedded SeaweedFS server, chosen free at ``init`` and kept."""

    master_port: int = 0
    master_grpc_port: int = 0
    volume_port: int = 0
    volume_grpc_port: int = 0
    filer_port: int = 0
    filer_grpc_port: int = 0
    s3_port: int = 0
    s3_grpc_port: int = 0
    volume_size_limit_mb: int = 1024
    volume_max: int = 256
    start_timeout_s: int = 60


@dataclass
class RecordsSettings:
    """Record types that may be filed and how content is chunked for encryption."""

    types: list[str] = field(default_factory=lambda: list(DEFAULT_TYPES))
    chunk_size_kb: int = 1024


@dataclass
class CatalogSettings:
    """The catalog database; an empty URL means the SQLite file ``HOME/catalog.sqlite3``."""

    url: str = ""


@dataclass
class ServiceSettings:
    """The HTTP service: where it listens and how long a login lasts."""

    host: str = "127.0.0.1"
    port: int = 8080
    token_hours: int = 8
    lockout_after: int = 5
    lockout_minutes: int = 15


@dataclass
class AccessSettings:
    """Access grants; empty policy paths mean the Casbin model and policy shipped in ``access/``."""

    default_grant_days: int = 7
    max_grant_days: int = 90
    model_path: str = ""
    policy_path: str = ""


@dataclass
class AuditSettings:
    """How often the audit chain head is checkpointed into the bucket, and how long it stays locked."""

    checkpoint_every: int = 100
    checkpoint_retention_days: int = 3650


DEFAULT_MEETINGS = ["weekly = weekly fri 15:00", "strategy = quarterly 1 fri 10:00"]


@dataclass
class PaperworkSettings:
    """Meeting register, minutes and monthly reports.

    ``meetings`` are recurring meetings, ``NAME = weekly DAY HH:MM`` or ``NAME = monthly|quarterly
    NTH DAY HH:MM`` (NTH 1-4 or ``last``), in ``time_zone``. Minutes are due ``minutes_deadline_hours``
    after a meeting starts; a month's report by the end of day ``report_due_day`` of the next month.
    ``track_from`` (YYYY-MM-DD) is when recurring meetings and reports start to count; empty means
    the day the meeting register was created.
    """

    time_zone: str = "Asia/Shanghai"
    meetings: list[str] = field(default_factory=lambda: list(DEFAULT_MEETINGS))
    minutes_deadline_hours: int = 24
    action_due_days: int = 7
    report_due_day: int = 5
    satisfaction_target: int = 90
    complaint_reduction_target: int = 20
    track_from: str = ""


@dataclass
class BackupSettings:
    """Backups: how often ``backup run --if-due`` runs, the target it uses by default, copy threads.

    Targets themselves (name → S3 URL or directory) live in ``HOME/backup-targets.toml``,
    managed by ``strongroom backup target add``; see :mod:`backup.target_config`.
    """

    interval_days: int = 7
    default_target: str = "local"
    threads: int = 4


DEFAULT_SCHEDULES = [
    "contract = 10 years from end",
    "minutes = 5 years from filing",
    "report = 3 years from filing",
    "letter = 5 years from filing",
    "other = 5 years from filing",
]


@dataclass
class RetentionSettings:
    """How long records are kept, write-once storage, and moving superseded versions to a cheaper tier.

    ``schedules``: one ``TYPE = PERIOD from TRIGGER`` line per record type (see
    :mod:`schedules.retention`). ``object_lock``: put every stored version under S3 Object Lock
    (compliance mode) until its retention date, where the bucket supports it.
    ``archive_after_days``: superseded versions older than this move to ``archive_storage_class``
    (0: never). ``notice_days``: ``retention apply`` reports records whose retention ends
    within this many days. Dates are days in ``paperwork.time_zone``.
    """

    schedules: list[str] = field(default_factory=lambda: list(DEFAULT_SCHEDULES))
    object_lock: bool = True
    archive_after_days: int = 0
    archive_storage_class: str = "STANDARD_IA"
    notice_days: int = 90


RESTRICTED_HITS = ("names", "count", "none")


@dataclass
class SearchSettings:
    """What a search tells those who may audit about matching records they may not read.

    ``restricted_hits``: ``names`` (each such record's name and type), ``count`` (only how many) or
    ``none`` (nothing). Whatever the setting, only plain words are matched against those records
    (see docs/architecture.md, security model).
    """

    restricted_hits: str = "count"


WEB_LANGUAGES = ("zh", "en")


@dataclass
class WebSettings:
    """The web interface served by ``strongroom serve`` under ``/web``: its default language (``zh`` or ``en``)."""

    language: str = "zh"


@dataclass(frozen=True)
class S3Credentials:
    access_key: str
    secret_key: str

    def __repr__(self) -> str:
        return "S3Credentials(<redacted>)"


@dataclass
class Settings:
    """All configuration of one home directory."""

    home: Path
    storage: StorageSettings = field(default_factory=StorageSettings)
    embedded: EmbeddedSettings = field(default_factory=EmbeddedSettings)
    records: RecordsSettings = field(default_factory=RecordsSettings)
    catalog: CatalogSettings = field(default_factory=CatalogSettings)
    service: ServiceSettings = field(default_factory=ServiceSettings)
    access: AccessSettings = field(default_factory=AccessSettings)
    audit: AuditSettings = field(default_factory=AuditSettings)
    backup: BackupSettings = field(default_factory=BackupSettings)
    paperwork: PaperworkSettings = field(default_factory=PaperworkSettings)
    retention: RetentionSettings = field(default_factory=RetentionSettings)
    search: SearchSettings = field(default_factory=SearchSettings)
    web: WebSettings = field(default_factory=WebSettings)

    @property
    def config_path(self) -> Path:
        return self.home / CONFIG_FILE

    @property
    def secrets_dir(self) -> Path:
        return self.home / "secrets"

    @property
    def keyring_path(self) -> Path:
        return self.secrets_dir / "keyring.json"

    @property
    def logs_dir(self) -> Path:
        return self.home / "logs"

    @property
    def run_dir(self) -> Path:
        return self.home / "run"

    @property
    def storage_dir(self) -> Path:
        return self.home / "storage"

    @property
    def credentials_path(self) -> Path:
        return self.home / self.storage.credentials_file

    @property
    def catalog_url(self) -> str:
        return self.catalog.url or f"sqlite:///{self.home / 'catalog.sqlite3'}"

    @property
    def is_embedded(self) -> bool:
        return self.storage.mode == "embedded"

    @property
    def endpoint_host(self) -> str:
        """``host:port`` of the S3 endpoint, as the minio client wants it."""
        return split_endpoint(self.storage.endpoint)[0]

    @property
    def endpoint_secure(self) -> bool:
        return split_endpoint(self.storage.endpoint)[1]

    @property
    def chunk_size(self) -> int:
        return self.records.chunk_size_kb * 1024

    @property
    def part_size(self) -> int:
        return self.storage.part_size_mb * 1024 * 1024

    def credentials(self) -> S3Credentials:
        """S3 credentials from the environment, else from the credentials file."""
        access = os.environ.get(f"{ENV_PREFIX}S3_ACCESS_KEY")
        secret = os.environ.get(f"{ENV_PREFIX}S3_SECRET_KEY")
        if access and secret:
            return S3Credentials(access, secret)
        try:
            check_private_file(self.credentials_path)
            data = json.loads(self.credentials_path.read_text())
            return S3Credentials(str(data["access_key"]), str(data["secret_key"]))
        except FileNotFoundError:
            raise ConfigError(
                f"no S3 credentials: {self.credentials_path} is missing and "
                f"{ENV_PREFIX}S3_ACCESS_KEY/{ENV_PREFIX}S3_SECRET_KEY are not set"
            ) from None
        except (ValueError, KeyError, TypeError):
            raise ConfigError(f"S3 credentials file {self.credentials_path} is not valid") from None

    def to_toml(self) -> dict[str, dict[str, object]]:
        """The settings as written to ``strongroom.toml`` (no secrets, no home path)."""
        return {name: _section_dict(getattr(self, name)) for name in SECTIONS}


SECTIONS = (
    "storage", "embedded", "records", "catalog", "service", "access", "audit", "paperwork", "backup", "retention",
    "search", "web",
)


def _section_dict(section: object) -> dict[str, object]:
    return {f.name: getattr(section, f.name) for f in fields(section)}  # type: ignore[arg-type]


def split_endpoint(endpoint: str) -> tuple[str, bool]:
    """``(host:port, uses TLS)`` of an ``http(s)://host[:port]`` endpoint URL, or ConfigError."""
    if not endpoint:
        raise ConfigError("storage.endpoint is not configured; run 'strongroom init'")
    invalid = ConfigError(f"storage.endpoint {endpoint!r} is not an http(s)://host[:port] URL")
    parts = urlsplit(endpoint if "://" in endpoint else f"https://{endpoint}")
    try:
        parts.port  # noqa: B018 - raises ValueError for a malformed or out-of-range port
    except ValueError:
        raise invalid from None
    if (
        parts.scheme not in ("http", "https")
        or not parts.hostname
        or parts.path not in ("", "/")
        or parts.username is not None
        or parts.query
        or parts.fragment
        or parts.netloc.endswith(":")
        or any(ch.isspace() for ch in parts.netloc)
    ):
        raise invalid
    return parts.netloc, parts.scheme == "https"


def _coerce(value: object, annotation: object, where: str) -> object:
    origin = typing.get_origin(annotation)
    if annotation is bool:
        if isinstance(value, str):
            lowered = value.strip().lower()
            if lowered in ("1", "true", "yes", "on"):
                return True
            if lowered in ("0", "false", "no", "off"):
                return False
        if isinstance(value, bool):
            return value
    elif annotation is int:
        try:
            if isinstance(value, (int, str)) and not isinstance(value, bool):
                return int(value)
        except ValueError:
            pass
    elif annotation is str:
        if isinstance(value, str):
            return value
    elif origin in (list, types.GenericAlias) or annotation == list[str]:
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        if isinstance(value, list) and all(isinstance(item, str) for item in value):
            return list(value)
    raise ConfigError(f"invalid value for {where}: {value!r}")


def _load_section(section_cls: type, data: dict[str, object], section: str) -> object:
    hints = typing.get_type_hints(section_cls)
    known = {f.name for f in fields(section_cls)}
    unknown = set(data) - known
    if unknown:
        raise ConfigError(f"unknown setting(s) in [{section}]: {', '.join(sorted(unknown))}")
    values: dict[str, object] = {}
    for f in fields(section_cls):
        env_name = f"{ENV_PREFIX}{section}_{f.name}".upper()
        if env_name in os.environ:
            values[f.name] = _coerce(os.environ[env_name], hints[f.name], env_name)
        elif f.name in data:
            values[f.name] = _coerce(data[f.name], hints[f.name], f"{section}.{f.name}")
    return section_cls(**values)


def load_settings(home: Path, *, require_file: bool = True) -> Settings:
    """Read ``HOME/strongroom.toml`` and apply environment overrides."""
    path = home / CONFIG_FILE
    raw: dict[str, object] = {}
    if path.exists():
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path} is not valid TOML: {exc}") from None
    elif require_file:
        raise ConfigError(f"{home} is not a Strongroom home (no {CONFIG_FILE}); run 'strongroom init'")
    unknown = set(raw) - set(SECTIONS)
    if unknown:
        raise ConfigError(f"unknown section(s) in {path}: {', '.join(sorted(unknown))}")
    hints = typing.get_type_hints(Settings)
    sections = {}
    for name in SECTIONS:
        data = raw.get(name, {})
        if not isinstance(data, dict):
            raise ConfigError(f"[{name}] in {path} must be a table")
        sections[name] = _load_section(hints[name], data, name)
    settings = Settings(home=home, **sections)  # type: ignore[arg-type]
    _validate(settings)
    return settings


def _validate(settings: Settings) -> None:
    if settings.storage.mode not in ("embedded", "external"):
        raise ConfigError("storage.mode must be 'embedded' or 'external'")
    if not settings.records.types:
        raise ConfigError("records.types must name at least one record type")
    for record_type in settings.records.types:
        try:
            validate_type(record_type)
        except InvalidName as exc:
            raise ConfigError(f"records.types: {exc}") from None
    if settings.records.chunk_size_kb < 1 or settings.records.chunk_size_kb > 64 * 1024:
        raise ConfigError("records.chunk_size_kb must be between 1 and 65536")
    if not BUCKET_PATTERN.match(settings.storage.bucket):
        raise ConfigError(f"storage.bucket {settings.storage.bucket!r} is not a valid S3 bucket name")
    if settings.storage.part_size_mb < 5:
        raise ConfigError("storage.part_size_mb must be at least 5 (the S3 minimum part size)")
    if settings.storage.mode == "external":
        _check_transport(settings.storage)
    if not 1 <= settings.service.port <= 65535:
        raise ConfigError("service.port must be between 1 and 65535")
    for name in ("token_hours", "lockout_after", "lockout_minutes"):
        if getattr(settings.service, name) < 1:
            raise ConfigError(f"service.{name} must be at least 1")
    if not 1 <= settings.access.default_grant_days <= settings.access.max_grant_days:
        raise ConfigError("access.default_grant_days must be between 1 and access.max_grant_days")
    if settings.audit.checkpoint_every < 1 or settings.audit.checkpoint_retention_days < 1:
        raise ConfigError("audit.checkpoint_every and audit.checkpoint_retention_days must be at least 1")
    if settings.backup.interval_days < 1:
        raise ConfigError("backup.interval_days must be at least 1")
    if not 1 <= settings.backup.threads <= 32:
        raise ConfigError("backup.threads must be between 1 and 32")
    if settings.backup.default_target and not TARGET_NAME_PATTERN.match(settings.backup.default_target):
        raise ConfigError(f"backup.default_target {settings.backup.default_target!r} is not a valid target name")
    _validate_paperwork(settings.paperwork)
    _validate_retention(settings)
    if settings.search.restricted_hits not in RESTRICTED_HITS:
        raise ConfigError(f"search.restricted_hits must be one of {', '.join(RESTRICTED_HITS)}, "
                          f"not {settings.search.restricted_hits!r}")
    if settings.web.language not in WEB_LANGUAGES:
        raise ConfigError(f"web.language must be one of {', '.join(WEB_LANGUAGES)}, not {settings.web.language!r}")


PAPERWORK_RANGES = {
    "minutes_deadline_hours": (1, 24 * 30),
    "action_due_days": (1, 366),
    "report_due_day": (1, 28),
    "satisfaction_target": (1, 100),
    "complaint_reduction_target": (0, 100),
}


def _validate_paperwork(paperwork: PaperworkSettings) -> None:
    from schedules.paperwork import ScheduleError, parse_day, parse_recurrence, zone

    for name, (low, high) in PAPERWORK_RANGES.items():
        if not low <= getattr(paperwork, name) <= high:
            raise ConfigError(f"paperwork.{name} must be between {low} and {high}")
    try:
        zone(paperwork.time_zone)
        names = [parse_recurrence(spec).name for spec in paperwork.meetings]
        if paperwork.track_from:
            parse_day(paperwork.track_from)
    except ScheduleError as exc:
        raise ConfigError(f"paperwork: {exc}") from None
    if len(set(names)) != len(names):
        raise ConfigError("paperwork.meetings: two recurring meetings have the same name")


STORAGE_CLASS_PATTERN = re.compile(r"^[A-Z][A-Z0-9_]{0,31}\Z")


def _validate_retention(settings: Settings) -> None:
    from schedules.retention import ScheduleError, parse_schedules

    retention = settings.retention
    try:
        schedules = parse_schedules(retention.schedules)
    except ScheduleError as exc:
        raise ConfigError(f"retention.schedules: {exc}") from None
    missing = [t for t in settings.records.types if t not in schedules]
    if missing:
        raise ConfigError(f"retention.schedules: no schedule for record type(s) {', '.join(missing)}")
    if not 0 <= retention.archive_after_days <= 36500 or not 0 <= retention.notice_days <= 3660:
        raise ConfigError("retention.archive_after_days must be 0-36500 and retention.notice_days 0-3660")
    if not STORAGE_CLASS_PATTERN.match(retention.archive_storage_class):
        raise ConfigError(f"retention.archive_storage_class {retention.archive_storage_class!r} is not an S3 storage class")


LOOPBACK_HOSTS = ("127.0.0.1", "::1", "localhost")


def _check_transport(storage: StorageSettings) -> None:
    """Plain HTTP to S3 only on loopback, unless explicitly allowed (e.g. a trusted storage network)."""
    netloc, secure = split_endpoint(storage.endpoint)
    host = urlsplit(f"//{netloc}").hostname or ""
    if not secure and host not in LOOPBACK_HOSTS and not storage.allow_insecure_http:
        raise ConfigError(
            f"storage.endpoint {storage.endpoint} uses plain HTTP to a non-loopback host; "
            "use https:// or set storage.allow_insecure_http = true"
        )
