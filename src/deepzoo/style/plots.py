"""The loss-curve figure of a style-transfer run."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ..plots.common import plt, save_figure

LOSS_KEYS = ("total", "content", "style", "tv", "range")


def loss_floor(history: Sequence[dict[str, float]]) -> float:
    """The value a zero loss is drawn at on the log axis: a tenth of the smallest positive loss plotted
    (1e-12 when there is none), so a curve that reaches 0 drops to the bottom of the plot instead of
    leaving a gap (log(0) is −∞)."""
    positive = [row[key] for row in history for key in LOSS_KEYS if row[key] > 0]
    return min(positive) / 10 if positive else 1e-12


def loss_curves(history: Sequence[dict[str, float]]) -> list[tuple[str, int, list[float], list[float]]]:
    """The segments :func:`plot_style_losses` draws: (loss name, segment number, iterations, values) per
    loss that is ever positive and per image width, zeros clipped to :func:`loss_floor`."""
    floor = loss_floor(history)
    widths = list(dict.fromkeys(row["width"] for row in history))
    curves = []
    for key in LOSS_KEYS:
        if not any(row[key] > 0 for row in history):
            continue
        for n, width in enumerate(widths):
            rows = [row for row in history if row["width"] == width]
            curves.append((key, n, [r["iteration"] for r in rows], [max(r[key], floor) for r in rows]))
    return curves


def plot_style_losses(history: Sequence[dict[str, float]], path: str | Path) -> Path:
    """Total, content, style, total-variation and range loss per iteration, log scale. A loss that is 0
    at some iterations (the content loss of the content image itself, at the start) is drawn at a floor,
    :func:`loss_floor` — clipped rather than symlog, so the decades above stay readable — and the axis
    label says so. Rows carry ``iteration`` and ``width``; a coarse-to-fine run draws one segment per
    scale with a dotted line where the image size changes (losses at different sizes are not comparable)."""
    fig, ax = plt.subplots(figsize=(5.2, 3.4))
    colours = dict(zip(LOSS_KEYS, ("black", "tab:blue", "tab:orange", "tab:green", "tab:red")))
    curves = loss_curves(history)
    for key, n, iterations, values in curves:
        ax.plot(iterations, values, color=colours[key], lw=2 if key == "total" else 1.2, label=key if n == 0 else None)
    widths = list(dict.fromkeys(row["width"] for row in history))
    for width in widths[1:]:
        start = next(row["iteration"] for row in history if row["width"] == width)
        ax.axvline(start, color="grey", ls=":", lw=1)
        ax.text(start, 1.0, f" {width} px", transform=ax.get_xaxis_transform(), fontsize=7, va="top", color="grey")
    ax.set_yscale("log")
    ax.set_xlabel("iteration")
    clipped = any(row[key] <= 0 for row in history for key in {c[0] for c in curves})
    ax.set_ylabel("weighted loss" + (f" (0 drawn at {loss_floor(history):.1g})" if clipped else ""))
    ax.set_title("style transfer losses")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    return save_figure(fig, path)
