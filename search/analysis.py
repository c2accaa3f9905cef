"""The analyzer: the same terms for a document and for a query, in Chinese and in English.

- **Normalisation.** Full-width letters and digits become ASCII and traditional Chinese becomes
  simplified (OpenCC ``t2s``), character for character, so that 備份 and 备份 are one term and an
  offset in the normalised text is the same offset in the original (highlighting relies on it).
- **Chinese.** Each run of Han characters is segmented with jieba in precise mode without the HMM:
  the dictionary alone decides, so a word segments the same way in a query as in a document. When
  indexing, the dictionary words inside a longer word are added at that word's position (客户关系 →
  also 客户, 关系), as jieba's search mode does, so a query for the part finds the whole while phrases
  still line up.
- **Other words** (Latin letters, digits, other scripts) are lower-cased; English stop words and
  single letters are dropped and alphabetic words Porter-stemmed (reports, reporting → report).

jieba loads its dictionary (about a second) the first time Chinese text is analysed, once per process.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any

from whoosh.analysis import STOP_WORDS, Token, Tokenizer
from whoosh.lang.porter import stem

HAN_CHARS = "\u3007\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002fa1f"
HAN_RUN = re.compile(f"[{HAN_CHARS}]+")
WORD = re.compile(r"[^\W_]+")
MAX_WORD = 64
SUBWORD_SIZES = (2, 3)
# Full-width ASCII (U+FF01-FF5E) and the ideographic space, folded one character to one character.
WIDTH_FOLD = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}
FULL_WIDTH = re.compile("[\uff01-\uff5e\u3000]")  # searching first is 10x faster than translating

_load_lock = threading.Lock()


@dataclass(frozen=True)
class Term:
    """One indexed term: its text, its position (word count) and its span in the original text."""

    text: str
    pos: int
    start: int
    end: int


@cache
def _converter() -> Any:
    import opencc

    return opencc.OpenCC("t2s")


def _segmenter() -> Any:
    """jieba's tokenizer with its dictionary loaded (once per process, whichever thread asks first)."""
    with _load_lock:
        return _load_segmenter()


@cache
def _load_segmenter() -> Any:
    import jieba

    jieba.setLogLevel(logging.WARNING)
    segmenter = jieba.Tokenizer()
    segmenter.initialize()
    return segmenter


def dictionary() -> dict[str, int]:
    """jieba's word frequencies (0 for a prefix that is no word)."""
    frequencies: dict[str, int] = _segmenter().FREQ
    return frequencies


def preload() -> None:
    """Load the dictionaries now (a service does this at start, not on its first request)."""
    _converter()
    _segmenter()


def normalise(text: str) -> str:
    """Full width folded and traditional Chinese made simplified, keeping every character's offset."""
    folded = text.translate(WIDTH_FOLD) if FULL_WIDTH.search(text) else text
    if not HAN_RUN.search(folded):
        return folded
    converted: str = _converter().convert(folded)
    if len(converted) == len(folded):
        return converted
    # A phrase conversion changed the length somewhere: convert run by run, then character by character.
    return HAN_RUN.sub(lambda m: _convert_keeping_length(m.group()), folded)


def _convert_keeping_length(run: str) -> str:
    converted: str = _converter().convert(run)
    if len(converted) == len(run):
        return converted
    out = []
    for char in run:
        single: str = _converter().convert(char)
        out.append(single if len(single) == 1 else char)
    return "".join(out)


@lru_cache(maxsize=100_000)
def latin_term(word: str) -> str | None:
    """The term for a non-Han word (already normalised), or None for a stop word or a stray letter."""
    lowered = word.lower()
    if len(lowered) > MAX_WORD or lowered in STOP_WORDS:
        return None
    if lowered.isalpha():
        return None if len(lowered) < 2 else stem(lowered)
    return lowered


def terms(text: str, *, query: bool = False) -> Iterator[Term]:
    """The terms of ``text``; ``query`` leaves out the sub-words added for indexing."""
    normal = normalise(text)
    pos = 0
    done = 0
    for run in HAN_RUN.finditer(normal):
        pos = yield from _words(normal, done, run.start(), pos)
        pos = yield from _han(run.group(), run.start(), pos, subwords=not query)
        done = run.end()
    yield from _words(normal, done, len(normal), pos)


def _words(normal: str, start: int, end: int, pos: int) -> Generator[Term, None, int]:
    for match in WORD.finditer(normal, start, end):
        term = latin_term(match.group())
        if term is not None:
            yield Term(term, pos, match.start(), match.end())
            pos += 1
    return pos


def _han(run: str, offset: int, pos: int, *, subwords: bool) -> Generator[Term, None, int]:
    segmenter = _segmenter()
    start = offset
    for word in segmenter.cut(run, HMM=False):
        end = start + len(word)
        yield Term(word, pos, start, end)
        if subwords and len(word) > 2:
            for size in SUBWORD_SIZES:
                for i in range(len(word) - size + 1):
                    part = word[i:i + size]
                    if part != word and segmenter.FREQ.get(part):
                        yield Term(part, pos, start + i, start + i + size)
        pos += 1
        start = end
    return pos


def query_term(text: str) -> str:
    """An untokenised query word (a prefix, a wildcard pattern, a fuzzy term), normalised and lower-cased.

    A plain word of letters — Whoosh passes a prefix query's text without its ``*`` — is stemmed as
    the index's words were, so ``customers*`` looks for ``custom…`` (the index holds "custom" for
    customers); patterns with wildcards inside stay as they are.
    """
    pattern = normalise(text).lower()
    word = pattern.removesuffix("*")
    if word.isascii() and word.isalpha() and len(word) > 1:
        return stem(word) + pattern[len(word):]
    return pattern


class MixedAnalyzer(Tokenizer):  # type: ignore[misc]
    """:func:`terms` as a Whoosh analyzer (pickled into the index's schema, so keep it argument-free)."""

    def __call__(  # type: ignore[no-untyped-def]
        self, value, positions=False, chars=False, keeporiginal=False, removestops=True, start_pos=0,
        start_char=0, tokenize=True, mode="", **kwargs,
    ) -> Iterator[Token]:
        token = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        if not tokenize:
            token.original = token.text = query_term(value)
            token.boost = 1.0
            if positions:
                token.pos = start_pos
            if chars:
                token.startchar, token.endchar = start_char, start_char + len(value)
            yield token
            return
        for term in terms(value, query=mode == "query"):
            token.text = term.text
            token.boost = 1.0
            token.stopped = False
            if keeporiginal:
                token.original = term.text
            if positions:
                token.pos = start_pos + term.pos
            if chars:
                token.startchar, token.endchar = start_char + term.start, start_char + term.end
            yield token
