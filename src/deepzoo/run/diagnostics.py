"""Diagnostics of a finished run from its metric history: was it still improving, and did it overfit?

Two rules, applied to ``metrics.csv`` after training and written to ``diagnostics.json`` (the HTML report
shows it) and to the log:

- **Still improving** — the best epoch of the monitored metric is the last epoch run (and more than one
  ran): training stopped while the metric was still getting better, so more epochs would probably help.
  The change of the metric over the last :data:`RECENT_EPOCHS` epochs says by how much
  (``last − value RECENT_EPOCHS epochs earlier``, or since the first epoch in a shorter run).
- **Overfitting** — the training loss keeps falling while the validation loss rises: the first epoch
  ``e`` such that for each of the :data:`OVERFIT_EPOCHS` (*k*) epochs ``e, e+1, … e+k−1`` ``valid/loss``
  is higher and ``train/loss`` lower than in the epoch before. Overfitting is named from epoch ``e`` (the
  first of those epochs; the gap between the two losses widens from there on). One noisy epoch does
  not count: with ``k = 3`` it takes three widening epochs in a row. Runs without both losses (several
  players, no validation split) are not judged.
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Any

from ..files import write_text_atomic

#: epochs over which a still-improving run's change is measured
RECENT_EPOCHS = 3
#: consecutive epochs of rising validation loss and falling training loss that name overfitting (k)
OVERFIT_EPOCHS = 3


def read_history(run_dir: Path) -> list[dict[str, float]]:
    """``metrics.csv`` as rows of floats (empty cells as NaN); empty when there is none."""
    path = run_dir / "metrics.csv"
    if not path.is_file():
        return []
    with path.open() as f:
        return [{k: float(v) if v else math.nan for k, v in row.items()} for row in csv.DictReader(f)]


def still_improving(history: list[dict[str, float]], monitor: str, best_epoch: int | None) -> dict[str, Any] | None:
    """The monitored metric's change over the last :data:`RECENT_EPOCHS` epochs when the best epoch is the
    last one run (and more than one ran), else None."""
    epochs = [int(row["epoch"]) for row in history if not math.isnan(row.get(monitor, math.nan))]
    if len(epochs) < 2 or best_epoch is None or best_epoch != epochs[-1]:
        return None
    values = [row[monitor] for row in history if not math.isnan(row.get(monitor, math.nan))]
    span = min(RECENT_EPOCHS, len(values) - 1)
    start, end = values[-1 - span], values[-1]
    return {"monitor": monitor, "epochs": span, "from_epoch": epochs[-1 - span], "from": start, "to": end,
            "change": end - start}


def overfitting_onset(history: list[dict[str, float]], k: int = OVERFIT_EPOCHS) -> dict[str, Any] | None:
    """The first epoch ``e`` from which, for ``k`` epochs in a row, ``valid/loss`` rose and ``train/loss``
    fell against the epoch before (see the module docstring), with both losses at ``e − 1`` and at the
    last epoch; None when there is none or either loss is not logged."""
    rows = [r for r in history if not math.isnan(r.get("train/loss", math.nan))
            and not math.isnan(r.get("valid/loss", math.nan))]
    widening = [rows[i]["valid/loss"] > rows[i - 1]["valid/loss"] and rows[i]["train/loss"] < rows[i - 1]["train/loss"]
                for i in range(1, len(rows))]
    for i in range(len(widening) - k + 1):
        if all(widening[i:i + k]):
            before, last = rows[i], rows[-1]
            return {"from_epoch": int(rows[i + 1]["epoch"]), "consecutive_epochs": k,
                    "valid_loss": [before["valid/loss"], last["valid/loss"]],
                    "train_loss": [before["train/loss"], last["train/loss"]],
                    "epochs": [int(before["epoch"]), int(last["epoch"])]}
    return None


def diagnose(history: list[dict[str, float]], monitor: str, best_epoch: int | None) -> dict[str, Any]:
    """Both diagnostics and the sentences the log prints (``messages``)."""
    improving = still_improving(history, monitor, best_epoch)
    overfit = overfitting_onset(history)
    messages = []
    if improving is not None:
        messages.append(f"still improving: the best epoch is the last ({best_epoch}); {monitor} changed by "
                        f"{improving['change']:+.4g} over the last {improving['epochs']} epoch(s) "
                        f"({improving['from']:.4g} → {improving['to']:.4g}); more epochs may help")
    if overfit is not None:
        first, last = overfit["epochs"]
        messages.append(f"overfitting from epoch {overfit['from_epoch']}: valid/loss rose "
                        f"{overfit['valid_loss'][0]:.4g} → {overfit['valid_loss'][1]:.4g} while train/loss fell "
                        f"{overfit['train_loss'][0]:.4g} → {overfit['train_loss'][1]:.4g} (epochs {first}–{last}); "
                        "early stopping, more data, augmentation or regularisation would help")
    return {"monitor": monitor, "best_epoch": best_epoch, "epochs_run": int(history[-1]["epoch"]) if history else 0,
            "still_improving": improving, "overfitting": overfit, "messages": messages}


def write_diagnostics(run_dir: Path, summary: dict[str, Any]) -> list[str]:
    """Diagnose the finished run in ``run_dir`` (its ``metrics.csv`` and the monitor and best epoch of its
    ``summary``), write ``diagnostics.json`` and return the log lines."""
    result = diagnose(read_history(run_dir), summary.get("monitor", "valid/loss"), summary.get("best_epoch"))
    write_text_atomic(run_dir / "diagnostics.json", json.dumps(result, indent=2))
    return result["messages"]
