"""Chart images (PNG) drawn with matplotlib, labelled in the reader's language."""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")  # no screen on a server

from matplotlib import pyplot as plt

from bot.i18n import Translator


def stacked_bars(
    tr: Translator,
    title: str,
    categories: list[str],
    series: list[tuple[str, list[int]]],
) -> bytes:
    """One bar per category, stacked by series; returns a PNG."""
    figure, axes = plt.subplots(figsize=(8, 4.5), dpi=100)
    try:
        bottoms = [0] * len(categories)
        for label, values in series:
            axes.bar(categories, values, bottom=bottoms, label=label)
            bottoms = [b + v for b, v in zip(bottoms, values, strict=True)]
        axes.set_title(title)
        axes.legend(loc="upper right", fontsize="small")
        axes.tick_params(axis="x", labelrotation=20)
        figure.tight_layout()
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png")
        return buffer.getvalue()
    finally:
        plt.close(figure)
