"""The one table the benchmarks print: each figure, what it is compared with, and its goal."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Figure:
    name: str
    bashke: str  # Bashkë's measurement
    baseline: str  # what it is set against, measured in the same run ("" if nothing)
    result: str  # the compared figure: a ratio, or the measurement itself
    goal: str  # "" when the figure is for reading only
    met: bool | None = None


def print_table(title: str, figures: Sequence[Figure]) -> None:
    width = max(len(f.name) for f in figures) + 2
    cols = (("Bashkë", 12), ("baseline", 14), ("result", 10), ("goal", 10))
    print()
    print(title)
    print(
        "   " + f"{'figure':<{width}}" + "".join(f"{name:>{w}}" for name, w in cols) + "  verdict"
    )
    for f in figures:
        verdict = "" if f.met is None else ("met" if f.met else "NOT met")
        print(
            f"   {f.name:<{width}}{f.bashke:>12}{f.baseline:>14}{f.result:>10}{f.goal:>10}"
            f"  {verdict}"
        )


def ratio(value: float) -> str:
    return f"{value:.2f}×"


def growth_label(before: int, after: int) -> str:
    """How a figure grew with the people in the database: "growth 10k → 100k people"."""
    return f"growth {before // 1000}k → {after // 1000}k people"
