"""RawFernet produces and opens exactly Fernet's tokens, without the base64 layer."""

from __future__ import annotations

import base64

import pytest
from cryptography.fernet import Fernet, InvalidToken
from hypothesis import given, settings
from hypothesis import strategies as st

from encryption.raw_fernet import RawFernet

KEY = Fernet.generate_key()
RAW = RawFernet(KEY)
FERNET = Fernet(KEY)


@settings(max_examples=60)
@given(st.binary(max_size=5000))
def test_fernet_opens_raw_tokens(data: bytes):
    assert FERNET.decrypt(base64.urlsafe_b64encode(RAW.encrypt(data))) == data


@settings(max_examples=60)
@given(st.binary(max_size=5000))
def test_raw_opens_fernet_tokens(data: bytes):
    assert RAW.decrypt(base64.urlsafe_b64decode(FERNET.encrypt(data))) == data


def test_large_chunk_round_trip():
    data = bytes(range(256)) * 4096
    assert RAW.decrypt(RAW.encrypt(data)) == data


@settings(max_examples=60)
@given(st.binary(min_size=1, max_size=300), st.data())
def test_any_flipped_bit_is_rejected(data: bytes, pick: st.DataObject):
    token = bytearray(RAW.encrypt(data))
    position = pick.draw(st.integers(0, len(token) - 1))
    token[position] ^= 1 << pick.draw(st.integers(0, 7))
    with pytest.raises(InvalidToken):
        RAW.decrypt(bytes(token))


def test_wrong_key_truncation_and_garbage_are_rejected():
    token = RAW.encrypt(b"contract text")
    with pytest.raises(InvalidToken):
        RawFernet(Fernet.generate_key()).decrypt(token)
    for bad in (token[:-1], token[:40], b"", b"\x80" + b"\x00" * 72, b"\x81" + token[1:]):
        with pytest.raises(InvalidToken):
            RAW.decrypt(bad)


def test_keys_must_be_fernet_keys():
    with pytest.raises(ValueError):
        RawFernet(base64.urlsafe_b64encode(b"short"))
