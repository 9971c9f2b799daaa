"""The figures a report draws itself (the rest are the run's own PNG files): overlaid learning curves of
several runs, drawn into memory as PNG bytes to be embedded in the page."""

from __future__ import annotations

import io
import math
from collections.abc import Sequence

#: columns of metrics.csv that are bookkeeping, not curves
NOT_CURVES = ("epoch", "step", "seconds", "lr")


def curve_names(histories: dict[str, Sequence[dict[str, float]]]) -> list[str]:
    """Every ``split/metric`` column any run logged (learning rates aside): losses first, train before
    valid, then the other metrics by name."""
    names = {key for rows in histories.values() for row in rows for key in row
             if "/" in key and key.split("/")[0] not in NOT_CURVES}
    return sorted(names, key=lambda k: (not k.endswith("loss"), k.partition("/")[2], k))


def overlaid_curves(histories: dict[str, Sequence[dict[str, float]]]) -> list[tuple[str, bytes]]:
    """One figure per metric with one line per run (the runs' ``metrics.csv`` rows, keyed by run label),
    as ``(metric, PNG bytes)``; a run that did not log a metric has no line in its figure."""
    from ..plots.common import plt

    figures = []
    for metric in curve_names(histories):
        fig, ax = plt.subplots(figsize=(4.6, 3.1))
        for label, rows in histories.items():
            points = [(row["epoch"], row[metric]) for row in rows
                      if not math.isnan(row.get(metric, math.nan))]
            if points:
                ax.plot(*zip(*points), marker="o" if len(points) < 30 else None, ms=3, label=label)
        ax.set_title(metric)
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
        plt.close(fig)
        figures.append((metric, buffer.getvalue()))
    return figures
