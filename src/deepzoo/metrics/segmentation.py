"""Segmentation metrics from one confusion matrix over a whole split, and the soft Dice loss.

**The confusion matrix** C (K × K, rows the true class, columns the predicted one) counts every labelled
pixel of the split — pixels whose truth is the ignore index (255, the PASCAL VOC convention for borders
and "void") are left out of everything. The scores are computed from C once, at the end: not averaged
per image, which would weigh a small image like a large one and make an image without a class score
that class 0 or NaN (Everingham et al. 2010, the PASCAL VOC challenge's definition; Cityscapes and
COCO-Stuff compute theirs the same way).

- IoU of class c (Jaccard): C[c,c] / (row_c + col_c − C[c,c]) = TP / (TP + FP + FN);
- Dice of class c (F1): 2·TP / (2·TP + FP + FN) = 2·C[c,c] / (row_c + col_c);
- mean IoU and mean Dice: the mean over the classes present in the truth **or** the prediction — a class
  absent from both has 0/0, no score at all, and is left out (a plain mean would be NaN; counting it as
  0 or 1 would move the mean by a class that was never there);
- pixel accuracy: trace(C) / sum(C).

torchmetrics 1.9's ``MulticlassJaccardIndex(average="macro", ignore_index=...)`` applies the same rule to
its mean (tested against it), but reports an absent class's own IoU as ``zero_division`` (0 or 1), not as
missing, so the per-class scores here are computed from the matrix directly.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ..data.segmentation import IGNORE_INDEX

#: the soft Dice loss's smoothing: keeps a class absent from a batch's truth and prediction at Dice 1
DICE_SMOOTHING = 1.0


def confusion_matrix(prediction: torch.Tensor, target: torch.Tensor, num_classes: int,
                     ignore_index: int | None = IGNORE_INDEX) -> torch.Tensor:
    """The (K, K) int64 counts of (true class, predicted class) over the labelled pixels of integer class
    maps ``prediction`` and ``target`` of one shape, on their device (summed over batches by the caller)."""
    valid = target != ignore_index if ignore_index is not None else torch.ones_like(target, dtype=torch.bool)
    pairs = target[valid].long() * num_classes + prediction[valid].long()
    return torch.bincount(pairs, minlength=num_classes * num_classes).reshape(num_classes, num_classes)


def scores_from_confusion(confusion: torch.Tensor, class_names: list[str] | None = None) -> dict[str, float]:
    """``miou``, ``dice`` (mean Dice), ``pixel_accuracy`` and, for every class present in the truth or the
    prediction, ``iou_<name>`` and ``dice_<name>`` (spaces in a name become ``_``), as floats; see the
    module docstring. An empty matrix (no labelled pixel) gives no scores."""
    c = confusion.double()
    total = c.sum()
    if total == 0:
        return {}
    tp = c.diagonal()
    truth, predicted = c.sum(1), c.sum(0)
    present = (truth + predicted) > 0
    iou = tp / (truth + predicted - tp)
    dice = 2 * tp / (truth + predicted)
    names = class_names or [str(k) for k in range(len(c))]
    scores = {"miou": float(iou[present].mean()), "dice": float(dice[present].mean()),
              "pixel_accuracy": float(tp.sum() / total)}
    for k in present.nonzero().flatten().tolist():
        name = str(names[k]).replace(" ", "_")
        scores[f"iou_{name}"], scores[f"dice_{name}"] = float(iou[k]), float(dice[k])
    return scores


def soft_dice_loss(logits: torch.Tensor, target: torch.Tensor, ignore_index: int | None = IGNORE_INDEX,
                   smoothing: float = DICE_SMOOTHING) -> torch.Tensor:
    """1 − the mean over the K classes of the soft Dice coefficient of a batch (the Dice loss of Milletari
    et al. 2016, V-Net, Eq. 1, with Σp + Σg in the denominator as Sudre et al. 2017 write it):

        1 − (1/K) Σ_c (2 Σ_i p_ic g_ic + s) / (Σ_i p_ic + Σ_i g_ic + s)

    p = softmax(logits) (N, K, H, W), g the one-hot truth, i over the batch's labelled pixels (the ignore
    index is left out), s = ``smoothing``. Summed over the whole batch, as the metric sums over a split."""
    k = logits.shape[1]
    probabilities = logits.float().softmax(1)
    valid = (target != ignore_index) if ignore_index is not None else torch.ones_like(target, dtype=torch.bool)
    labels = torch.where(valid, target.long(), torch.zeros_like(target, dtype=torch.long))
    truth = F.one_hot(labels, k).permute(0, 3, 1, 2).float() * valid[:, None]
    probabilities = probabilities * valid[:, None]
    dims = (0, 2, 3)
    overlap = (probabilities * truth).sum(dims)
    sizes = probabilities.sum(dims) + truth.sum(dims)
    return 1 - ((2 * overlap + smoothing) / (sizes + smoothing)).mean()


def majority_confusion(train_counts: torch.Tensor, target_confusion_rows: torch.Tensor) -> torch.Tensor:
    """The confusion matrix of the baseline that predicts the training split's most frequent class for
    every pixel: each true class's pixel count (``target_confusion_rows``, a split's row sums) lands in the
    column of that class."""
    k = len(train_counts)
    confusion = torch.zeros(k, k, dtype=torch.long, device=target_confusion_rows.device)
    confusion[:, int(torch.argmax(train_counts))] = target_confusion_rows.long()
    return confusion
