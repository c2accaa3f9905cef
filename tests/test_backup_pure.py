"""Unit tests of the pure parts of backups: layout, target URLs, sealing, manifests, schedule, retention, escrow."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backup import escrow
from backup.layout import (
    blob_key,
    digest_of,
    new_snapshot_id,
    snapshot_id_of,
    snapshot_key,
    snapshot_time,
)
from backup.manifest import CatalogCopy, Entry, Manifest, decode, encode
from backup.retention import select_kept
from backup.schedule import is_due, next_due
from backup.sealing import SealError, keys_of, seal, unseal
from backup.targets import DirectoryLocation, S3Location, parse_location
from config.settings import CONFIG_FILE, load_settings
from encryption.envelope import (
    FOOTER,
    EnvelopeError,
    open_meta,
    parse_footer,
    parse_header,
)
from encryption.keyring import Keyring
from encryption.raw_fernet import RawFernet
from errors import ConfigError, Conflict, KeyMissing, UsageError

HOME = Path("/srv/strongroom")
DIGEST = "ab" + "0" * 62


# --- layout -----------------------------------------------------------------------------------


def test_blob_and_snapshot_keys_round_trip() -> None:
    assert blob_key(DIGEST) == f"blobs/ab/{DIGEST}"
    assert digest_of(blob_key(DIGEST)) == DIGEST
    assert digest_of(f"blobs/cd/{DIGEST}") is None, "a blob in the wrong shard is not a blob"
    assert digest_of("blobs/ab/not-a-digest") is None
    started = datetime(2026, 1, 7, 3, 0, 1, tzinfo=UTC)
    snapshot_id = new_snapshot_id(started, "1a2b3c4d")
    assert snapshot_id == "20260107T030001Z-1a2b3c4d"
    assert snapshot_time(snapshot_id) == started
    later = new_snapshot_id(started, "00000000", [snapshot_id])
    assert later == "20260107T030002Z-00000000", "a second run within the same second sorts after the first"
    assert new_snapshot_id(started - timedelta(hours=1), "00000001", [later]) > later, "so does one after a clock step back"
    assert snapshot_id_of(snapshot_key(snapshot_id)) == snapshot_id
    assert snapshot_id_of("snapshots/whatever") is None
    with pytest.raises(ValueError):
        blob_key("../../etc/passwd")
    with pytest.raises(ValueError):
        snapshot_key("../x")


# --- target URLs ------------------------------------------------------------------------------


def test_parse_s3_locations() -> None:
    assert parse_location("https://s3.example.com/bank-backups", HOME) == S3Location(
        "https://s3.example.com", "bank-backups", ""
    )
    assert parse_location("http://127.0.0.1:8333/bk1/strongroom/main", HOME) == S3Location(
        "http://127.0.0.1:8333", "bk1", "strongroom/main/"
    )
    assert str(parse_location("https://h:9000/b1b/p", HOME)) == "https://h:9000/b1b/p"


def test_parse_directory_locations() -> None:
    assert parse_location("/mnt/nas/strongroom", HOME) == DirectoryLocation(Path("/mnt/nas/strongroom"))
    assert parse_location("backups", HOME) == DirectoryLocation(HOME / "backups")
    assert parse_location("file:///mnt/nas", HOME) == DirectoryLocation(Path("/mnt/nas"))


@pytest.mark.parametrize("url, message", [
    ("", "needs a URL"),
    ("https://s3.example.com", "names no bucket"),
    ("https://s3.example.com/Bad_Bucket", "not a valid S3 bucket"),
    ("https://s3.example.com/bucket/../x", "prefix segment"),
    ("https://s3.example.com/bucket?x=1", "query"),
    ("https://user:pw@s3.example.com/bucket", "is not https"),
    ("http://s3.example.com/bucket", "plain HTTP"),
    ("s3://bucket/x", "unsupported"),
])
def test_bad_target_urls_are_usage_errors(url: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        parse_location(url, HOME)


def test_plain_http_to_a_remote_target_only_when_allowed() -> None:
    assert parse_location("http://nas.lan:9000/bk1", HOME, allow_insecure_http=True).bucket == "bk1"


# --- settings ---------------------------------------------------------------------------------


def test_backup_settings_defaults_and_validation(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [n for n in os.environ if n.startswith("STRONGROOM_")]:
        monkeypatch.delenv(name)
    (tmp_path / CONFIG_FILE).write_text("")
    backup = load_settings(tmp_path).backup
    assert (backup.interval_days, backup.default_target, backup.threads) == (7, "local", 4)
    monkeypatch.setenv("STRONGROOM_BACKUP_INTERVAL_DAYS", "1")
    assert load_settings(tmp_path).backup.interval_days == 1
    for text, message in [("interval_days = 0", "interval_days"), ("threads = 0", "threads"),
                          ('default_target = "Off Site"', "default_target")]:
        (tmp_path / CONFIG_FILE).write_text(f"[backup]\n{text}\n")
        monkeypatch.delenv("STRONGROOM_BACKUP_INTERVAL_DAYS", raising=False)
        with pytest.raises(ConfigError, match=message):
            load_settings(tmp_path)


# --- sealing and manifests --------------------------------------------------------------------


@pytest.fixture
def keyring(tmp_path: Path) -> Keyring:
    return Keyring.create(tmp_path / "keyring.json")


def _manifest(snapshot_id: str = "20260107T030001Z-1a2b3c4d") -> Manifest:
    return Manifest(
        snapshot=snapshot_id,
        started="2026-01-07T03:00:01+00:00",
        completed="2026-01-07T03:00:09+00:00",
        source={"bucket": "strongroom-records", "endpoint": "http://127.0.0.1:8333", "host": "vault"},
        catalog=CatalogCopy(blob="c" * 64, size=4096, sha256="d" * 64, plain_size=4000),
        audit_head=42,
        counts={"records": 1, "versions": 1, "checkpoints": 1},
        entries=[
            Entry("current/2026-0001-contract", "v1", "e" * 64, 100, name="2026-0001-contract", version=1,
                  nonce="f" * 32, key_id="0" * 16, sha256="1" * 64),
            Entry("audit/checkpoints/000000000040.json", "v2", "2" * 64, 80, retain_until="2036-01-01T00:00:00+00:00"),
        ],
    )


def test_manifest_round_trip(keyring: Keyring) -> None:
    manifest = _manifest()
    data = encode(manifest, keyring.primary)
    assert b"2026-0001-contract" not in data and b"current/" not in data, "nothing readable in the sealed manifest"
    again = decode(data, keys_of(keyring), manifest.snapshot)
    assert again == manifest
    assert again.blobs() == {"e" * 64: 100, "2" * 64: 80, "c" * 64: 4096}
    assert again.key_ids == {"0" * 16}


def test_manifest_is_bound_to_its_snapshot_id(keyring: Keyring) -> None:
    data = encode(_manifest(), keyring.primary)
    with pytest.raises(SealError, match="belongs to snapshot"):
        decode(data, keys_of(keyring), "20260114T030001Z-00000000")


@pytest.mark.parametrize("position", [20, 200, -30, -1])
def test_a_flipped_byte_in_a_manifest_is_detected(keyring: Keyring, position: int) -> None:
    data = bytearray(encode(_manifest(), keyring.primary))
    data[position] ^= 0x01
    with pytest.raises((SealError, KeyMissing)):
        decode(bytes(data), keys_of(keyring), _manifest().snapshot)


def test_a_manifest_does_not_open_with_another_keyring(keyring: Keyring, tmp_path: Path) -> None:
    data = encode(_manifest(), keyring.primary)
    other = Keyring.create(tmp_path / "other.json")
    with pytest.raises(KeyMissing, match="no key"):
        decode(data, keys_of(other), _manifest().snapshot)


def test_the_backup_key_is_derived_not_the_keyring_key(keyring: Keyring) -> None:
    sealed = seal(keyring.primary, b"catalog bytes", {"kind": "test"})
    meta, plain = unseal(sealed, keys_of(keyring))
    assert plain == b"catalog bytes" and meta["kind"] == "test"
    header = parse_header(sealed)
    assert header.key_id == keyring.primary.id, "the header names the key the backup key was derived from"
    offset = parse_footer(sealed[-FOOTER.size:], len(sealed))
    with pytest.raises(EnvelopeError, match="failed authentication"):
        open_meta(RawFernet(keyring.primary.key), header, sealed[offset:])


# --- schedule ---------------------------------------------------------------------------------

NOW = datetime(2026, 3, 10, 3, 0, 0, tzinfo=UTC)


def test_first_run_is_always_due() -> None:
    assert is_due(None, NOW, 7)
    assert next_due(None, 7) is None


def test_due_after_the_interval_less_an_hour_of_slack() -> None:
    last = NOW - timedelta(days=7) + timedelta(seconds=5)  # last week's run started a few seconds late
    assert is_due(last, NOW, 7), "a daily cron at the same time must not slip a day"
    assert not is_due(NOW - timedelta(days=6), NOW, 7)
    assert is_due(NOW - timedelta(days=30), NOW, 7), "a missed week is caught up"
    assert next_due(NOW, 7) == NOW + timedelta(days=7) - timedelta(hours=1)


# --- retention --------------------------------------------------------------------------------

moments = st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1), timezones=st.just(UTC))
snapshot_sets = st.dictionaries(st.text("0123456789abcdef", min_size=8, max_size=8), moments, max_size=40)


def _week(moment: datetime) -> tuple[int, int]:
    return moment.isocalendar()[:2]


def _month(moment: datetime) -> tuple[int, int]:
    return moment.year, moment.month


@given(snapshot_sets, st.integers(0, 6), st.integers(0, 6))
@settings(max_examples=300)
def test_retention_properties(snapshots: dict[str, datetime], weekly: int, monthly: int) -> None:
    kept = select_kept(snapshots, weekly, monthly)
    assert kept <= set(snapshots)
    if not snapshots:
        assert kept == set()
        return
    newest = max(snapshots, key=lambda s: (snapshots[s], s))
    assert newest in kept, "the newest snapshot is never dropped"
    assert len(kept) <= weekly + monthly + 1
    for period, count in ((_week, weekly), (_month, monthly)):
        periods = sorted({period(t) for t in snapshots.values()}, reverse=True)[:count]
        for chosen in periods:
            in_period = [s for s in snapshots if period(snapshots[s]) == chosen]
            assert max(in_period, key=lambda s: (snapshots[s], s)) in kept, "each recent period keeps its newest"
    for sid in kept - {newest}:
        week_newest = max((s for s in snapshots if _week(snapshots[s]) == _week(snapshots[sid])),
                          key=lambda s: (snapshots[s], s))
        month_newest = max((s for s in snapshots if _month(snapshots[s]) == _month(snapshots[sid])),
                           key=lambda s: (snapshots[s], s))
        assert sid in (week_newest, month_newest), "only the newest of a week or month is kept"
    assert select_kept({s: snapshots[s] for s in kept}, weekly, monthly) == kept, "pruning twice changes nothing"


def test_retention_example() -> None:
    snapshots = {
        "a": datetime(2026, 1, 5, tzinfo=UTC), "b": datetime(2026, 1, 7, tzinfo=UTC),  # week 2
        "c": datetime(2026, 1, 14, tzinfo=UTC),  # week 3
        "d": datetime(2026, 2, 2, tzinfo=UTC), "e": datetime(2026, 2, 4, tzinfo=UTC),  # week 6
    }
    assert select_kept(snapshots, 2, 0) == {"e", "c"}
    assert select_kept(snapshots, 1, 2) == {"e", "c"}
    assert select_kept(snapshots, 0, 0) == {"e"}
    assert select_kept(snapshots, 5, 5) == {"b", "c", "e"}
    with pytest.raises(ValueError):
        select_kept(snapshots, -1, 0)


# --- escrow -----------------------------------------------------------------------------------


def test_protected_export_round_trip(keyring: Keyring) -> None:
    keyring.add_key()
    data = escrow.export_keyring(keyring, "correct horse battery")
    assert escrow.is_protected(data)
    for entry in keyring.entries:
        assert entry.key not in data and entry.id.encode() not in data
    entries = escrow.read_export(data, "correct horse battery")
    assert [(e.id, e.key) for e in entries] == [(e.id, e.key) for e in keyring.entries]
    with pytest.raises(UsageError, match="wrong passphrase"):
        escrow.read_export(data, "wrong horse battery")
    with pytest.raises(UsageError, match="passphrase is needed"):
        escrow.read_export(data, None)


def test_plain_export_and_damaged_files(keyring: Keyring) -> None:
    data = escrow.export_keyring(keyring, None)
    assert not escrow.is_protected(data)
    assert escrow.read_export(data, None)[0].key == keyring.primary.key
    with pytest.raises(UsageError, match="at least"):
        escrow.export_keyring(keyring, "short")
    with pytest.raises(UsageError, match="not a Strongroom keyring export"):
        escrow.read_export(b"{}", None)
    document = json.loads(data)
    document["keys"][0]["key"] = "not-a-key"
    with pytest.raises(UsageError, match="invalid keys"):
        escrow.read_export(json.dumps(document).encode(), None)


def test_install_refuses_a_different_keyring(keyring: Keyring, tmp_path: Path) -> None:
    target = tmp_path / "new" / "secrets" / "keyring.json"
    assert escrow.install_keyring(target, keyring.entries)
    assert oct(target.stat().st_mode & 0o777) == "0o600"
    assert not escrow.install_keyring(target, keyring.entries), "the same keyring again is a no-op"
    other = Keyring.create(tmp_path / "other.json")
    with pytest.raises(Conflict, match="different keyring"):
        escrow.install_keyring(target, other.entries)
