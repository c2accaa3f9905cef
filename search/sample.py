"""The quarterly internal audit's random sample of records (policy 6(2)): reproducible, pure.

Each record of the quarter gets a rank, the SHA-256 of ``seed``, type, quarter and its name; the
sample is the ``n`` lowest ranks, listed by name. The same seed over the same records gives the same
sample on any machine and any Python (anyone can recompute it), different quarters or types give
independent samples, and a record filed late does not reshuffle the rest.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, tzinfo

from errors import UsageError

QUARTER = re.compile(r"^(\d{4})[Qq]([1-4])$")
FIRST_YEAR, LAST_YEAR = 1900, 9998  # the year after the quarter must exist too


@dataclass(frozen=True)
class Quarter:
    year: int
    number: int

    @classmethod
    def parse(cls, text: str) -> Quarter:
        match = QUARTER.match(text.strip())
        if not match or not FIRST_YEAR <= int(match.group(1)) <= LAST_YEAR:
            raise UsageError(f"quarter {text!r} is not like 2026Q4 (years {FIRST_YEAR}-{LAST_YEAR})")
        return cls(int(match.group(1)), int(match.group(2)))

    def __str__(self) -> str:
        return f"{self.year}Q{self.number}"

    def bounds(self, zone: tzinfo) -> tuple[datetime, datetime]:
        """[start, end) of the quarter in ``zone``."""
        first_month = 3 * (self.number - 1) + 1
        start = datetime.combine(date(self.year, first_month, 1), time(), zone)
        end = (datetime.combine(date(self.year + 1, 1, 1), time(), zone) if self.number == 4
               else datetime.combine(date(self.year, first_month + 3, 1), time(), zone))
        return start, end


def new_seed() -> str:
    """A seed for a sample drawn without one (shown, so that it can be drawn again)."""
    return secrets.token_hex(4)


def rank(seed: str, record_type: str, quarter: Quarter, name: str) -> str:
    return hashlib.sha256(f"{seed}\n{record_type}\n{quarter}\n{name}".encode()).hexdigest()


def draw(names: Iterable[str], n: int, *, seed: str, record_type: str, quarter: Quarter) -> list[str]:
    """``n`` of ``names`` (all of them if fewer), chosen by seed, sorted by name."""
    if n < 1:
        raise UsageError("the sample size must be at least 1")
    ranked = sorted(set(names), key=lambda name: rank(seed, record_type, quarter, name))
    return sorted(ranked[:n])
