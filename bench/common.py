"""Shared helpers: timing, medians, ratios, and printing of results."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import TypeVar

T = TypeVar("T")
KIB = 1024
MIB = 1024 * KIB
GIB = 1024 * MIB


def timed(func: Callable[[], T]) -> tuple[float, T]:
    """Call ``func``; return the elapsed wall-clock seconds and its result."""
    start = time.perf_counter()
    result = func()
    return time.perf_counter() - start, result


def median_index(values: list[float]) -> int:
    """Index of the median value (the lower one for an even count), so a whole round can be picked."""
    order = sorted(range(len(values)), key=values.__getitem__)
    return order[(len(values) - 1) // 2]


def alternating_rounds(ours: Callable[[int], object], baseline: Callable[[int], object], rounds: int
                       ) -> tuple[list[float], list[float]]:
    """Seconds per round for each side; each action is given the round number.

    Which side goes first alternates from round to round, so slow drift on a shared machine
    hits both sides alike. Many short rounds, each a pair, make the median of the per-round
    ratios robust to a burst of noise that one of a few long rounds would absorb whole.
    """
    ours_s: list[float] = []
    baseline_s: list[float] = []
    for round_ in range(rounds):
        sides = [(baseline_s, baseline), (ours_s, ours)]
        for seconds, action in sides if round_ % 2 == 0 else reversed(sides):
            seconds.append(timed(partial(action, round_))[0])
    return ours_s, baseline_s


def quartiles(values: list[float]) -> tuple[float, float]:
    """The lower and upper quartiles (how far the middle half of the rounds spread)."""
    if len(values) < 2:
        return values[0], values[0]
    lower, _, upper = statistics.quantiles(values, n=4)
    return lower, upper


def mb_per_s(size: int, seconds: float) -> float:
    """Throughput in MB/s (10**6 bytes per second)."""
    return size / seconds / 1e6


@dataclass(frozen=True)
class Comparison:
    """A Strongroom figure against its baseline; higher is better for both."""

    name: str
    unit: str
    ours: float
    baseline: float
    baseline_label: str
    target: float | None = None  # minimum ratio ours / baseline
    spread: tuple[float, float] | None = None  # quartiles of the per-round ratios, when there are rounds

    @property
    def ratio(self) -> float:
        return self.ours / self.baseline

    @property
    def met(self) -> bool | None:
        return None if self.target is None else self.ratio >= self.target


@dataclass(frozen=True)
class Limit:
    """A Strongroom figure with an upper bound and no baseline (e.g. peak memory)."""

    name: str
    unit: str
    value: float
    limit: float

    @property
    def met(self) -> bool:
        return self.value < self.limit


@dataclass
class BenchResult:
    name: str
    params: dict[str, object]
    figures: list[Comparison | Limit] = field(default_factory=list)
    details: dict[str, object] = field(default_factory=dict)

    def as_json(self) -> dict[str, object]:
        figures: list[dict[str, object]] = []
        for fig in self.figures:
            if isinstance(fig, Comparison):
                figures.append({
                    "name": fig.name, "unit": fig.unit, "strongroom": fig.ours, "baseline": fig.baseline,
                    "baseline_label": fig.baseline_label, "ratio": fig.ratio, "target_ratio_min": fig.target,
                    "met": fig.met, "ratio_quartiles": fig.spread,
                })
            else:
                figures.append({"name": fig.name, "unit": fig.unit, "strongroom": fig.value,
                                "limit_max": fig.limit, "met": fig.met})
        return {"name": self.name, "params": self.params, "figures": figures, "details": self.details}


def median_round(name: str, unit: str, ours: list[float], baseline: list[float], baseline_label: str,
                 target: float | None) -> tuple[Comparison, int]:
    """The round with the median ratio ours / baseline as the figure, with the quartiles of every round's ratio."""
    ratios = [o / b for o, b in zip(ours, baseline, strict=True)]
    mid = median_index(ratios)
    return Comparison(name, unit, ours[mid], baseline[mid], baseline_label, target, quartiles(ratios)), mid


def _verdict(met: bool | None) -> str:
    return "" if met is None else ("  met" if met else "  MISSED")


def print_result(result: BenchResult) -> None:
    params = ", ".join(f"{key}={value}" for key, value in result.params.items())
    print(f"\n== {result.name} ({params})")
    for fig in result.figures:
        if isinstance(fig, Comparison):
            target = f"  (target >= {fig.target:.2f})" if fig.target is not None else ""
            print(f"  {fig.name}")
            print(f"    strongroom  {fig.ours:10.1f} {fig.unit}")
            print(f"    baseline    {fig.baseline:10.1f} {fig.unit}  ({fig.baseline_label})")
            print(f"    ratio       {fig.ratio:10.2f}{target}{_verdict(fig.met)}")
            if fig.spread is not None:
                print(f"    rounds      {fig.spread[0]:10.2f} .. {fig.spread[1]:.2f}  (quartiles of the per-round ratios)")
        else:
            print(f"  {fig.name}: {fig.value:.1f} {fig.unit}  (target < {fig.limit:g}){_verdict(fig.met)}")
