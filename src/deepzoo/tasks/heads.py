"""Heads, losses, metrics and predictions per supervised task.

The course tutorial's rule, applied automatically: the targets decide the output and the loss.

==========  ======================  =========================  ===================================
task        outputs                 loss                       prediction
==========  ======================  =========================  ===================================
binary      1 logit                 BCEWithLogits              sigmoid, threshold (default 0.5)
multiclass  K logits                cross-entropy              softmax, argmax
multilabel  K logits                BCEWithLogits per label    sigmoid per label, thresholds
regression  K values (+activation)  MSE (L1, Huber)            values mapped back to target units
==========  ======================  =========================  ===================================

Logits go to losses that apply the sigmoid/softmax themselves (numerically stable); a model that ends
in a Softmax or Sigmoid layer is refused.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
import torchmetrics.functional.classification as C
import torchmetrics.functional.regression as R
from torch import nn

from ..data.bundle import DatasetMeta
from ..errors import ConfigError

DESCRIPTIONS = {
    "binary": "one logit, sigmoid + binary cross-entropy (BCEWithLogits)",
    "multiclass": "one logit per class, softmax + cross-entropy",
    "multilabel": "one logit per label, sigmoid + binary cross-entropy per label",
    "regression": "{activation} output, {loss} loss on standardised targets",
}


def check_no_output_squashing(model: nn.Module) -> None:
    """Refuse a model whose last layer is a Softmax/LogSoftmax/Sigmoid: the loss applies it again."""
    last = list(model.modules())[-1]
    if isinstance(last, (nn.Softmax, nn.LogSoftmax, nn.Sigmoid)):
        raise ConfigError(
            f"the model ends in {type(last).__name__}, but the loss applies it already: "
            "remove the layer and let the model output logits"
        )


#: class weights listed in full in the run log; beyond, the lowest and the highest
SHOWN_WEIGHTS = 10


def balanced_class_weights(counts: torch.Tensor) -> torch.Tensor:
    """Class weights ∝ 1 / the class's frequency in the training split, scaled so that they average 1
    over the training items: w_c = N / (K · n_c), scikit-learn's ``class_weight="balanced"`` (King & Zeng
    2001). Cross-entropy's mean divides by the summed weights of the batch, so only the ratios matter."""
    counts = counts.double()
    return (counts.sum() / (len(counts) * counts)).float()


class TaskHead:
    """Loss, metrics and predictions of one supervised task; options come from ``task_args``.

    ``class_weights`` is a list of numbers or ``balanced`` (:func:`balanced_class_weights` of
    ``train_targets``, the training split's labels; without them — a run rebuilt to predict — the
    weights stay unset, as predictions do not need the loss)."""

    def __init__(self, task: str, meta: DatasetMeta, train_targets: torch.Tensor | None = None, **options: Any):
        self.task = task
        self.meta = meta
        self.threshold = float(options.pop("threshold", 0.5))
        self.label_smoothing = float(options.pop("label_smoothing", 0.0))
        self.class_weights = self._class_weights(options.pop("class_weights", None), train_targets)
        pos_weight = options.pop("pos_weight", None)
        self.pos_weight = None if pos_weight is None else torch.tensor(pos_weight, dtype=torch.float32)
        self.activation = str(options.pop("output_activation", "linear"))
        self.loss_name = str(options.pop("loss", "mse"))
        if self.loss_name not in ("mse", "l1", "huber"):
            raise ConfigError(f"task_args.loss={self.loss_name!r}: use mse, l1 or huber")
        if options:
            raise ConfigError(f"unknown task option(s) {', '.join(sorted(options))} for task {task}")
        if task == "multilabel" and self.pos_weight is not None and len(self.pos_weight) != meta.num_classes:
            raise ConfigError(f"task_args.pos_weight has {len(self.pos_weight)} values for {meta.num_classes} labels")

    def _class_weights(self, given: Any, train_targets: torch.Tensor | None) -> torch.Tensor | None:
        """The cross-entropy's class weights from ``task_args.class_weights`` (checked)."""
        if given is None:
            return None
        k = self.meta.num_classes
        if self.task != "multiclass":
            raise ConfigError(f"task_args.class_weights weighs the classes of a multiclass task, not {self.task}")
        if str(given).lower() == "balanced":
            if train_targets is None:
                return None
            counts = torch.bincount(train_targets.reshape(-1).long().cpu(), minlength=k)
            if (counts == 0).any():
                missing = self.meta.class_names[int(torch.argmin(counts))] if self.meta.class_names else "?"
                raise ConfigError(f"task_args.class_weights=balanced: class {missing} has no training item")
            return balanced_class_weights(counts)
        values = given if isinstance(given, (list, tuple)) else [given]
        try:
            weights = torch.tensor([float(v) for v in values], dtype=torch.float32)
        except (TypeError, ValueError):
            weights = torch.tensor([float("nan")])
        if len(weights) != k or not bool(torch.isfinite(weights).all()) or bool((weights < 0).any()):
            raise ConfigError(f"task_args.class_weights={given!r}: give balanced or {k} non-negative numbers, "
                              "one per class")
        return weights

    def describe(self) -> str:
        """One line for the run log: the head and the loss chosen, and why (with the class weights)."""
        text = DESCRIPTIONS[self.task].format(activation=self.activation, loss=self.loss_name.upper())
        if self.class_weights is not None:
            weights = self.class_weights.tolist()
            pairs = sorted(zip(weights, self.meta.class_names or [str(i) for i in range(len(weights))]))
            shown = pairs if len(pairs) <= SHOWN_WEIGHTS else [pairs[0], pairs[-1]]
            text += f"; class weights {', '.join(f'{n}={w:.3g}' for w, n in shown)}"
            text += "" if len(pairs) <= SHOWN_WEIGHTS else f" (lowest and highest of {len(pairs)})"
        return f"{self.meta.task_reason or self.task} [{text}]"

    def loss(self, outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """The task's loss of raw model outputs against targets."""
        if self.task == "binary":
            return F.binary_cross_entropy_with_logits(outputs.reshape(-1), targets.reshape(-1).float())
        if self.task == "multiclass":
            weight = None if self.class_weights is None else self.class_weights.to(outputs.device)
            return F.cross_entropy(outputs, targets, weight=weight, label_smoothing=self.label_smoothing)
        if self.task == "multilabel":
            pw = None if self.pos_weight is None else self.pos_weight.to(outputs.device)
            return F.binary_cross_entropy_with_logits(outputs, targets.float(), pos_weight=pw)
        targets = targets.reshape(outputs.shape).to(outputs.dtype)
        if self.loss_name == "l1":
            return F.l1_loss(outputs, targets)
        if self.loss_name == "huber":
            return F.huber_loss(outputs, targets)
        return F.mse_loss(outputs, targets)

    def to_target_units(self, values: torch.Tensor) -> torch.Tensor:
        """Undo the training split's target standardisation (regression)."""
        if self.meta.target_mean is None:
            return values
        mean = torch.tensor(self.meta.target_mean, device=values.device)
        std = torch.tensor(self.meta.target_std, device=values.device)
        return values * std + mean

    def metrics(self, outputs: torch.Tensor, targets: torch.Tensor) -> dict[str, float]:
        """Metrics of a whole split from its concatenated outputs and targets (torchmetrics)."""
        outputs = outputs.float()
        result = {"loss": self.loss(outputs, targets)}
        if self.task == "binary":
            probs, y = torch.sigmoid(outputs.reshape(-1)), targets.reshape(-1).long()
            result["accuracy"] = C.binary_accuracy(probs, y, threshold=self.threshold)
            result["f1"] = C.binary_f1_score(probs, y, threshold=self.threshold)
            result["auroc"] = C.binary_auroc(probs, y)
        elif self.task == "multiclass":
            k = self.meta.num_classes
            result["accuracy"] = C.multiclass_accuracy(outputs, targets, num_classes=k, average="micro")
            result["f1"] = C.multiclass_f1_score(outputs, targets, num_classes=k, average="macro")
            result["auroc"] = C.multiclass_auroc(outputs.softmax(-1), targets, num_classes=k)
        elif self.task == "multilabel":
            k, y = self.meta.num_classes, targets.long()
            probs = torch.sigmoid(outputs)
            result["subset_accuracy"] = C.multilabel_exact_match(probs, y, num_labels=k, threshold=self.threshold)
            result["hamming_loss"] = C.multilabel_hamming_distance(probs, y, num_labels=k, threshold=self.threshold)
            result["f1"] = C.multilabel_f1_score(probs, y, num_labels=k, threshold=self.threshold, average="macro")
            result["map"] = C.multilabel_average_precision(probs, y, num_labels=k, average="macro")
            per_label = C.multilabel_f1_score(probs, y, num_labels=k, threshold=self.threshold, average=None)
            for name, value in zip(self.meta.class_names, per_label):
                result[f"f1_{name}"] = value
        else:
            pred, true = self.to_target_units(outputs), self.to_target_units(targets.reshape(outputs.shape).float())
            result["mse"] = R.mean_squared_error(pred, true)
            result["rmse"] = R.mean_squared_error(pred, true, squared=False)
            result["mae"] = R.mean_absolute_error(pred, true)
            if len(true) > 1:
                result["r2"] = R.r2_score(pred.squeeze(-1) if pred.shape[-1] == 1 else pred,
                                          true.squeeze(-1) if true.shape[-1] == 1 else true)
        return {k: float(v) for k, v in result.items()}

    def predict(self, outputs: torch.Tensor) -> dict[str, torch.Tensor]:
        """Task-level predictions: probabilities and labels, or values in target units."""
        outputs = outputs.float()
        if self.task == "binary":
            probs = torch.sigmoid(outputs.reshape(-1))
            return {"probability": probs, "label": (probs >= self.threshold).long()}
        if self.task == "multiclass":
            probs = outputs.softmax(-1)
            return {"probability": probs, "label": probs.argmax(-1)}
        if self.task == "multilabel":
            probs = torch.sigmoid(outputs)
            return {"probability": probs, "label": (probs >= self.threshold).long()}
        return {"value": self.to_target_units(outputs)}
