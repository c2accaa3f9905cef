"""Unit tests of record names and object keys (pure logic, no I/O)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from naming import (
    InvalidName,
    ObjectKey,
    RecordName,
    archive_key,
    current_key,
    format_name,
    number_key,
    parse_name,
    parse_object_key,
    validate_type,
    validate_year,
)

years = st.integers(min_value=1900, max_value=9999)
numbers = st.integers(min_value=1, max_value=10**9 - 1)
types = st.from_regex(r"\A[a-z][a-z0-9-]{0,31}\Z", fullmatch=True)
versions = st.integers(min_value=1, max_value=10**8)


# --- format_name / parse_name -------------------------------------------------------------


def test_format_name_examples() -> None:
    assert format_name(2026, 7, "contract") == "2026-0007-contract"
    assert format_name(1900, 1, "a") == "1900-0001-a"
    assert format_name(9999, 123456789, "x-1") == "9999-123456789-x-1"
    assert format_name(2026, 12345, "minutes") == "2026-12345-minutes"


def test_parse_name_example() -> None:
    name = parse_name("2026-0007-contract")
    assert name == RecordName(2026, 7, "contract")
    assert str(name) == "2026-0007-contract"


@settings(max_examples=200, deadline=None)
@given(years, numbers, types)
def test_format_parse_round_trip(year: int, number: int, record_type: str) -> None:
    text = format_name(year, number, record_type)
    name = parse_name(text)
    assert name == RecordName(year, number, record_type)
    assert str(name) == text
    assert text.isascii()


@settings(max_examples=100, deadline=None)
@given(years, numbers, types, years, numbers, types)
def test_record_names_order_like_tuples(y1: int, n1: int, t1: str, y2: int, n2: int, t2: str) -> None:
    a, b = RecordName(y1, n1, t1), RecordName(y2, n2, t2)
    assert (a < b) == ((y1, n1, t1) < (y2, n2, t2))


@pytest.mark.parametrize(
    ("year", "number", "record_type"),
    [
        (1899, 1, "contract"),
        (10000, 1, "contract"),
        (0, 1, "contract"),
        (2026, 0, "contract"),
        (2026, -1, "contract"),
        (2026, 10**9, "contract"),
        (2026, 1, ""),
        (2026, 1, "Contract"),
        (2026, 1, "1contract"),
        (2026, 1, "-contract"),
        (2026, 1, "con tract"),
        (2026, 1, "con_tract"),
        (2026, 1, "contract/x"),
        (2026, 1, "a" * 33),
        (2026, 1, "contract\n"),
        (2026, 1, "café"),
    ],
)
def test_format_name_rejects_invalid_parts(year: int, number: int, record_type: str) -> None:
    with pytest.raises(InvalidName):
        format_name(year, number, record_type)


def test_type_length_limit() -> None:
    assert validate_type("a" * 32) == "a" * 32
    with pytest.raises(InvalidName):
        validate_type("a" * 33)
    assert parse_name("2026-0001-" + "a" * 32).type == "a" * 32
    with pytest.raises(InvalidName):
        parse_name("2026-0001-" + "a" * 33)


def test_validate_year_bounds() -> None:
    assert validate_year(1900) == 1900
    assert validate_year(9999) == 9999
    for bad in (1899, 10000, -2026):
        with pytest.raises(InvalidName):
            validate_year(bad)


@pytest.mark.parametrize(
    "text",
    [
        "",
        " ",
        "2026-00007-contract",  # non-canonical: too many leading zeros
        "2026-007-contract",  # non-canonical: too few digits
        "2026-7-contract",
        "2026-0000-contract",  # number 0
        "2026-00000-contract",
        "2026-1234567890-contract",  # more than 9 digits
        "2026-0123456789-contract",
        "1899-0001-contract",
        "0000-0001-contract",
        "10000-0001-contract",
        "026-0001-contract",
        "2026-0001-Contract",  # upper case
        "2026-0001-CONTRACT",
        " 2026-0001-contract",
        "2026-0001-contract ",
        "2026 -0001-contract",
        "2026-0001-con tract",
        "2026-0001-contract\n",
        "2026-0001-contract\r\n",
        "\n2026-0001-contract",
        "2026-0001-contract\x00",
        "2026-0001-",
        "2026-0001",
        "2026--0001-contract",
        "2026-0001-1contract",
        "2026-0001--contract",
        "2026-0001-con_tract",
        "2026-+001-contract",
        "+2026-0001-contract",
        "2026-0001-contract/x",
        "../2026-0001-contract",
        "2026-0001-contract/..",
        "2026-0001-../x",
        "../../etc/passwd",
        "2026-0001-contract/../2026-0002-contract",
        "current/2026-0001-contract",
        "2026-0001-contract\\x",
        "２０２６-0001-contract",  # fullwidth digits in the year
        "2026-０００１-contract",  # fullwidth digits in the number
        "٢٠٢٦-0001-contract",  # Arabic-Indic digits in the year
        "2026-٠٠٠١-contract",  # Arabic-Indic digits in the number
        "۲۰۲۶-۰۰۰۱-contract",  # Extended Arabic-Indic (Persian) digits
        "2026-0001-contráct",
        "2026-0001-ｃontract",  # fullwidth letter
        "2026\u20110001-contract",  # non-breaking hyphen
        "2026-0001-contract\u200b",  # zero-width space
    ],
)
def test_parse_name_rejects(text: str) -> None:
    with pytest.raises(InvalidName):
        parse_name(text)


@settings(max_examples=200, deadline=None)
@given(
    st.text(alphabet=st.characters(whitelist_categories=("Nd",)), min_size=4, max_size=4).filter(
        lambda s: not s.isascii()
    )
)
def test_parse_name_rejects_any_non_ascii_year_digits(year_text: str) -> None:
    with pytest.raises(InvalidName):
        parse_name(f"{year_text}-0001-contract")


@settings(max_examples=200, deadline=None)
@given(
    st.text(alphabet=st.characters(whitelist_categories=("Nd",)), min_size=4, max_size=9).filter(
        lambda s: not s.isascii()
    )
)
def test_parse_name_rejects_any_non_ascii_number_digits(number_text: str) -> None:
    with pytest.raises(InvalidName):
        parse_name(f"2026-{number_text}-contract")


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=40))
def test_parse_name_arbitrary_text(text: str) -> None:
    try:
        name = parse_name(text)
    except InvalidName:
        return
    assert str(name) == text
    assert text.isascii()


@settings(max_examples=300, deadline=None)
@given(st.from_regex(r"\A[0-9]{1,5}-[0-9]{1,11}-[a-zA-Z0-9-]{0,34}\Z", fullmatch=True))
def test_parse_name_near_miss_text(text: str) -> None:
    """Strings shaped almost like names: either canonical (and round-tripping) or rejected."""
    try:
        name = parse_name(text)
    except InvalidName:
        return
    assert str(name) == text
    assert format_name(name.year, name.number, name.type) == text


@settings(max_examples=100, deadline=None)
@given(years, numbers, types, st.integers(min_value=1, max_value=3))
def test_parse_name_rejects_extra_leading_zeros(year: int, number: int, record_type: str, zeros: int) -> None:
    text = f"{year}-{'0' * zeros}{number:04d}-{record_type}"
    with pytest.raises(InvalidName):
        parse_name(text)


def test_invalid_name_is_value_error() -> None:
    assert issubclass(InvalidName, ValueError)


# --- object keys --------------------------------------------------------------------------


def test_object_key_examples() -> None:
    name = RecordName(2026, 7, "contract")
    assert current_key(name) == "current/2026-0007-contract"
    assert archive_key(name, 1) == "archive/2026-0007-contract/v000001"
    assert archive_key(name, 1234567) == "archive/2026-0007-contract/v1234567"


@settings(max_examples=150, deadline=None)
@given(years, numbers, types)
def test_current_key_round_trip(year: int, number: int, record_type: str) -> None:
    name = RecordName(year, number, record_type)
    key = current_key(name)
    assert parse_object_key(key) == ObjectKey("current", name, None)


@settings(max_examples=150, deadline=None)
@given(years, numbers, types, versions)
def test_archive_key_round_trip(year: int, number: int, record_type: str, version: int) -> None:
    name = RecordName(year, number, record_type)
    key = archive_key(name, version)
    assert parse_object_key(key) == ObjectKey("archive", name, version)


@settings(max_examples=150, deadline=None)
@given(years, numbers, types)
def test_number_key_round_trip(year: int, number: int, record_type: str) -> None:
    name = RecordName(year, number, record_type)
    key = number_key(name)
    assert key == f"numbers/{name}"
    assert parse_object_key(key) == ObjectKey("numbers", name, None)


@pytest.mark.parametrize("version", [0, -1])
def test_archive_key_rejects_bad_version(version: int) -> None:
    with pytest.raises(InvalidName):
        archive_key(RecordName(2026, 1, "contract"), version)


@pytest.mark.parametrize(
    "key",
    [
        "",
        "2026-0001-contract",
        "current/",
        "current",
        "Current/2026-0001-contract",
        "current//2026-0001-contract",
        "current/2026-0001-contract/",
        "current/2026-0001-contract/v000001",
        "current/2026-001-contract",
        "current/2026-00001-contract",
        "current/../2026-0001-contract",
        "current/2026-0001-contract\n",
        "/current/2026-0001-contract",
        "archive/2026-0001-contract",
        "archive/2026-0001-contract/",
        "archive/2026-0001-contract/v",
        "archive/2026-0001-contract/v1",
        "archive/2026-0001-contract/v00001",  # fewer than six digits
        "archive/2026-0001-contract/v0000001",  # non-canonical padding
        "archive/2026-0001-contract/v000000",  # version 0
        "archive/2026-0001-contract/V000001",
        "archive/2026-0001-contract/000001",
        "archive/2026-0001-contract/v000001/",
        "archive/2026-0001-contract/v000001/x",
        "archive/2026-0001-contract/v000001\n",
        "archive/2026-0001-contract/v٠٠٠٠٠١",  # Arabic-Indic digits in the version
        "archive/2026-0001-contract/v００００01",  # fullwidth digits in the version
        "archive/2026-001-contract/v000001",
        "archive//2026-0001-contract/v000001",
        "archive/../2026-0001-contract/v000001",
        "archives/2026-0001-contract/v000001",
        "other/2026-0001-contract",
        "numbers/2026-1-contract",
        "numbers/2026-0001-contract/v000001",
        "number/2026-0001-contract",
        "logs/2026-0001-contract",
        "strongroom/catalog.sqlite3",
        ".minio.sys/config",
    ],
)
def test_parse_object_key_rejects_foreign_keys(key: str) -> None:
    with pytest.raises(InvalidName):
        parse_object_key(key)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=60), st.from_regex(r"\A(current|archive|numbers)/.{0,50}\Z", fullmatch=True)))
def test_parse_object_key_arbitrary_text(key: str) -> None:
    try:
        parsed = parse_object_key(key)
    except InvalidName:
        return
    if parsed.area == "current":
        assert parsed.version is None
        assert current_key(parsed.name) == key
    elif parsed.area == "numbers":
        assert parsed.version is None
        assert number_key(parsed.name) == key
    else:
        assert parsed.area == "archive"
        assert parsed.version is not None and parsed.version >= 1
        assert archive_key(parsed.name, parsed.version) == key
