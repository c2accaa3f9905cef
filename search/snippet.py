"""A hit's snippet: the passage that best shows the query's terms, de-identified, with the terms marked (pure).

The whole text is masked first, so a number cut by the window's edge cannot escape the masker.
The passage is chosen cheaply — where the query terms occur most densely in the normalised text
(simplified, folded; same offsets) — and only that passage is analysed to mark exactly the words the
index matched (a query 备份 marks 備份; a query report marks Reporting).
"""

from __future__ import annotations

import re
from bisect import bisect_left
from dataclasses import dataclass

from search.analysis import HAN_RUN, normalise, terms
from search.mask import mask

WIDTH = 160
LEAD = 40  # characters shown before the first term
MAX_OCCURRENCES = 200  # per term, when choosing the passage
SNAP = 15  # how far an edge may move to avoid cutting a word
ELLIPSIS = "…"
ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class Snippet:
    text: str
    highlights: list[tuple[int, int]]  # [start, end) in ``text``


def _pattern(term: str) -> re.Pattern[str]:
    """Where a term may occur in the normalised text: Chinese as is, a stem as a word's beginning."""
    if HAN_RUN.search(term):
        return re.compile(re.escape(term))
    stem = term[:-1] if term.endswith("i") and len(term) > 3 else term  # happi(ness) ~ happy
    return re.compile(r"(?<![^\W_])" + re.escape(stem))


def _occurrences(normal: str, query_terms: set[str]) -> list[tuple[int, str]]:
    found = []
    for term in query_terms:
        for count, match in enumerate(_pattern(term).finditer(normal)):
            if count == MAX_OCCURRENCES:
                break
            found.append((match.start(), term))
    return sorted(found)


def _window_start(occurrences: list[tuple[int, str]], width: int) -> int:
    """Start of the window holding the most distinct terms (then the most occurrences), earliest first."""
    positions = [position for position, _ in occurrences]
    best, best_score = 0, (0, 0)
    for i, position in enumerate(positions):
        inside = occurrences[i:bisect_left(positions, position + width - LEAD)]
        score = (len({term for _, term in inside}), len(inside))
        if score > best_score:
            best, best_score = max(0, position - LEAD), score
    return best


def _is_word(char: str) -> bool:
    return char.isascii() and char.isalnum()


def _snap(text: str, start: int, end: int) -> tuple[int, int]:
    """Move the edges off the middle of a Latin word, by at most SNAP characters."""
    if 0 < start < end and _is_word(text[start - 1]) and _is_word(text[start]):
        for i in range(start, min(start + SNAP, end)):
            if not _is_word(text[i]):
                start = i + 1
                break
    if start < end < len(text) and _is_word(text[end - 1]) and _is_word(text[end]):
        for i in range(end - 1, max(end - SNAP, start), -1):
            if not _is_word(text[i]):
                end = i
                break
    return start, end


def _marks(passage: str, query_terms: set[str]) -> list[tuple[int, int]]:
    spans = sorted((t.start, t.end) for t in terms(passage) if t.text in query_terms)
    merged: list[tuple[int, int]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def make_snippet(text: str, query_terms: set[str], width: int = WIDTH) -> Snippet | None:
    """The snippet of ``text`` for a query whose (analysed) terms are ``query_terms``; None without text."""
    if not text.strip():
        return None
    shown = mask(text)
    normal = normalise(shown).translate(ASCII_LOWER)
    start = _window_start(_occurrences(normal, query_terms), width)
    start, end = _snap(shown, start, min(len(shown), start + width))
    passage = SPACES.sub(" ", shown[start:end]).strip()
    prefix = ELLIPSIS if start > 0 else ""
    suffix = ELLIPSIS if end < len(shown) else ""
    shift = len(prefix)
    return Snippet(f"{prefix}{passage}{suffix}",
                   [(a + shift, b + shift) for a, b in _marks(passage, query_terms)])
