"""The rules of the free-text fields (pure), and the API's schema stating the same limits."""

from __future__ import annotations

from typing import Any, cast

import pytest
from hypothesis import given
from hypothesis import strategies as st

from access.policy import AccessPolicy
from api.app import create_app
from archive.fields import COMMENT, FILENAME, LIMITS, REASON, RULES, TITLE, check_text, required_text
from archive.service import Archive
from errors import UsageError


def refusal(field: str, value: str) -> str:
    with pytest.raises(UsageError) as caught:
        check_text(field, value)
    return str(caught.value)


def test_the_limits_are_the_apis_old_ones_and_one_per_field() -> None:
    assert LIMITS == {TITLE: 500, COMMENT: 2000, REASON: 2000, FILENAME: 255}


@pytest.mark.parametrize("field", list(RULES))
def test_a_value_is_accepted_up_to_the_limit_and_refused_beyond_it(field: str) -> None:
    limit = LIMITS[field]
    assert check_text(field, "字" * limit) == "字" * limit
    assert check_text(field, f"  {'x' * limit}\t ") == "x" * limit  # counted after the white space is dropped
    assert refusal(field, "x" * (limit + 1)) == f"{field} is too long: {limit + 1:,} characters, at most {limit:,}"


@pytest.mark.parametrize("field", list(RULES))
def test_an_empty_value_is_no_value_and_a_required_one_is_refused(field: str) -> None:
    for empty in (None, "", "   ", "\n\t "):
        assert check_text(field, empty) is None
        with pytest.raises(UsageError, match=f"^a {field} is required$"):
            required_text(field, empty)
    with pytest.raises(UsageError, match="^a reason for the denial is required$"):
        required_text(REASON, " ", "reason for the denial")


@pytest.mark.parametrize("field", [TITLE, COMMENT, FILENAME])
def test_one_line_fields_refuse_line_breaks_and_tabs(field: str) -> None:
    assert refusal(field, "first\nsecond") == f"{field} must be one line (a line break at character 6)"
    assert refusal(field, "a\u2028b") == f"{field} must be one line (a line break at character 2)"
    assert refusal(field, "a\tb") == f"{field} contains a control character (U+0009 at character 2)"


@pytest.mark.parametrize("field", list(RULES))
@pytest.mark.parametrize("char", ["\x1b", "\x00", "\x07", "\x7f", "\x9b", "\u202e", "\u2066"])
def test_control_characters_and_direction_overrides_are_refused_everywhere(field: str, char: str) -> None:
    assert refusal(field, f"ok{char}[2J") == f"{field} contains a control character (U+{ord(char):04X} at character 3)"


def test_a_reason_may_span_lines() -> None:
    assert check_text(REASON, "loan review\r\nbranch 3\rQ4\tteam") == "loan review\nbranch 3\nQ4\tteam"


def test_ordinary_text_in_any_script_passes() -> None:
    for text in ("Lease, branch 3 (2026) — 租约 №7 ✓", "قرض", "Ünïcödé 🙂", "report (final) v2.pdf"):
        assert check_text(TITLE, text) == text


@given(field=st.sampled_from(list(RULES)), value=st.text(max_size=600) | st.none())
def test_any_value_is_either_clean_and_within_the_limit_or_refused_in_one_line(field: str, value: str | None) -> None:
    try:
        checked = check_text(field, value)
    except UsageError as exc:
        assert str(exc).startswith(field) and "\n" not in str(exc)
        return
    if checked is None:
        assert not (value or "").strip()
        return
    assert checked == checked.strip() and 0 < len(checked) <= LIMITS[field]
    assert all(ord(c) >= 0x20 and not 0x7F <= ord(c) < 0xA0 for c in checked if c not in "\n\t")
    assert "\n" not in checked or RULES[field].multiline


def test_the_openapi_document_states_the_same_limits() -> None:
    document = create_app(cast(Archive, object()), cast(AccessPolicy, object())).openapi()

    def query(path: str, name: str) -> dict[str, Any]:
        (parameter,) = [p for p in document["paths"][path]["post"]["parameters"] if p["name"] == name]
        return cast(dict[str, Any], parameter["schema"])

    assert query("/records", "title")["maxLength"] == LIMITS[TITLE]
    assert query("/records", "filename")["maxLength"] == LIMITS[FILENAME]
    assert query("/records/{name}/versions", "comment")["maxLength"] == LIMITS[COMMENT]
    schemas = document["components"]["schemas"]
    for model in ("RequestForm", "HoldForm", "DisposeForm", "TriggerForm"):
        assert schemas[model]["properties"]["reason"]["maxLength"] == LIMITS[REASON], model
