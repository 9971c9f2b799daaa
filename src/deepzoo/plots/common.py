"""Plots saved in a run folder (matplotlib, Agg backend: no display needed)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from ..files import atomic_path  # noqa: E402


def save_figure(fig, path: str | Path) -> Path:
    """Save ``fig`` as PNG (creating the folder) and close it. The file is written atomically, since
    reports and later commands read a run's pictures (see :mod:`deepzoo.files`)."""
    path = Path(path)
    try:
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format="png", dpi=110, bbox_inches="tight")
    finally:
        plt.close(fig)
    return path


def plot_curves(history: Sequence[dict[str, float]], path: str | Path) -> Path | None:
    """Train vs valid curves per epoch: one panel per metric name that a split logged.

    ``history`` rows map ``split/metric`` names to values, plus ``epoch``. Losses of several players
    (``train/discriminator/loss``) share the loss panel.
    """
    if not history:
        return None
    metrics: dict[str, list[str]] = {}
    for key in history[-1]:
        if "/" not in key or key.startswith("lr"):
            continue
        split, _, metric = key.partition("/")
        panel = "loss" if metric.endswith("loss") else metric
        metrics.setdefault(panel, []).append(key)
    panels = sorted(metrics, key=lambda m: (m != "loss", m))
    fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 3.2), squeeze=False)
    epochs = [row["epoch"] for row in history]
    for ax, panel in zip(axes[0], panels):
        for key in sorted(metrics[panel]):
            values = [row.get(key, float("nan")) for row in history]
            ax.plot(epochs, values, marker="o" if len(epochs) < 30 else None, ms=3, label=key)
        ax.set_xlabel("epoch")
        ax.set_title(panel)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    return save_figure(fig, path)
