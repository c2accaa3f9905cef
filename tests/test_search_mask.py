"""De-identification of snippets: each kind of number, Luhn-valid and invalid cards, and properties (hypothesis)."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from search.mask import id_check_character, is_id_18, luhn_check_digit, luhn_valid, mask


def card(body: str) -> str:
    return body + luhn_check_digit(body)


def id_18(first17: str) -> str:
    return first17 + id_check_character(first17)


VALID_CARD = card("622202001234567")  # 16 digits
VALID_ID = id_18("11010519491231002")
INVALID_CARD = "6222020012345678" if not luhn_valid("6222020012345678") else "6222020012345679"


def test_check_digits_are_computed_as_published() -> None:
    assert luhn_valid("4111111111111111") and not luhn_valid("4111111111111112")
    assert id_18("11010519491231002") == "11010519491231002X"  # the GB 11643 sample number
    assert is_id_18("11010519491231002X") and not is_id_18("110105194912310021")


@pytest.mark.parametrize(("text", "masked"), [
    # bank cards: Luhn-valid ones in any layout, shown as first 4 and last 4 in groups of four
    (f"卡号{VALID_CARD}。", f"卡号6222 **** **** {VALID_CARD[-4:]}。"),
    ("card 4111 1111 1111 1111 on file", "card 4111 **** **** 1111 on file"),
    ("card 4111-1111-1111-1111.", "card 4111 **** **** 1111."),
    (f"19 digits {card('621700000000000000')}", f"19 digits 6217 **** **** *** {card('621700000000000000')[-4:]}"),
    # ID cards: 18 characters with the check character, 15 digits with a birth date
    (f"身份证号{VALID_ID}，", "身份证号110***********002X，"),
    ("旧证 110105491231002", "旧证 110********1002"),
    # mobile numbers, with or without +86 and separators
    ("手机13812345678", "手机138****5678"),
    ("tel +86 139-1234-5678", "tel +86 139-****-5678"),
    ("全角 １３８１２３４５６７８", "全角 138****5678"),
    # landlines: area code kept
    ("电话010-62345678转12", "电话010-****5678转12"),
    ("(0755)87654321", "(0755)****4321"),
    ("021 6432 1234", "021 **** 1234"),
    ("+86 10 87654321", "+86 10 ****4321"),
    # e-mail addresses
    ("mail zhang.san@bank.com.cn now", "mail z***@bank.com.cn now"),
    ("QQ 13812345678@qq.com", "QQ 1***@qq.com"),
    # Chinese written against an address is not part of it: only the local part is masked
    ("邮箱zhangwei@example.com", "邮箱z***@example.com"),
    ("请发送至zhangwei@example.com即可", "请发送至z***@example.com即可"),
    ("联系人：张伟，li_si@bank.com.cn。", "联系人：张伟，l***@bank.com.cn。"),
    ("_abc@example.com", "_***@example.com"),
    # an internationalised local part (non-ASCII before the @): the whole word before it is masked
    ("张伟@example.com", "张***@example.com"),
])
def test_each_kind_of_number_is_masked(text: str, masked: str) -> None:
    assert mask(text) == masked


@pytest.mark.parametrize("text", [
    f"invalid card {INVALID_CARD} stays",
    "grouped but invalid 6222 0200 1234 5678",
    "an 18-digit number without a valid check: 110105194912310021",
    "record 2026-0001-contract filed 2026-11-06, amount 12,345,678.00 yuan, count 12345678",
    "银行客户关系维护制度: 客户满意度90%以上, 投诉率降低20%",
])
def test_what_is_not_customer_information_is_left_alone(text: str) -> None:
    assert mask(text) == text


FILLER = st.text(alphabet="客户关系维护 abcXYZ,.;:()", max_size=30)


@given(st.text(alphabet="0123456789", min_size=12, max_size=18), FILLER, FILLER)
def test_a_luhn_valid_card_never_survives_and_keeps_its_last_four(body: str, before: str, after: str) -> None:
    number = card(body)  # 15 or 18 digits may also read as an ID-card number: masked either way
    out = mask(f"{before} {number} {after}")
    assert number not in out and number[-4:] in out
    assert sum(c.isdigit() for c in out) <= sum(c.isdigit() for c in f"{before}{after}") + 8


@given(st.text(alphabet="0123456789", min_size=13, max_size=19), FILLER, FILLER)
def test_a_luhn_invalid_card_is_never_touched(number: str, before: str, after: str) -> None:
    if luhn_valid(number) or len(number) in (15, 18) or number.startswith("0"):
        return  # an ID-card number or a landline may look like this; they are other rules
    text = f"{before} {number} {after}"
    assert mask(text) == text


@given(st.dates(date(1900, 1, 1), date(2099, 12, 31)), st.text(alphabet="0123456789", min_size=6, max_size=6),
       st.text(alphabet="0123456789", min_size=3, max_size=3), FILLER)
def test_an_id_card_number_is_always_masked(birth: date, region: str, sequence: str, filler: str) -> None:
    number = id_18(f"{region}{birth:%Y%m%d}{sequence}")
    out = mask(f"{filler}身份证{number}{filler}")
    assert number not in out and number[8:14] not in out  # the birth date is hidden
    assert out.count("*") == 11


@given(st.sampled_from("3456789"), st.text(alphabet="0123456789", min_size=9, max_size=9), FILLER)
def test_a_mobile_number_is_always_masked(second: str, rest: str, filler: str) -> None:
    number = f"1{second}{rest}"
    out = mask(f"{filler}电话{number}{filler}")
    assert number not in out and f"{number[:3]}****{number[-4:]}" in out


@given(st.text(max_size=200))
def test_masking_is_idempotent_and_never_adds_digits(text: str) -> None:
    once = mask(text)
    assert mask(once) == once
    assert sum(c.isdigit() for c in once) <= sum(c.isdigit() for c in text)


LOCAL_PART = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._%+-]{0,20}", fullmatch=True)
DOMAIN = st.from_regex(r"[a-z0-9]{1,10}(\.[a-z0-9-]{1,8}){0,2}\.[a-z]{2,6}", fullmatch=True)
# Text around an address, as Chinese documents have it: Han characters, CJK and ASCII punctuation, spaces.
AROUND = st.text(alphabet=st.one_of(st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF),
                                    st.sampled_from("，。：；（）《》、 \n,;:()<>[]\"")), max_size=12)


@given(AROUND, LOCAL_PART, DOMAIN, AROUND)
def test_only_an_addresss_local_part_is_masked_and_the_text_around_it_stays(
        before: str, local: str, domain: str, after: str) -> None:
    assert mask(f"{before}{local}@{domain}{after}") == f"{before}{local[0]}***@{domain}{after}"


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs", "Nd"), blacklist_characters="@\uff08\uff09\uff0b\uff0d"),
               max_size=100))
def test_text_without_digits_or_an_at_sign_is_never_changed(text: str) -> None:
    assert mask(text) == text
