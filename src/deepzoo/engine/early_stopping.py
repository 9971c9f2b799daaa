"""Early stopping on any logged metric, keeping the best weights to restore at the end.

Unlike Lightning and fastai (which never restore) and like Keras' ``restore_best_weights``, the
engine always ends training with the weights of the best epoch.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

MAXIMISED = ("acc", "f1", "auroc", "auc", "r2", "precision", "recall", "map", "psnr", "ssim", "score",
             "coverage", "ap", "iou", "dice", "accuracy")


def infer_mode(metric: str) -> str:
    """``max`` for accuracy-like names (accuracy, f1, auroc, r2, psnr, a segmentation's miou, dice and
    pixel_accuracy ...), else ``min``."""
    name = metric.rpartition("/")[2].lower()
    return "max" if any(name.startswith(m) or name.endswith(m) for m in MAXIMISED) else "min"


@dataclass
class EarlyStopping:
    """Tracks the best value of ``monitor``; ``should_stop`` after ``patience`` epochs without a
    ``min_delta`` improvement. Its state goes into every checkpoint so a resumed run decides alike."""

    monitor: str
    mode: str = "min"
    patience: int = 10
    min_delta: float = 0.0
    best: float = math.nan
    best_epoch: int = 0
    bad_epochs: int = 0

    def update(self, value: float, epoch: int) -> bool:
        """Record this epoch's value; True when it is a new best."""
        if math.isnan(value):
            self.bad_epochs += 1
            return False
        if math.isnan(self.best):
            improved = True
        elif self.mode == "min":
            improved = value < self.best - self.min_delta
        else:
            improved = value > self.best + self.min_delta
        if improved:
            self.best, self.best_epoch, self.bad_epochs = value, epoch, 0
        else:
            self.bad_epochs += 1
        return improved

    @property
    def should_stop(self) -> bool:
        return self.bad_epochs >= self.patience

    def state_dict(self) -> dict:
        return {k: v for k, v in asdict(self).items() if k in ("best", "best_epoch", "bad_epochs")}

    def load_state_dict(self, state: dict) -> None:
        self.best, self.best_epoch, self.bad_epochs = state["best"], state["best_epoch"], state["bad_epochs"]
