"""Unit tests of the Fernet keyring file (no S3)."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from cryptography.fernet import Fernet, InvalidToken

from encryption.keyring import KEY_ID_BYTES, KeyEntry, Keyring
from encryption.private_files import check_private_file, write_private_file
from errors import ConfigError, KeyMissing, StrongroomError


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "home" / "secrets" / "keyring.json"


def all_key_material(keyring: Keyring) -> list[str]:
    return [entry.key.decode("ascii") for entry in keyring.entries]


# --- create / load ------------------------------------------------------------------------


def test_create_writes_mode_0600(path: Path) -> None:
    keyring = Keyring.create(path)
    assert path.is_file()
    assert mode_of(path) == 0o600
    assert len(keyring.entries) == 1
    data = json.loads(path.read_text())
    assert data == {
        "keys": [
            {"id": keyring.primary.id, "created": keyring.primary.created, "key": keyring.primary.key.decode()}
        ]
    }
    # No temporary file is left next to it; the lock file that serialises changes is private too.
    assert sorted(p.name for p in path.parent.iterdir()) == ["keyring.json", "keyring.json.lock"]
    assert mode_of(path.with_name("keyring.json.lock")) == 0o600


def test_create_makes_private_directory(path: Path) -> None:
    old = os.umask(0o022)
    try:
        Keyring.create(path)
    finally:
        os.umask(old)
    assert mode_of(path.parent) & 0o077 == 0


def test_create_ignores_permissive_umask(path: Path) -> None:
    old = os.umask(0)
    try:
        Keyring.create(path)
    finally:
        os.umask(old)
    assert mode_of(path) == 0o600


def test_new_key_ids_and_keys(path: Path) -> None:
    keyring = Keyring.create(path)
    entry = keyring.primary
    assert len(entry.id) == 2 * KEY_ID_BYTES
    int(entry.id, 16)  # hexadecimal
    Fernet(entry.key)  # a valid Fernet key
    assert entry.created.endswith("+00:00")


def test_create_refuses_to_overwrite(path: Path) -> None:
    first = Keyring.create(path)
    before = path.read_bytes()
    with pytest.raises(ConfigError, match="already exists"):
        Keyring.create(path)
    assert path.read_bytes() == before
    assert Keyring.load(path).primary.key == first.primary.key


def test_create_refuses_to_overwrite_any_file(path: Path) -> None:
    path.parent.mkdir(parents=True)
    path.write_text("not a keyring")
    with pytest.raises(ConfigError):
        Keyring.create(path)
    assert path.read_text() == "not a keyring"


def test_load_round_trip(path: Path) -> None:
    created = Keyring.create(path)
    created.add_key()
    loaded = Keyring.load(path)
    assert [(e.id, e.created, e.key) for e in loaded.entries] == [
        (e.id, e.created, e.key) for e in created.entries
    ]
    assert loaded.path == path
    token = created.cipher(created.primary.id).encrypt(b"hello")
    assert loaded.cipher(loaded.primary.id).decrypt(token) == b"hello"


@pytest.mark.parametrize("mode", [0o640, 0o644, 0o604, 0o660, 0o606, 0o620, 0o602, 0o610, 0o601, 0o666, 0o777])
def test_load_rejects_group_or_world_access(path: Path, mode: int) -> None:
    Keyring.create(path)
    os.chmod(path, mode)
    with pytest.raises(ConfigError, match="permissions") as info:
        Keyring.load(path)
    assert "chmod 600" in str(info.value)


@pytest.mark.parametrize("mode", [0o600, 0o400])
def test_load_accepts_owner_only(path: Path, mode: int) -> None:
    Keyring.create(path)
    os.chmod(path, mode)
    assert len(Keyring.load(path).entries) == 1


def test_check_private_file(tmp_path: Path) -> None:
    f = tmp_path / "f"
    f.write_text("x")
    os.chmod(f, 0o600)
    check_private_file(f)
    os.chmod(f, 0o640)
    with pytest.raises(ConfigError):
        check_private_file(f)


def test_load_missing_is_config_error(path: Path) -> None:
    with pytest.raises(ConfigError, match="missing"):
        Keyring.load(path)


def write_raw(path: Path, text: str) -> None:
    write_private_file(path, text.encode())


@pytest.mark.parametrize(
    "text",
    [
        "",
        "not json",
        "[]",
        "null",
        "{}",
        '{"keys": []}',
        '{"keys": {}}',
        '{"keys": [{"id": "0011223344556677"}]}',
        '{"keys": [{"id": "0011223344556677", "created": "x"}]}',
        '{"keys": [{"id": "0011223344556677", "created": "x", "key": "too-short"}]}',
        '{"keys": [{"id": "0011223344556677", "created": "x", "key": "kéy"}]}',
        '{"keys": [1]}',
    ],
)
def test_load_invalid_is_config_error(path: Path, text: str) -> None:
    write_raw(path, text)
    with pytest.raises(ConfigError):
        Keyring.load(path)


def test_write_private_file_replaces_with_0600(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "secret.json"
    target.parent.mkdir()
    target.write_text("old")
    os.chmod(target, 0o644)
    write_private_file(target, b"new")
    assert target.read_bytes() == b"new"
    assert mode_of(target) == 0o600
    assert sorted(p.name for p in target.parent.iterdir()) == ["secret.json"]


# --- add_key / remove / fernet ------------------------------------------------------------


def test_add_key_makes_new_primary_and_old_keys_still_decrypt(path: Path) -> None:
    keyring = Keyring.create(path)
    old = keyring.primary
    old_token = keyring.cipher(old.id).encrypt(b"old record")
    new = keyring.add_key()
    assert keyring.primary == new
    assert new.id != old.id
    assert new.key != old.key
    assert [e.id for e in keyring.entries] == [new.id, old.id]
    assert keyring.cipher(old.id).decrypt(old_token) == b"old record"
    # The new key is really another key.
    with pytest.raises(InvalidToken):
        keyring.cipher(new.id).decrypt(old_token)
    new_token = keyring.cipher(new.id).encrypt(b"new record")
    # Saved: a fresh load sees the new primary and still opens old objects.
    loaded = Keyring.load(path)
    assert loaded.primary.id == new.id
    assert [e.id for e in loaded.entries] == [new.id, old.id]
    assert loaded.cipher(old.id).decrypt(old_token) == b"old record"
    assert loaded.cipher(new.id).decrypt(new_token) == b"new record"
    assert mode_of(path) == 0o600


def test_remove_refuses_primary(path: Path) -> None:
    keyring = Keyring.create(path)
    old = keyring.primary
    keyring.add_key()
    before = path.read_bytes()
    with pytest.raises(ConfigError, match="newest key"):
        keyring.remove({keyring.primary.id})
    with pytest.raises(ConfigError):
        keyring.remove({keyring.primary.id, old.id})
    assert path.read_bytes() == before
    assert len(keyring.entries) == 2
    keyring.cipher(old.id)


def test_remove_refuses_only_key(path: Path) -> None:
    keyring = Keyring.create(path)
    with pytest.raises(ConfigError):
        keyring.remove({keyring.primary.id})
    assert len(Keyring.load(path).entries) == 1


def test_remove_old_key(path: Path) -> None:
    keyring = Keyring.create(path)
    old = keyring.primary
    keyring.add_key()
    keyring.remove({old.id})
    assert [e.id for e in keyring.entries] == [keyring.primary.id]
    with pytest.raises(KeyMissing):
        keyring.cipher(old.id)
    loaded = Keyring.load(path)
    assert [e.id for e in loaded.entries] == [keyring.primary.id]
    with pytest.raises(KeyMissing):
        loaded.cipher(old.id)
    assert old.key.decode() not in path.read_text()


def test_fernet_unknown_raises_key_missing(path: Path) -> None:
    keyring = Keyring.create(path)
    with pytest.raises(KeyMissing, match="ffffffffffffffff"):
        keyring.cipher("ffffffffffffffff")
    with pytest.raises(KeyMissing):
        keyring.cipher("")
    with pytest.raises(KeyMissing):
        keyring.cipher(keyring.primary.id.upper())
    assert issubclass(KeyMissing, StrongroomError)


def test_empty_keyring_is_config_error(path: Path) -> None:
    with pytest.raises(ConfigError):
        Keyring(path, [])


# --- secrecy ------------------------------------------------------------------------------


def test_key_entry_repr_hides_key(path: Path) -> None:
    keyring = Keyring.create(path)
    keyring.add_key()
    for entry in keyring.entries:
        key = entry.key.decode()
        for text in (repr(entry), str(entry), f"{entry}", repr(keyring.entries), repr([keyring.primary])):
            assert key not in text
            assert entry.key[:20].decode() not in text
        assert entry.id in repr(entry)


def test_error_messages_do_not_contain_key_material(path: Path) -> None:
    keyring = Keyring.create(path)
    keyring.add_key()
    secrets_ = all_key_material(keyring)
    messages = []

    for call in (
        lambda: Keyring.create(path),
        lambda: keyring.remove({keyring.primary.id}),
        lambda: keyring.cipher("0000000000000000"),
    ):
        with pytest.raises(StrongroomError) as info:
            call()
        messages.append(str(info.value))

    os.chmod(path, 0o644)
    with pytest.raises(ConfigError) as info:
        Keyring.load(path)
    messages.append(str(info.value))
    os.chmod(path, 0o600)

    # A keyring whose key material is corrupted must not be echoed back.
    data = json.loads(path.read_text())
    bad_key = data["keys"][0]["key"][:-3] + "!!!"
    data["keys"][0]["key"] = bad_key
    write_private_file(path, json.dumps(data).encode())
    with pytest.raises(ConfigError) as info:
        Keyring.load(path)
    messages.append(str(info.value))
    secrets_.append(bad_key)

    data["keys"][0]["key"] = "ключ" + secrets_[0]  # non-ASCII: UnicodeEncodeError quotes its input
    write_private_file(path, json.dumps(data).encode())
    with pytest.raises(ConfigError) as info:
        Keyring.load(path)
    messages.append(str(info.value))
    assert info.value.__cause__ is None and info.value.__suppress_context__

    for message in messages:
        for secret in secrets_:
            assert secret not in message
            assert secret[:16] not in message



@pytest.mark.parametrize(
    "key_id",
    [
        "not-hex",
        "00112233445566778899",
        "0011",
    ],
)
def test_load_rejects_malformed_key_id(path: Path, key_id: str) -> None:
    data = {"keys": [{"id": key_id, "created": "2026-01-01T00:00:00+00:00", "key": Fernet.generate_key().decode()}]}
    write_private_file(path, json.dumps(data).encode())
    with pytest.raises(ConfigError):
        Keyring.load(path)


def test_keyentry_is_frozen() -> None:
    entry = KeyEntry("0011223344556677", "2026-01-01T00:00:00+00:00", Fernet.generate_key())
    with pytest.raises(AttributeError):
        entry.key = b"x"  # type: ignore[misc]


# --- several processes sharing one keyring file --------------------------------------------


def test_a_change_by_another_process_is_seen_without_reopening(path: Path) -> None:
    service = Keyring.create(path)  # what a long-running process holds
    old = service.primary
    operator = Keyring.load(path)  # another process, e.g. 'keys rotate'
    new = operator.add_key()
    assert service.primary == new, "encryption uses the newest primary on disk"
    entry, cipher = service.encryption_key()
    assert entry == new and operator.cipher(new.id).decrypt(cipher.encrypt(b"x")) == b"x"
    operator.remove({old.id})
    assert [e.id for e in service.entries] == [new.id]


def test_an_unknown_key_id_reads_the_file_again_before_failing(path: Path) -> None:
    reader = Keyring.create(path)
    writer = Keyring.load(path)
    new = writer.add_key()
    token = writer.cipher(new.id).encrypt(b"re-encrypted elsewhere")
    assert reader.cipher(new.id).decrypt(token) == b"re-encrypted elsewhere"
    assert reader.entry(new.id) == new
    with pytest.raises(KeyMissing):
        reader.cipher("ffffffffffffffff")


def test_changes_start_from_the_file_not_from_a_stale_copy(path: Path) -> None:
    first = Keyring.create(path)
    second = Keyring.load(path)
    added_by_first = first.add_key()
    added_by_second = second.add_key()  # second never looked at the file since it was loaded
    assert {e.id for e in Keyring.load(path).entries} >= {added_by_first.id, added_by_second.id}
    with pytest.raises(ConfigError, match="newest key"):
        first.remove({added_by_second.id})  # the primary on disk, not first's idea of it


def _add_keys(path: str, count: int) -> list[str]:
    keyring = Keyring.load(Path(path))
    return [keyring.add_key().id for _ in range(count)]


def test_processes_adding_keys_at_once_never_lose_each_others(path: Path) -> None:
    import multiprocessing

    original = Keyring.create(path).primary.id
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        added = pool.starmap(_add_keys, [(str(path), 5)] * 4)
    on_disk = [e.id for e in Keyring.load(path).entries]
    assert sorted(on_disk) == sorted([original, *(key_id for batch in added for key_id in batch)])
    assert len(on_disk) == 21 and on_disk[-1] == original
