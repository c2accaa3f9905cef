"""Unit tests of strongroom.toml loading, environment overrides and validation (no S3)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from config.settings import (
    CONFIG_FILE,
    DEFAULT_TYPES,
    S3Credentials,
    Settings,
    _coerce,
    load_settings,
)
from errors import ConfigError


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No STRONGROOM_* variable of the calling shell may leak into these tests."""
    for name in list(os.environ):
        if name.startswith("STRONGROOM_"):
            monkeypatch.delenv(name)


def write_config(home: Path, text: str) -> Path:
    home.mkdir(parents=True, exist_ok=True)
    path = home / CONFIG_FILE
    path.write_text(text, encoding="utf-8")
    return path


FULL_CONFIG = """
[storage]
mode = "external"
endpoint = "https://s3.example.com:9000"
region = "eu-central-1"
bucket = "records-2026"
credentials_file = "secrets/creds.json"
part_size_mb = 32

[embedded]
s3_port = 8333
volume_size_limit_mb = 512

[records]
types = ["contract", "minutes", "board-report"]
chunk_size_kb = 256

[catalog]
url = "postgresql://db/strongroom"

[retention]
schedules = [
    "contract = 10 years from end", "minutes = 5 years from filing", "board-report = 7 years from filing",
    "a = 1 year from filing", "b = 2 years from filing", "invoice = 7 years from filing", "letter = 1 year from filing",
]
"""


# --- loading the file ---------------------------------------------------------------------


def test_load_full_file(tmp_path: Path) -> None:
    write_config(tmp_path, FULL_CONFIG)
    s = load_settings(tmp_path)
    assert s.home == tmp_path
    assert s.storage.mode == "external"
    assert not s.is_embedded
    assert s.storage.endpoint == "https://s3.example.com:9000"
    assert s.storage.region == "eu-central-1"
    assert s.storage.bucket == "records-2026"
    assert s.credentials_path == tmp_path / "secrets" / "creds.json"
    assert s.part_size == 32 * 1024 * 1024
    assert s.embedded.s3_port == 8333
    assert s.embedded.volume_size_limit_mb == 512
    assert s.embedded.master_port == 0
    assert s.records.types == ["contract", "minutes", "board-report"]
    assert s.chunk_size == 256 * 1024
    assert s.catalog_url == "postgresql://db/strongroom"
    assert s.endpoint_host == "s3.example.com:9000"
    assert s.endpoint_secure is True


def test_empty_file_gives_defaults(tmp_path: Path) -> None:
    write_config(tmp_path, "")
    s = load_settings(tmp_path)
    assert s.storage.mode == "embedded"
    assert s.is_embedded
    assert s.storage.bucket == "strongroom-records"
    assert s.records.types == DEFAULT_TYPES
    assert s.records.types is not DEFAULT_TYPES
    assert s.chunk_size == 1024 * 1024
    assert s.part_size == 8 * 1024 * 1024
    assert s.catalog_url == f"sqlite:///{tmp_path / 'catalog.sqlite3'}"
    assert s.keyring_path == tmp_path / "secrets" / "keyring.json"
    assert s.credentials_path == tmp_path / "secrets" / "s3-credentials.json"
    assert s.config_path == tmp_path / CONFIG_FILE


def test_to_toml_round_trip(tmp_path: Path) -> None:
    import tomli_w

    write_config(tmp_path, FULL_CONFIG)
    s = load_settings(tmp_path)
    data = s.to_toml()
    assert set(data) == {"storage", "embedded", "records", "catalog", "service", "access", "audit", "paperwork", "backup", "retention",
                         "search", "web"}
    assert "secret_key" not in json.dumps(data)
    other = tmp_path / "other"
    write_config(other, tomli_w.dumps(data))
    again = load_settings(other)
    assert again.to_toml() == data


def test_missing_file_is_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not a Strongroom home"):
        load_settings(tmp_path)


def test_missing_file_allowed_when_not_required(tmp_path: Path) -> None:
    s = load_settings(tmp_path, require_file=False)
    assert s.storage.mode == "embedded"
    assert s.records.types == DEFAULT_TYPES


def test_invalid_toml_is_config_error(tmp_path: Path) -> None:
    write_config(tmp_path, "[storage\nbucket = ")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(tmp_path)


def test_non_utf8_file_is_config_error(tmp_path: Path) -> None:
    tmp_path.joinpath(CONFIG_FILE).write_bytes(b'[storage]\nbucket = "\xff\xfe"\n')
    with pytest.raises(ConfigError):
        load_settings(tmp_path)


def test_unknown_section_is_config_error(tmp_path: Path) -> None:
    write_config(tmp_path, "[storage]\nbucket = 'b'\n\n[stroage]\nbucket = 'c'\n")
    with pytest.raises(ConfigError, match="stroage"):
        load_settings(tmp_path)


def test_unknown_key_is_config_error(tmp_path: Path) -> None:
    write_config(tmp_path, "[storage]\nbuckett = 'b'\n")
    with pytest.raises(ConfigError, match="buckett"):
        load_settings(tmp_path)


def test_secret_in_toml_is_unknown_key(tmp_path: Path) -> None:
    write_config(tmp_path, "[storage]\nsecret_key = 'hunter2'\n")
    with pytest.raises(ConfigError) as info:
        load_settings(tmp_path)
    assert "hunter2" not in str(info.value)


def test_section_not_a_table_is_config_error(tmp_path: Path) -> None:
    write_config(tmp_path, "storage = 5\n")
    with pytest.raises(ConfigError, match="must be a table"):
        load_settings(tmp_path)


@pytest.mark.parametrize(
    "text",
    [
        "[storage]\npart_size_mb = 'many'\n",
        "[storage]\npart_size_mb = 16.5\n",
        "[storage]\npart_size_mb = true\n",
        "[storage]\nbucket = 5\n",
        "[storage]\nbucket = ['a']\n",
        "[records]\ntypes = [1, 2]\n",
        "[records]\ntypes = [['contract']]\n",
        "[records]\nchunk_size_kb = '1k'\n",
    ],
)
def test_wrong_value_types_are_config_errors(tmp_path: Path, text: str) -> None:
    write_config(tmp_path, text)
    with pytest.raises(ConfigError):
        load_settings(tmp_path)


def test_list_from_toml_string_is_split(tmp_path: Path) -> None:
    write_config(tmp_path, "[records]\ntypes = 'contract, minutes'\n")
    assert load_settings(tmp_path).records.types == ["contract", "minutes"]


# --- validation ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "types",
    [
        ["Contract"],
        ["contract", "bad type"],
        ["1st"],
        ["-x"],
        ["con_tract"],
        ["a" * 33],
        [""],
        ["contract/x"],
        ["café"],
    ],
)
def test_invalid_type_names_are_config_errors(tmp_path: Path, types: list[str]) -> None:
    write_config(tmp_path, f"[records]\ntypes = {json.dumps(types)}\n")
    with pytest.raises(ConfigError, match="records.types"):
        load_settings(tmp_path)


def test_empty_type_list_is_config_error(tmp_path: Path) -> None:
    write_config(tmp_path, "[records]\ntypes = []\n")
    with pytest.raises(ConfigError, match="at least one"):
        load_settings(tmp_path)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("[storage]\nmode = 'cloud'\n", "storage.mode"),
        ("[records]\nchunk_size_kb = 0\n", "chunk_size_kb"),
        ("[records]\nchunk_size_kb = 65537\n", "chunk_size_kb"),
        ("[storage]\npart_size_mb = 4\n", "part_size_mb"),
    ],
)
def test_out_of_range_values_are_config_errors(tmp_path: Path, text: str, match: str) -> None:
    write_config(tmp_path, text)
    with pytest.raises(ConfigError, match=match):
        load_settings(tmp_path)


def test_range_limits_accepted(tmp_path: Path) -> None:
    write_config(tmp_path, "[records]\nchunk_size_kb = 65536\n[storage]\npart_size_mb = 5\n")
    s = load_settings(tmp_path)
    assert s.chunk_size == 64 * 1024 * 1024
    assert s.part_size == 5 * 1024 * 1024
    write_config(tmp_path, "[records]\nchunk_size_kb = 1\n")
    assert load_settings(tmp_path).chunk_size == 1024


# --- environment overrides ----------------------------------------------------------------


def test_env_overrides_bucket(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_config(tmp_path, FULL_CONFIG)
    monkeypatch.setenv("STRONGROOM_STORAGE_BUCKET", "from-env")
    s = load_settings(tmp_path)
    assert s.storage.bucket == "from-env"
    assert s.storage.region == "eu-central-1"  # others still from the file


def test_env_overrides_without_file_entry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_config(tmp_path, "")
    monkeypatch.setenv("STRONGROOM_STORAGE_MODE", "external")
    monkeypatch.setenv("STRONGROOM_STORAGE_ENDPOINT", "http://127.0.0.1:8333")
    monkeypatch.setenv("STRONGROOM_CATALOG_URL", "sqlite:////tmp/x.db")
    s = load_settings(tmp_path)
    assert s.storage.mode == "external"
    assert s.endpoint_host == "127.0.0.1:8333"
    assert s.endpoint_secure is False
    assert s.catalog_url == "sqlite:////tmp/x.db"


def test_env_overrides_list(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_config(tmp_path, FULL_CONFIG)
    monkeypatch.setenv("STRONGROOM_RECORDS_TYPES", "a,b")
    assert load_settings(tmp_path).records.types == ["a", "b"]
    monkeypatch.setenv("STRONGROOM_RECORDS_TYPES", " invoice , ,letter,")
    assert load_settings(tmp_path).records.types == ["invoice", "letter"]


def test_env_list_with_invalid_type_is_config_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_config(tmp_path, "")
    monkeypatch.setenv("STRONGROOM_RECORDS_TYPES", "contract,Bad")
    with pytest.raises(ConfigError, match="records.types"):
        load_settings(tmp_path)
    monkeypatch.setenv("STRONGROOM_RECORDS_TYPES", " , ")
    with pytest.raises(ConfigError, match="at least one"):
        load_settings(tmp_path)


def test_env_overrides_int(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_config(tmp_path, FULL_CONFIG)
    monkeypatch.setenv("STRONGROOM_RECORDS_CHUNK_SIZE_KB", "64")
    monkeypatch.setenv("STRONGROOM_EMBEDDED_S3_PORT", " 9000 ")
    monkeypatch.setenv("STRONGROOM_STORAGE_PART_SIZE_MB", "8")
    s = load_settings(tmp_path)
    assert s.records.chunk_size_kb == 64
    assert s.chunk_size == 64 * 1024
    assert s.embedded.s3_port == 9000
    assert isinstance(s.embedded.s3_port, int)
    assert s.part_size == 8 * 1024 * 1024


@pytest.mark.parametrize("value", ["abc", "", "1.5", "0x10", "true"])
def test_env_bad_int_is_config_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    write_config(tmp_path, "")
    monkeypatch.setenv("STRONGROOM_EMBEDDED_S3_PORT", value)
    with pytest.raises(ConfigError, match="STRONGROOM_EMBEDDED_S3_PORT"):
        load_settings(tmp_path)


def test_env_override_is_validated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_config(tmp_path, FULL_CONFIG)
    monkeypatch.setenv("STRONGROOM_RECORDS_CHUNK_SIZE_KB", "0")
    with pytest.raises(ConfigError, match="chunk_size_kb"):
        load_settings(tmp_path)
    monkeypatch.delenv("STRONGROOM_RECORDS_CHUNK_SIZE_KB")
    monkeypatch.setenv("STRONGROOM_STORAGE_MODE", "both")
    with pytest.raises(ConfigError, match="storage.mode"):
        load_settings(tmp_path)


def test_env_for_unknown_field_is_ignored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_config(tmp_path, "")
    monkeypatch.setenv("STRONGROOM_STORAGE_NOSUCH", "x")
    assert load_settings(tmp_path).storage.bucket == "strongroom-records"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1", True),
        ("true", True),
        ("TRUE", True),
        (" yes ", True),
        ("on", True),
        ("0", False),
        ("false", False),
        ("No", False),
        ("off", False),
        (True, True),
        (False, False),
    ],
)
def test_coerce_bool(value: object, expected: bool) -> None:
    assert _coerce(value, bool, "x.flag") is expected


@pytest.mark.parametrize("value", ["maybe", "", "2", 1, 0, None, 1.0])
def test_coerce_bool_rejects(value: object) -> None:
    with pytest.raises(ConfigError, match="x.flag"):
        _coerce(value, bool, "x.flag")


@pytest.mark.parametrize(("value", "expected"), [("42", 42), (42, 42), ("-3", -3), (" 7\n", 7)])
def test_coerce_int(value: object, expected: int) -> None:
    result = _coerce(value, int, "x.n")
    assert result == expected
    assert type(result) is int


@pytest.mark.parametrize("value", [True, False, 1.0, "x", None, [1]])
def test_coerce_int_rejects(value: object) -> None:
    with pytest.raises(ConfigError):
        _coerce(value, int, "x.n")


def test_coerce_list_and_str() -> None:
    assert _coerce("a,b", list[str], "w") == ["a", "b"]
    assert _coerce(["a", "b"], list[str], "w") == ["a", "b"]
    with pytest.raises(ConfigError):
        _coerce(["a", 1], list[str], "w")
    assert _coerce("s", str, "w") == "s"
    with pytest.raises(ConfigError):
        _coerce(1, str, "w")


# --- credentials --------------------------------------------------------------------------


def test_credentials_from_file(tmp_path: Path) -> None:
    write_config(tmp_path, "")
    s = load_settings(tmp_path)
    s.credentials_path.parent.mkdir(parents=True)
    s.credentials_path.write_text(json.dumps({"access_key": "AKFILE", "secret_key": "s3cr3t-file"}))
    s.credentials_path.chmod(0o600)
    creds = s.credentials()
    assert creds == S3Credentials("AKFILE", "s3cr3t-file")


def test_credentials_from_env_take_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_config(tmp_path, "")
    s = load_settings(tmp_path)
    s.credentials_path.parent.mkdir(parents=True)
    s.credentials_path.write_text(json.dumps({"access_key": "AKFILE", "secret_key": "s3cr3t-file"}))
    s.credentials_path.chmod(0o600)
    monkeypatch.setenv("STRONGROOM_S3_ACCESS_KEY", "AKENV")
    monkeypatch.setenv("STRONGROOM_S3_SECRET_KEY", "s3cr3t-env")
    assert s.credentials() == S3Credentials("AKENV", "s3cr3t-env")


def test_credentials_from_env_without_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_config(tmp_path, "")
    s = load_settings(tmp_path)
    monkeypatch.setenv("STRONGROOM_S3_ACCESS_KEY", "AKENV")
    monkeypatch.setenv("STRONGROOM_S3_SECRET_KEY", "s3cr3t-env")
    assert s.credentials() == S3Credentials("AKENV", "s3cr3t-env")


def test_credentials_partial_env_falls_back_to_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_config(tmp_path, "")
    s = load_settings(tmp_path)
    monkeypatch.setenv("STRONGROOM_S3_ACCESS_KEY", "AKENV")
    with pytest.raises(ConfigError, match="no S3 credentials"):
        s.credentials()
    s.credentials_path.parent.mkdir(parents=True)
    s.credentials_path.write_text(json.dumps({"access_key": "AKFILE", "secret_key": "s3cr3t-file"}))
    s.credentials_path.chmod(0o600)
    assert s.credentials() == S3Credentials("AKFILE", "s3cr3t-file")


def test_credentials_missing_is_config_error(tmp_path: Path) -> None:
    write_config(tmp_path, "")
    with pytest.raises(ConfigError, match="S3_ACCESS_KEY"):
        load_settings(tmp_path).credentials()


@pytest.mark.parametrize(
    "content",
    [
        "not json",
        "[]",
        "null",
        '"s3cr3t-only"',
        '{"access_key": "AK"}',
        '{"secret_key": "s3cr3t-only"}',
    ],
)
def test_credentials_invalid_file_is_config_error(tmp_path: Path, content: str) -> None:
    write_config(tmp_path, "")
    s = load_settings(tmp_path)
    s.credentials_path.parent.mkdir(parents=True)
    s.credentials_path.write_text(content)
    s.credentials_path.chmod(0o600)
    with pytest.raises(ConfigError, match="not valid") as info:
        s.credentials()
    assert "s3cr3t" not in str(info.value)


def test_credentials_repr_hides_secret() -> None:
    creds = S3Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI-very-secret")
    for text in (repr(creds), str(creds), f"{creds}", f"{creds!r}", repr([creds]), repr({"c": creds})):
        assert "wJalrXUtnFEMI-very-secret" not in text
        assert "<redacted>" in text


def test_settings_repr_has_no_secret(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_config(tmp_path, "")
    monkeypatch.setenv("STRONGROOM_S3_SECRET_KEY", "s3cr3t-env")
    monkeypatch.setenv("STRONGROOM_S3_ACCESS_KEY", "AKENV")
    s = load_settings(tmp_path)
    assert "s3cr3t-env" not in repr(s)
    assert "s3cr3t-env" not in json.dumps(s.to_toml())


# --- endpoint -----------------------------------------------------------------------------


def settings_with_endpoint(tmp_path: Path, endpoint: str) -> Settings:
    write_config(tmp_path, f"[storage]\nmode = 'external'\nendpoint = {json.dumps(endpoint)}\n")
    return load_settings(tmp_path)


@pytest.mark.parametrize(
    ("endpoint", "host", "secure"),
    [
        ("http://localhost:8333", "localhost:8333", False),
        ("http://127.0.0.1:8333/", "127.0.0.1:8333", False),
        ("https://s3.example.com", "s3.example.com", True),
        ("https://s3.example.com:9000", "s3.example.com:9000", True),
        ("s3.example.com", "s3.example.com", True),
        ("s3.example.com:9000", "s3.example.com:9000", True),
        ("https://[::1]:9000", "[::1]:9000", True),
        ("HTTP://LOCALHOST:8333", "LOCALHOST:8333", False),
    ],
)
def test_endpoint_parsing(tmp_path: Path, endpoint: str, host: str, secure: bool) -> None:
    s = settings_with_endpoint(tmp_path, endpoint)
    assert s.endpoint_host == host
    assert s.endpoint_secure is secure


@pytest.mark.parametrize(
    "endpoint",
    [
        "",
        "ftp://s3.example.com",
        "s3://bucket",
        "file:///etc/passwd",
        "http://",
        "https://",
        "http:///path",
        "http://host/path",
        "https://s3.example.com/bucket",
        "https://s3.example.com:9000/bucket/",
    ],
)
def test_bad_endpoint_is_config_error(tmp_path: Path, endpoint: str) -> None:
    with pytest.raises(ConfigError, match="is not an http|is not configured"):
        settings_with_endpoint(tmp_path, endpoint)



@pytest.mark.parametrize(
    "endpoint",
    [
        "http://localhost:abc",
        "http://localhost:99999",
        "http://localhost:",
        "http://user:pw@localhost:8333",
        "http://local host:8333",
        "http://localhost:8333?x=1",
        "http://localhost:8333#frag",
    ],
)
def test_malformed_endpoint_netloc_is_config_error(tmp_path: Path, endpoint: str) -> None:
    with pytest.raises(ConfigError, match="is not an http"):
        settings_with_endpoint(tmp_path, endpoint)


def test_plain_http_to_a_remote_s3_endpoint_is_refused_unless_allowed(tmp_path: Path) -> None:
    write_config(tmp_path, '[storage]\nmode = "external"\nendpoint = "http://s3.example.com:9000"\n')
    with pytest.raises(ConfigError, match="plain HTTP"):
        load_settings(tmp_path)
    write_config(tmp_path, '[storage]\nmode = "external"\nendpoint = "http://s3.example.com:9000"\nallow_insecure_http = true\n')
    assert not load_settings(tmp_path).endpoint_secure
    write_config(tmp_path, '[storage]\nmode = "external"\nendpoint = "http://127.0.0.1:9000"\n')
    assert load_settings(tmp_path).endpoint_host == "127.0.0.1:9000"


def test_service_settings_are_validated(tmp_path: Path) -> None:
    write_config(tmp_path, "[access]\ndefault_grant_days = 30\nmax_grant_days = 10\n")
    with pytest.raises(ConfigError, match="default_grant_days"):
        load_settings(tmp_path)
    write_config(tmp_path, "[service]\nport = 0\n")
    with pytest.raises(ConfigError, match="service.port"):
        load_settings(tmp_path)


# --- search.restricted_hits ------------------------------------------------------------------


def test_restricted_hits_default_to_a_count_and_take_the_three_values(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    write_config(tmp_path, "")
    assert load_settings(tmp_path).search.restricted_hits == "count"
    write_config(tmp_path, "[search]\nrestricted_hits = 'names'\n")
    assert load_settings(tmp_path).search.restricted_hits == "names"
    monkeypatch.setenv("STRONGROOM_SEARCH_RESTRICTED_HITS", "none")
    assert load_settings(tmp_path).search.restricted_hits == "none"


@pytest.mark.parametrize("value", ["all", "", "Names", "1"])
def test_a_bad_restricted_hits_value_is_a_one_line_config_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                value: str) -> None:
    write_config(tmp_path, "")
    monkeypatch.setenv("STRONGROOM_SEARCH_RESTRICTED_HITS", value)
    with pytest.raises(ConfigError, match=r"^search.restricted_hits must be one of names, count, none, not") as caught:
        load_settings(tmp_path)
    assert "\n" not in str(caught.value)
