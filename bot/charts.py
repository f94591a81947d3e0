"""Chart images (PNG) drawn with matplotlib, labelled in the reader's language.

matplotlib is imported on the first chart, not at start: it is half of the bot's start-up time
and much of its memory, and most hours of the bot draw no chart.
"""

from __future__ import annotations

import io
from functools import cache
from types import ModuleType
from typing import Any

from bot.i18n import Translator


@cache
def _pyplot() -> ModuleType:
    import matplotlib

    matplotlib.use("Agg")  # no screen on a server
    from matplotlib import pyplot

    return pyplot


def _png(figure: Any) -> bytes:
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def stacked_bars(
    tr: Translator,
    title: str,
    categories: list[str],
    series: list[tuple[str, list[int]]],
) -> bytes:
    """One bar per category, stacked by series; returns a PNG."""
    plt = _pyplot()
    figure, axes = plt.subplots(figsize=(8, 4.5), dpi=100)
    try:
        bottoms = [0] * len(categories)
        for label, values in series:
            axes.bar(categories, values, bottom=bottoms, label=label)
            bottoms = [b + v for b, v in zip(bottoms, values, strict=True)]
        axes.set_title(title)
        axes.legend(loc="upper right", fontsize="small")
        axes.tick_params(axis="x", labelrotation=20)
        return _png(figure)
    finally:
        plt.close(figure)


def grouped_bars(
    title: str,
    categories: list[str],
    series: list[tuple[str, list[float | None]]],
    unit: str = "%",
) -> bytes:
    """Bars side by side per category (a missing value is left out); returns a PNG."""
    plt = _pyplot()
    figure, axes = plt.subplots(figsize=(8, 4.5), dpi=100)
    try:
        width = 0.8 / max(1, len(series))
        for index, (label, values) in enumerate(series):
            xs = [i + index * width for i, v in enumerate(values) if v is not None]
            ys = [v for v in values if v is not None]
            axes.bar(xs, ys, width=width, label=label)
        axes.set_xticks([i + width * (len(series) - 1) / 2 for i in range(len(categories))])
        axes.set_xticklabels([c if len(c) <= 24 else c[:23] + "…" for c in categories], rotation=15)
        axes.set_ylim(0, 100)
        axes.axhline(50, color="grey", linewidth=0.8, linestyle="--")
        axes.set_ylabel(unit)
        axes.set_title(title)
        axes.legend(loc="upper right", fontsize="small")
        return _png(figure)
    finally:
        plt.close(figure)


def count_bars(
    title: str,
    categories: list[str],
    series: list[tuple[str, list[int]]],
    stacked: bool = False,
) -> bytes:
    """Counts per category: the series side by side, or stacked; whole numbers on the axis.
    Returns a PNG (the funder's report draws one per section)."""
    plt = _pyplot()
    from matplotlib.ticker import MaxNLocator

    figure, axes = plt.subplots(figsize=(8, 4.5), dpi=100)
    try:
        positions = list(range(len(categories)))
        width = 0.8 if stacked else 0.8 / max(1, len(series))
        bottoms = [0] * len(categories)
        for index, (label, values) in enumerate(series):
            if stacked:
                axes.bar(positions, values, width=width, bottom=bottoms, label=label)
                bottoms = [b + v for b, v in zip(bottoms, values, strict=True)]
            else:
                xs = [p + index * width for p in positions]
                axes.bar(xs, values, width=width, label=label)
        offset = 0.0 if stacked else width * (len(series) - 1) / 2
        axes.set_xticks([p + offset for p in positions])
        axes.set_xticklabels(
            [c if len(c) <= 24 else c[:23] + "…" for c in categories],
            rotation=30 if len(categories) > 6 else 15,
            ha="right",
            fontsize="small" if len(categories) > 12 else "medium",
        )
        axes.yaxis.set_major_locator(MaxNLocator(integer=True))
        top = max(bottoms, default=0) if stacked else max(_tallest(series))
        axes.set_ylim(0, max(1, top) * 1.2)  # room for the legend above the bars
        axes.set_title(title)
        if len(series) > 1:
            axes.legend(loc="upper right", fontsize="small")
        return _png(figure)
    finally:
        plt.close(figure)


def _tallest(series: list[tuple[str, list[int]]]) -> list[int]:
    return [max(values, default=0) for _, values in series] or [0]
