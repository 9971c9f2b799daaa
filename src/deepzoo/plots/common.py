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


#: curve panels per row of ``curves.png``
PANELS_PER_ROW = 4
#: per-label curves of one metric named in a legend up to this many; beyond, drawn without names
NAMED_CURVES = 10


def curve_panels(keys: Sequence[str]) -> dict[str, list[str]]:
    """The panels of :func:`plot_curves`: ``split/metric`` keys grouped by metric, every loss in the
    ``loss`` panel, and the per-label metrics of a multi-label run (``valid/f1_cat``, ``valid/f1_dog`` …
    beside ``valid/f1``) in one ``f1 per label`` panel instead of one panel per label."""
    metrics = {key.partition("/")[2] for key in keys}
    panels: dict[str, list[str]] = {}
    for key in keys:
        if "/" not in key or key.startswith("lr"):
            continue
        metric = key.partition("/")[2]
        base, per_label, _ = metric.partition("_")
        if metric.endswith("loss"):
            panel = "loss"
        elif per_label and base in metrics:
            panel = f"{base} per label"
        else:
            panel = metric
        panels.setdefault(panel, []).append(key)
    return panels


def plot_curves(history: Sequence[dict[str, float]], path: str | Path) -> Path | None:
    """Train vs valid curves per epoch: one panel per metric name that a split logged
    (:func:`curve_panels`), :data:`PANELS_PER_ROW` panels a row.

    ``history`` rows map ``split/metric`` names to values, plus ``epoch``. Losses of several players
    (``train/discriminator/loss``) share the loss panel; a multi-label run's per-label metrics share one
    panel, thin lines named in its legend up to :data:`NAMED_CURVES` labels.
    """
    if not history:
        return None
    metrics = curve_panels(list(history[-1]))
    panels = sorted(metrics, key=lambda m: (m != "loss", m))
    columns = min(PANELS_PER_ROW, len(panels))
    rows = -(-len(panels) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(4.2 * columns, 3.2 * rows), squeeze=False, layout="constrained")
    for ax in axes.flat[len(panels):]:
        ax.set_axis_off()
    epochs = [row["epoch"] for row in history]
    for ax, panel in zip(axes.flat, panels):
        keys = sorted(metrics[panel])
        thin = panel.endswith(" per label")
        for key in keys:
            values = [row.get(key, float("nan")) for row in history]
            ax.plot(epochs, values, marker="o" if len(epochs) < 30 and not thin else None, ms=3,
                    lw=0.8 if thin else 1.5, label=key.partition("/")[2].partition("_")[2] if thin else key)
        ax.set_xlabel("epoch")
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.set_title(panel if not thin else f"{panel} ({len(keys)} labels)")
        ax.grid(alpha=0.3)
        if not thin or len(keys) <= NAMED_CURVES:
            ax.legend(fontsize=7, ncol=2 if thin else 1)
    return save_figure(fig, path)
