"""Queries against a real on-disk index: Chinese both ways, stemming, Whoosh syntax, filters, ranking, the gate."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime
from pathlib import Path

import opencc
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from errors import UsageError
from search.documents import VersionInfo, document
from search.extract import Extracted
from search.index import SearchIndex
from search.query import FULL, HIDDEN, RESTRICTED, Filters, Scope, count_outside, parse, plain_words, run
from tests.test_search_analysis import SEED

POLICY = SEED.read_text(encoding="utf-8")
SIMPLIFIED = opencc.OpenCC("t2s").convert(POLICY)
CARD = "6222020012345671"  # Luhn-valid


def info(name: str, *, title: str = "", version: int = 1, current: bool = True,
         filed: datetime = datetime(2026, 11, 6, 9, 30, tzinfo=UTC)) -> VersionInfo:
    year, _, kind = name.split("-", 2)
    return VersionInfo(name=name, type=kind, year=int(year), title=title, version=version, current=current,
                       filed_at=filed, filed_by="sam", filename="doc.txt", size=0)


DOCS: list[tuple[VersionInfo, str]] = [
    (info("2026-0001-minutes", title="銀行客戶關係維護制度"), POLICY),  # traditional
    (info("2026-0002-report", title="客户档案管理"), "本月客户档案已全部归档，定期备份。"),  # simplified
    (info("2026-0003-report", title="Quarterly reporting"),
     f"The monthly reports are filed on time. Customer card {CARD} was replaced."),
    (info("2025-0001-letter", title="Complaint", filed=datetime(2025, 3, 2, tzinfo=UTC)),
     "A customer complaint about the branch; reported to the manager."),
    (info("2026-0001-contract", title="Loan contract 6222020012345671"), "保密合同 loan terms and 备份 schedule"),
    (info("2026-0004-report", title="Old draft", version=1, current=False), "draft of the satisfaction survey"),
    (info("2026-0004-report", title="Satisfaction survey", version=2), "final satisfaction survey results"),
]


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> SearchIndex:
    root = tmp_path_factory.mktemp("query")
    built = SearchIndex(root / "index", root / "run" / "search-index.lock")
    with built.writing() as writer:
        for version, text in DOCS:
            writer.put(document(version, Extracted(text)))
    return built


def everyone(_name: str, _type: str) -> str:
    return FULL


def names(index: SearchIndex, text: str, filters: Filters | None = None, decide=everyone,  # type: ignore[no-untyped-def]
          scope: Scope | None = None, limit: int = 20) -> list[str]:
    return [hit.name for hit in run(index, text, filters or Filters(), scope, limit, decide)]


def test_simplified_query_finds_traditional_text_and_the_other_way_round(index: SearchIndex) -> None:
    assert "備份" in POLICY and "备份" not in POLICY
    assert "2026-0001-minutes" in names(index, "备份")
    assert "2026-0002-report" in names(index, "檔案")  # the document says 档案
    assert set(names(index, "客戶")) >= {"2026-0001-minutes", "2026-0002-report"}


def test_english_is_stemmed(index: SearchIndex) -> None:
    found = names(index, "reports")
    assert {"2026-0003-report", "2025-0001-letter"} <= set(found)  # "reporting", "reports", "reported"
    assert set(names(index, "reporting")) == set(found)


@pytest.mark.parametrize(("query", "expected"), [
    ("customer AND complaint", {"2025-0001-letter"}),
    ("complaint OR replaced", {"2025-0001-letter", "2026-0003-report"}),
    ("customer NOT complaint", {"2026-0003-report"}),
    ('"monthly reports"', {"2026-0003-report"}),
    ('"reports monthly"', set()),
    ("type:contract", {"2026-0001-contract"}),
    ("title:complaint", {"2025-0001-letter"}),
    ("year:2025", {"2025-0001-letter"}),
    ("year:[2025 TO 2026] AND loan", {"2026-0001-contract"}),
    ("satisf*", {"2026-0004-report"}),
    ("customers*", {"2026-0003-report", "2025-0001-letter"}),  # the prefix is stemmed as the text was
    ("档*", {"2026-0002-report"}),
    ("name:2026-0002-report", {"2026-0002-report"}),
])
def test_whoosh_query_syntax(index: SearchIndex, query: str, expected: set[str]) -> None:
    assert set(names(index, query)) == expected


def test_filters_narrow_by_type_year_date_and_version(index: SearchIndex) -> None:
    assert set(names(index, "customer", Filters(record_type="letter"))) == {"2025-0001-letter"}
    assert set(names(index, "customer", Filters(year=2026))) == {"2026-0003-report"}
    assert set(names(index, "customer", Filters(date_from=date(2025, 1, 1), date_to=date(2025, 3, 2)))) == {
        "2025-0001-letter"}
    assert names(index, "draft") == []  # version 1 is archived
    archived = run(index, "draft", Filters(all_versions=True), None, 10, everyone)
    assert [(hit.name, hit.version, hit.current) for hit in archived] == [("2026-0004-report", 1, False)]


def test_a_title_match_ranks_above_a_text_match(index: SearchIndex) -> None:
    hits = run(index, "complaint OR customer", Filters(), None, 10, everyone)
    assert hits[0].name == "2025-0001-letter"
    assert [hit.score for hit in hits] == sorted((hit.score for hit in hits), reverse=True)


def test_snippets_are_masked_and_mark_the_matched_words(index: SearchIndex) -> None:
    [hit] = run(index, "replaced", Filters(), None, 10, everyone)
    assert hit.snippet is not None and CARD not in hit.snippet and "6222 **** **** 5671" in hit.snippet
    assert [hit.snippet[a:b] for a, b in hit.highlights] == ["replaced"]
    [contract] = run(index, "loan", Filters(), None, 10, everyone)
    assert contract.title == "Loan contract 6222 **** **** 5671"
    [minutes] = run(index, "备份", Filters(record_type="minutes"), None, 10, everyone)
    assert minutes.snippet and {minutes.snippet[a:b] for a, b in minutes.highlights} == {"備份"}


def gate(readable: Iterable[str], auditor: bool):  # type: ignore[no-untyped-def]
    allowed = set(readable)

    def decide(name: str, _type: str) -> str:
        return FULL if name in allowed else (RESTRICTED if auditor else HIDDEN)

    return decide


def test_the_gate_decides_every_hit(index: SearchIndex) -> None:
    query = "备份 OR customer OR draft OR satisfaction"
    staff = run(index, query, Filters(all_versions=True), None, 20, gate({"2026-0002-report"}, auditor=False))
    assert [hit.name for hit in staff] == ["2026-0002-report"]
    audited = run(index, query, Filters(all_versions=True), None, 20, gate({"2026-0002-report"}, auditor=True))
    restricted = [hit for hit in audited if hit.restricted]
    assert {hit.name for hit in restricted} == {"2026-0001-minutes", "2026-0001-contract", "2026-0003-report",
                                                "2025-0001-letter", "2026-0004-report"}
    assert len(restricted) == len({hit.name for hit in restricted})  # once per record, not per version
    assert all(hit.title is None and hit.snippet is None and hit.as_dict().keys() == {"name", "type", "restricted",
                                                                                       "note"} for hit in restricted)


def test_the_scope_narrows_before_ranking_and_the_limit_counts_visible_hits(index: SearchIndex) -> None:
    scope = Scope(frozenset({"report"}), frozenset({"2025-0001-letter"}))
    found = names(index, "customer OR 客户 OR 备份", scope=scope)
    assert set(found) == {"2026-0002-report", "2026-0003-report", "2025-0001-letter"}
    assert names(index, "customer", scope=Scope(frozenset(), frozenset())) == []
    hidden_first = gate({"2026-0002-report"}, auditor=False)
    assert names(index, "客户 OR customer OR 备份", decide=hidden_first, limit=1) == ["2026-0002-report"]


def test_an_empty_or_missing_index_finds_nothing(tmp_path: Path) -> None:
    empty = SearchIndex(tmp_path / "index", tmp_path / "lock")
    assert run(empty, "anything", Filters(), None, 10, everyone) == []
    assert count_outside(empty, "anything", Filters(), Scope(frozenset(), frozenset())) == 0
    assert not empty.exists()


def test_records_outside_the_scope_are_counted_once_each(index: SearchIndex) -> None:
    readable = Scope(frozenset({"report"}), frozenset({"2025-0001-letter"}))
    query = "客户 OR 备份 OR draft OR satisfaction OR customer"
    assert count_outside(index, query, Filters(), readable) == 2  # the minutes and the contract
    assert count_outside(index, query, Filters(record_type="contract"), readable) == 1
    everything = Scope(frozenset(), frozenset())  # reads nothing: every matching record counts
    assert count_outside(index, query, Filters(), everything) == 6
    assert count_outside(index, "draft OR satisfaction", Filters(all_versions=True), everything) == 1  # two versions
    assert count_outside(index, "nosuchword", Filters(), everything) == 0


@pytest.mark.parametrize(("text", "plain"), [
    ("NEPTUNE", True), ("客户 AND 备份", True), ('"monthly report" OR NOT 投诉', True), ("(lease OR 租赁) NOT draft", True),
    ("customer's", True),
    ("title:NEPTUNE", False), ("NEPTU*", False), ("NEPTU?", False), ("1381234567*", False), ("13812345678", False),
    ("report 2026", False), ("１３８", False), ("ＮＥＰＴ＊", False), ("x^2", False), ('"a b"~2', False),
    ("year:[2024 TO 2026]", False), ("filed:{20260101 TO}", False), ("title：NEPTUNE", False),  # full width is read as ASCII
])
def test_only_plain_words_without_digits_are_plain(text: str, plain: bool) -> None:
    assert plain_words(text) is plain


# -- any query string: results or a one-line usage error ----------------------------------------------

OPERATORS = ["AND", "OR", "NOT", "TO", "(", ")", '"', "'", "*", "?", "~", "~2", "^", "^2", ":", "[", "]", "{", "}",
             "-", "+", "\\", "/", "<", ">", "=", ","]
FIELDS = [f"{field}:" for field in ("name", "type", "year", "title", "body", "filename", "uploader", "filed",
                                    "version", "current", "key", "content", "note", "nosuch")]
WORDS = ["customer", "reports", "客户", "備份", "档*", "2026", "20260101", "1381234567*", "report?", "x", "1.5", "-3",
         "2026-0001-contract", "满意度90%"]
PIECES = st.one_of(st.sampled_from(OPERATORS + FIELDS + WORDS), st.text(max_size=4))
# Operator soup: pieces of the syntax and words, glued together or spaced, plus arbitrary text (CJK included).
QUERY_STRINGS = st.one_of(
    st.builds(lambda parts, glue: glue.join(parts), st.lists(PIECES, min_size=1, max_size=16), st.sampled_from(["", " "])),
    st.text(max_size=80),
    st.text(alphabet=st.one_of(st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF),
                               st.sampled_from('ANDORT *?~^:[]{}()"'), st.characters(max_codepoint=0x7F)), max_size=40),
)


def usage_or(call, text: str):  # type: ignore[no-untyped-def]
    """What ``call(text)`` returns, or None for a usage error, which must be one non-empty line."""
    try:
        return call(text)
    except UsageError as exc:
        assert str(exc) and "\n" not in str(exc) and "Traceback" not in str(exc)
        return None


@settings(max_examples=1500, deadline=None)
@given(QUERY_STRINGS)
@example("NOT NOT NOT")  # IndexError inside Whoosh's parser
@example("note:x")  # a stored-only field: a bare Exception
@example('filed:"a b"')  # parsed, then failing when the search runs: not a date
@example("filed:[x TO y]")
@example("((((((((((((((((((((((((((((((((((((((((x")
def test_any_query_string_parses_or_is_a_one_line_usage_error(text: str) -> None:
    usage_or(parse, text)


@settings(max_examples=300, deadline=None)
@given(QUERY_STRINGS, st.booleans())
@example('filed:"a b"', False)
@example("version:\"1 2\" OR customer", True)
def test_any_query_string_runs_or_is_a_one_line_usage_error(index: SearchIndex, text: str, all_versions: bool) -> None:
    hits = usage_or(lambda q: run(index, q, Filters(all_versions=all_versions), None, 5, everyone), text)
    assert hits is None or len(hits) <= 5


@pytest.mark.parametrize("text", ["NOT NOT NOT", "note:x", 'filed:"a b"', "filed:[x TO y]"])
def test_queries_whoosh_cannot_run_are_usage_errors(index: SearchIndex, text: str) -> None:
    with pytest.raises(UsageError, match="search query"):
        run(index, text, Filters(), None, 5, everyone)
