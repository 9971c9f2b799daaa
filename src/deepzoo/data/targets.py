"""Infer the supervised task from the training targets (the tutorial's rule: the targets decide the
output activation and the loss), and say why."""

from __future__ import annotations

import numpy as np

# Integer targets with more distinct values than this are read as a quantity, not as class labels.
MAX_INFERRED_CLASSES = 100

SUPERVISED_TASKS = ("binary", "multiclass", "multilabel", "regression")


def _is_integral(y: np.ndarray) -> bool:
    if y.dtype.kind in "iub":
        return True
    return y.dtype.kind == "f" and bool(np.all(np.isfinite(y))) and bool(np.all(y == np.round(y)))


def infer_task(y: np.ndarray) -> tuple[str, str]:
    """Return ``(task, reason)`` for targets ``y`` of shape (N,) or (N, K).

    - a 0/1 matrix with several columns → ``multilabel``;
    - one column with two distinct values → ``binary``;
    - one column of strings, or of integers with at most ``MAX_INFERRED_CLASSES`` values → ``multiclass``;
    - anything else (real values, one or several columns) → ``regression``.
    """
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim == 2:
        values = np.unique(y)
        if _is_integral(y) and set(values.tolist()) <= {0, 1}:
            return "multilabel", (
                f"targets are a 0/1 matrix with {y.shape[1]} columns → multilabel: "
                "one sigmoid per label, binary cross-entropy per label"
            )
        return "regression", (
            f"targets are {y.shape[1]} real-valued columns → regression: linear outputs, mean squared error"
        )
    values = np.unique(y)
    if len(values) == 2:
        return "binary", (
            f"targets take two values ({values[0]}, {values[1]}) in one column → binary: "
            "sigmoid output, binary cross-entropy"
        )
    if y.dtype.kind in "OUS":
        return "multiclass", (
            f"targets are {len(values)} distinct labels in one column → multiclass: "
            "softmax over classes, cross-entropy"
        )
    if _is_integral(y) and values.min() >= 0 and len(values) <= MAX_INFERRED_CLASSES:
        return "multiclass", (
            f"targets are {len(values)} non-negative integer labels in one column → multiclass: "
            "softmax over classes, cross-entropy"
        )
    return "regression", "targets are real values in one column → regression: linear output, mean squared error"


def check_task_targets(task: str, y: np.ndarray, source: str) -> None:
    """Refuse targets that cannot serve ``task`` (the classic mistakes), with one line.

    Real-valued targets with a classification task, non-integer multiclass labels, and multi-label
    matrices holding values other than 0 and 1 are errors rather than silent conversions.
    """
    from ..errors import DataError

    y = np.asarray(y)
    numeric = y.dtype.kind in "iufb"
    if task in ("binary", "multiclass") and numeric and not _is_integral(y):
        raise DataError(f"{source}: --task {task} needs integer class labels, but the targets are real values "
                        "(use --task regression)")
    if task == "multilabel":
        if not numeric or not set(np.unique(y).tolist()) <= {0, 1}:
            raise DataError(f"{source}: --task multilabel needs a 0/1 matrix, but the targets hold other values")
    if task == "regression" and not numeric:
        raise DataError(f"{source}: --task regression needs numeric targets, but they are text labels")
