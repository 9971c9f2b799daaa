"""The loss-curve figure of a style-transfer run."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ..plots.common import plt, save_figure

LOSS_KEYS = ("total", "content", "style", "tv", "range")


def plot_style_losses(history: Sequence[dict[str, float]], path: str | Path) -> Path:
    """Total, content, style, total-variation and range loss per iteration, log scale (zeros, such as the
    content loss of the content image itself, are left out). Rows carry ``iteration`` and ``width``;
    a coarse-to-fine run draws one segment per scale with a dotted line where the image size changes
    (losses at different sizes are not comparable)."""
    fig, ax = plt.subplots(figsize=(5.2, 3.4))
    widths = list(dict.fromkeys(row["width"] for row in history))
    for key, colour in zip(LOSS_KEYS, ("black", "tab:blue", "tab:orange", "tab:green", "tab:red")):
        if not any(row[key] > 0 for row in history):
            continue
        for n, width in enumerate(widths):
            rows = [row for row in history if row["width"] == width]
            values = [r[key] if r[key] > 0 else float("nan") for r in rows]  # content is 0 at the start
            ax.plot([r["iteration"] for r in rows], values, color=colour,
                    lw=2 if key == "total" else 1.2, label=key if n == 0 else None)
    for width in widths[1:]:
        start = next(row["iteration"] for row in history if row["width"] == width)
        ax.axvline(start, color="grey", ls=":", lw=1)
        ax.text(start, 1.0, f" {width} px", transform=ax.get_xaxis_transform(), fontsize=7, va="top", color="grey")
    ax.set_yscale("log")
    ax.set_xlabel("iteration")
    ax.set_ylabel("weighted loss")
    ax.set_title("style transfer losses")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    return save_figure(fig, path)
