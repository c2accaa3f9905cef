"""The analyzer on real text: simplified and traditional Chinese become the same terms; English is stemmed."""

from __future__ import annotations

from pathlib import Path

import pytest

from search.analysis import MixedAnalyzer, normalise, terms

SEED = Path(__file__).resolve().parent / "data" / "policy-zh-hant.txt"  # the source policy (../shared/seed), traditional Chinese


@pytest.fixture(scope="module")
def policy_text() -> str:
    """The bank's policy (traditional characters), as scraped."""
    return SEED.read_text(encoding="utf-8")


def words(text: str, *, query: bool = False) -> list[str]:
    return [term.text for term in terms(text, query=query)]


def test_traditional_and_simplified_text_give_the_same_terms(policy_text: str) -> None:
    import opencc

    simplified = opencc.OpenCC("t2s").convert(policy_text)
    assert simplified != policy_text
    assert words(policy_text) == words(simplified)
    assert "备份" in words(policy_text) and "客户" in words(policy_text)
    assert "備份" not in words(policy_text)


def test_normalising_keeps_every_offset(policy_text: str) -> None:
    normal = normalise(policy_text)
    assert len(normal) == len(policy_text)
    for term in terms(policy_text):
        if term.text == "备份":
            assert policy_text[term.start:term.end] == "備份"
    assert normalise("ＡＢＣ１２３　備份") == "ABC123 备份"


def test_english_words_are_lower_cased_stemmed_and_stop_words_dropped() -> None:
    assert words("Report reports REPORTING reported") == ["report"] * 4
    assert words("the customers of a bank") == ["custom", "bank"]
    assert words("ID 11010519491231002X 2026") == ["id", "11010519491231002x", "2026"]


def test_indexing_adds_the_words_inside_a_compound_at_its_position() -> None:
    indexed = [(t.text, t.pos) for t in terms("银行客户关系维护")]
    assert ("客户关系", 1) in indexed and ("客户", 1) in indexed and ("关系", 1) in indexed
    assert words("银行客户关系维护", query=True) == ["银行", "客户关系", "维护"]


def test_the_whoosh_analyzer_knows_queries_from_documents_and_untokenised_words() -> None:
    analyzer = MixedAnalyzer()
    assert [t.text for t in analyzer("客户关系", mode="query")] == ["客户关系"]
    assert {t.text for t in analyzer("客户关系", mode="index")} == {"客户关系", "客户", "关系"}
    assert [t.text for t in analyzer("Reports*", tokenize=False)] == ["report*"]  # prefixes meet stems
    assert [t.text for t in analyzer("customer*", tokenize=False)] == ["custom*"]
    assert [t.text for t in analyzer("cust?mer", tokenize=False)] == ["cust?mer"]
    positioned = [(t.text, t.pos, t.startchar) for t in analyzer("備份 files", positions=True, chars=True)]
    assert positioned == [("备份", 0, 0), ("file", 1, 3)]
