"""Error analysis of a classifier or regressor from one pass of predictions over a split.

The tables fastai's ``ClassificationInterpretation`` made popular (``most_confused``, ``top_losses``)
and scikit-learn's ``classification_report``, computed from the predicted labels, the true labels and
the per-item losses of one split:

- :func:`per_class_scores`: precision, recall, F1 and support of every class (one-vs-rest counts,
  scikit-learn's ``precision_recall_fscore_support``; a class never predicted has precision 0);
- :func:`confused_pairs`: the (true, predicted) pairs of different classes that occur most often, with
  their share of the true class's items and of all errors;
- :func:`item_losses` and :func:`top_loss_order`: each item's own loss, and the items with the highest
  loss first — the confident mistakes, and the mislabelled items a user should look at.

Everything here works on tensors or arrays already on the host; the run layer writes the files.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F


@dataclass
class ClassScores:
    """One row of the per-class table: the class's name, precision, recall, F1 and its number of true items."""

    name: str
    precision: float
    recall: float
    f1: float
    support: int


@dataclass
class ConfusedPair:
    """Items of class ``true`` predicted as ``predicted``: how many, their share of the true class's items
    (``share_of_class``, the confusion matrix's row-normalised cell) and of every error of the split."""

    true: str
    predicted: str
    count: int
    share_of_class: float
    share_of_errors: float


def per_class_scores(predicted: np.ndarray, true: np.ndarray, names: Sequence[str]) -> list[ClassScores]:
    """Precision, recall and F1 of every class in ``names`` (labels 0…K−1), scikit-learn's
    ``precision_recall_fscore_support`` with ``zero_division=0``: a class never predicted has precision 0,
    one with no true item recall 0."""
    from sklearn.metrics import precision_recall_fscore_support

    labels = list(range(len(names)))
    precision, recall, f1, support = precision_recall_fscore_support(
        true, predicted, labels=labels, zero_division=0)
    return [ClassScores(str(name), float(p), float(r), float(f), int(s))
            for name, p, r, f, s in zip(names, precision, recall, f1, support)]


def confusion_counts(predicted: np.ndarray, true: np.ndarray, num_classes: int) -> np.ndarray:
    """The K×K matrix of counts, rows the true class and columns the predicted one."""
    counts = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(counts, (np.asarray(true, dtype=np.int64), np.asarray(predicted, dtype=np.int64)), 1)
    return counts


def confused_pairs(predicted: np.ndarray, true: np.ndarray, names: Sequence[str], top: int = 10) -> list[ConfusedPair]:
    """The ``top`` most frequent (true, predicted) pairs of different classes, most frequent first (ties in
    the order of the true, then the predicted class); pairs that never occur are left out."""
    counts = confusion_counts(predicted, true, len(names))
    errors = int(counts.sum() - np.trace(counts))
    support = counts.sum(1)
    off = [(int(counts[i, j]), i, j) for i in range(len(names)) for j in range(len(names))
           if i != j and counts[i, j] > 0]
    off.sort(key=lambda c: (-c[0], c[1], c[2]))
    return [ConfusedPair(str(names[i]), str(names[j]), n, n / support[i], n / errors) for n, i, j in off[:top]]


def item_losses(outputs: torch.Tensor, targets: torch.Tensor, task: str) -> torch.Tensor:
    """Each item's own loss, unweighted and unsmoothed: the binary cross-entropy of its logit, the
    cross-entropy of its logits (multiclass), or its squared error summed over the targets (regression,
    in the standardised units the model is trained in)."""
    outputs = outputs.float()
    if task == "binary":
        return F.binary_cross_entropy_with_logits(outputs.reshape(-1), targets.reshape(-1).float(), reduction="none")
    if task == "multiclass":
        return F.cross_entropy(outputs, targets.reshape(-1).long(), reduction="none")
    targets = targets.reshape(outputs.shape).float()
    return (outputs - targets).pow(2).reshape(len(outputs), -1).sum(1)


def top_loss_order(losses: torch.Tensor, count: int) -> torch.Tensor:
    """Indices of the ``count`` items of highest loss, highest first (ties by item order: a stable sort)."""
    order = torch.sort(losses.detach().cpu(), descending=True, stable=True).indices
    return order[:count]
