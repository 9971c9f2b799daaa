"""Run logging: ``metrics.csv`` (one row per epoch), TensorBoard scalars and the curve plots.

Only the main process writes. Resuming truncates the CSV to the checkpoint's epoch, so a resumed run
leaves the same file as an uninterrupted one; the CSV is rewritten atomically after every epoch.
"""

from __future__ import annotations

import csv
import math
import time
from pathlib import Path

from ..files import atomic_path

#: the curves are redrawn at most this often while training (a matplotlib figure costs ~0.1 s, more
#: than a whole epoch of a small model) and always once more when the run ends
PLOT_INTERVAL_S = 5.0


class RunLogger:
    """Writes epoch rows to CSV and TensorBoard and keeps the curve plot live (redrawn every few seconds)."""

    def __init__(self, run_dir: Path | None, tensorboard: bool, plots: bool, resume_epoch: int = 0):
        self.run_dir = run_dir
        self.plots = plots and run_dir is not None
        self.history: list[dict[str, float]] = []
        self.last_plot = -math.inf  # monotonic time of the last redraw
        self.plotted_rows = 0
        self.csv_path = None if run_dir is None else run_dir / "metrics.csv"
        if self.csv_path is not None and self.csv_path.exists():
            with self.csv_path.open() as f:
                rows = [{k: float(v) if v else math.nan for k, v in r.items()} for r in csv.DictReader(f)]
            for r in rows:
                r["epoch"], r["step"] = int(r["epoch"]), int(r["step"])
            self.history = [r for r in rows if r["epoch"] <= resume_epoch]
        self.writer = None
        if tensorboard and run_dir is not None:
            from torch.utils.tensorboard import SummaryWriter

            purge = int(self.history[-1]["step"]) + 1 if self.history else None
            self.writer = SummaryWriter(str(run_dir / "tb"), purge_step=purge)

    def log_epoch(self, row: dict[str, float]) -> None:
        """Record one epoch's metrics (``epoch`` and ``step`` included)."""
        self.history.append(row)
        if self.csv_path is None:
            return
        keys = list(dict.fromkeys(k for r in self.history for k in r))
        with atomic_path(self.csv_path) as tmp, tmp.open("w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=keys)
            writer.writeheader()
            writer.writerows(self.history)
        if self.writer is not None:
            for key, value in row.items():
                if key not in ("epoch", "step"):
                    self.writer.add_scalar(key, value, int(row["step"]))
            self.writer.flush()
        if self.plots and time.monotonic() - self.last_plot >= PLOT_INTERVAL_S:
            self.redraw()

    def redraw(self) -> None:
        """Draw ``plots/curves.png`` from the history so far (matplotlib is imported here, on the first
        plot, so that importing the engine does not load it)."""
        from ..plots.common import plot_curves

        plot_curves(self.history, self.run_dir / "plots" / "curves.png")
        self.last_plot, self.plotted_rows = time.monotonic(), len(self.history)

    def close(self) -> None:
        """Draw the final curves (if the last epochs were not drawn yet) and close TensorBoard."""
        if self.plots and self.history and self.plotted_rows != len(self.history):
            self.redraw()
        if self.writer is not None:
            self.writer.close()
