"""Semantic segmentation (task ``segmentation``, the default of the ``unet`` model): a class per pixel.

    deepzoo train --model unet --data shapes
    deepzoo train --model unet --data segfolder:scans/ --set data.augment=flip,scale,crop
    deepzoo train --model unet --data shapes --set model.encoder=resnet18 --weights imagenet

**Loss.** Per-pixel cross-entropy, with ``class_weights`` (a number per class, or ``balanced`` — each
class weighed by 1 / its share of the training pixels; Ronneberger et al. 2015 §3 weigh pixels for the
same reason), plus ``dice`` × the soft Dice loss (Milletari et al. 2016; 0 by default). Pixels labelled
``ignore_index`` (255) count for nothing — neither the loss nor the metrics. The paper's unpadded U-Net
predicts a smaller map than its input: the mask's centre is compared with it (its overlap-tile strategy).

**Metrics** (:mod:`deepzoo.metrics.segmentation`): mean IoU, mean Dice and pixel accuracy from one
confusion matrix over the whole split (classes absent from both the truth and the prediction left out);
the test split also gets each class's IoU and Dice. Early stopping and the best weights follow
``valid/miou``. After training, ``test/baseline_miou`` and ``test/baseline_pixel_accuracy`` score the
majority class (the training split's most frequent, predicted everywhere) on the same pixels.

**Weights.** ``--weights imagenet`` (or ``torchvision:ENUM``) loads torchvision's weights into the U-Net's
zoo encoder (``model.encoder=resnet18`` …; the encoder is then built with ImageNet's stem, which the
run records as ``model.input_size`` so the saved config rebuilds it); a local file is a whole U-Net's
weights (another run's), whose 1×1 head may have another class count.

**Augmentation** (``data.augment``): ``flip``, ``scale`` and ``crop`` move image and mask together on
the device (:mod:`deepzoo.data.joint_augment`), none by default.

**Options** (``--set task_args.KEY=VALUE``): ``dice`` (0), ``class_weights`` (none), ``ignore_index`` (255).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import torch
import torch.nn.functional as F

from ..config import RunConfig
from ..data import DataBundle
from ..errors import ConfigError
from ..metrics.segmentation import confusion_matrix, majority_confusion, scores_from_confusion, soft_dice_loss
from ..models import accepted_kwargs, create_model, model_entry
from ..models.pretrained import build_size, is_named_weights, load_pretrained, resolve_weights
from ..models.unet import centre_crop
from ..tasks.heads import TaskHead
from .base import TASKS, DeviceAugmentation, Option, Recipe
from .supervised import data_kwargs

TASK = "segmentation"
#: validation images shown in the overlay figure
SHOWN = 6


class SegmentationRecipe(DeviceAugmentation, Recipe):
    """Train a segmentation network (a model registered with ``task="segmentation"``) on images and masks."""

    default_monitor = "valid/miou"
    options: ClassVar[dict[str, Option]] = {
        "dice": Option(0.0, "weight of the soft Dice loss added to the cross-entropy (Milletari et al. 2016)"),
        "class_weights": Option(None, "cross-entropy class weights: one number per class, or balanced "
                                      "(∝ 1/the class's share of the training pixels)", kind="any"),
        "ignore_index": Option(255, "the mask value left out of the loss and the metrics (PASCAL VOC's 255)"),
    }

    def __init__(self, config: RunConfig, data: DataBundle):
        super().__init__(config, data)
        meta, name = data.meta, config.model.name
        self.task = config.task or TASK  # segmentation, or segmentation-gan (recipes/segmentation_gan.py)
        if model_entry(name).meta.get("task") != TASK:
            raise ConfigError(f"task {self.task} trains segmentation models (unet); {name} is not one")
        if meta.task != TASK:
            raise ConfigError(f"task {self.task} needs a mask per image (segfolder:DIR, shapes, "
                              f"oxford-pets?labels=trimap); {meta.name} has {meta.task} targets")
        self.ignore_index = self.args["ignore_index"]
        self.dice_weight = self.args["dice"]
        if self.dice_weight < 0:
            raise ConfigError(f"task_args.dice={self.dice_weight}: a loss weight must be ≥ 0")
        weights = config.model.weights
        if is_named_weights(weights):
            self._record_encoder_size(weights)
        self.model = create_model(name, **{**accepted_kwargs(name, data_kwargs(meta)), **config.model.args})
        if weights:
            self._load_weights(weights)
        self.class_weights = self._class_weights(self.args["class_weights"])
        self.log_lines.append(self.describe())
        if config.data.augment:
            from ..data.joint_augment import JointAugmentation

            self.augment = JointAugmentation.from_spec(config.data.augment, self.ignore_index)
        self.confusions: dict[str, torch.Tensor] = {}

    # -- set-up ----------------------------------------------------------------------------------------
    def _encoder(self, weights: str) -> str:
        """The zoo encoder named weights go into; a U-Net without one cannot take them."""
        encoder = self.config.model.args.get("encoder")
        if not encoder:
            raise ConfigError(f"--weights {weights} loads torchvision's weights into a U-Net's encoder: choose one "
                              "with --set model.encoder=resnet18 (or resnet34 … resnet152)")
        return encoder

    def _record_encoder_size(self, weights: str) -> None:
        """Build the encoder as its weights were trained (ImageNet's stem), and write that size into the
        run's config, so that the model rebuilt from ``config.yaml`` is the one trained."""
        named = resolve_weights(self._encoder(weights), weights)
        args = self.config.model.args
        args.setdefault("input_size", build_size(named, self.data.meta.input_shape[-1]))

    def _load_weights(self, spec: str) -> None:
        """Named weights into the encoder (completely; its classifier is not used); a local file into the
        whole U-Net (another run's, whose head may have another class count)."""
        from ..models._weights import load_weights

        if is_named_weights(spec):
            named = resolve_weights(self._encoder(spec), spec)
            loaded = load_pretrained(self.model.encoder, named, reset_classifier=True)
            self.log_lines.append(loaded.describe(named.describe()).replace("weights:", "encoder weights:", 1))
        else:
            self.log_lines.append(load_weights(self.model, spec, reset_classifier=True).describe(spec))

    def _class_weights(self, given: Any) -> torch.Tensor | None:
        """The cross-entropy's class weights: the numbers given, or ``balanced`` from the training pixels'
        classes (checked as a multiclass head checks them)."""
        if given is None:
            return None
        train = getattr(self.data.train, "y", None)
        pixels = None if train is None else train[train != self.ignore_index]
        return TaskHead("multiclass", self.data.meta, train_targets=pixels, class_weights=given).class_weights

    def describe(self) -> str:
        """The run-log line of the loss."""
        loss = "per-pixel cross-entropy"
        if self.class_weights is not None:
            names = self.data.meta.class_names
            loss += " with class weights " + ", ".join(f"{n}={w:.3g}" for n, w in zip(names, self.class_weights))
        if self.dice_weight:
            loss += f" + {self.dice_weight:g} × soft Dice"
        return (f"task: segmentation of {self.data.meta.num_classes} classes [{loss}; mask value {self.ignore_index} "
                "ignored]")

    # -- steps ----------------------------------------------------------------------------------------
    def segmentation_loss(self, logits: torch.Tensor, target: torch.Tensor) -> dict[str, torch.Tensor]:
        """``loss`` = cross-entropy + ``dice`` × soft Dice of logits (N, K, h, w) against class maps (N, H, W)
        — centre-cropped to (h, w) when the network's output is smaller; the parts too when Dice is on."""
        target = self.matched(target, logits)
        weight = None if self.class_weights is None else self.class_weights.to(logits.device)
        cross_entropy = F.cross_entropy(logits.float(), target, weight=weight, ignore_index=self.ignore_index)
        if not self.dice_weight:
            return {"loss": cross_entropy}
        dice = soft_dice_loss(logits, target, self.ignore_index)
        return {"loss": cross_entropy + self.dice_weight * dice, "cross_entropy_loss": cross_entropy, "dice_loss": dice}

    @staticmethod
    def matched(target: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
        """Class maps as int64, cropped to the centre the logits cover (the paper's unpadded U-Net)."""
        return centre_crop(target, logits.shape[-2:]).long()

    def training_step(self, batch, phase: str) -> dict[str, torch.Tensor]:
        x, y = self.augmented(*batch)
        return self.segmentation_loss(self.net(x), y)

    @torch.no_grad()
    def evaluate(self, loader, split: str) -> dict[str, float]:
        """``loss`` (the mean over the items), and the scores of the split's confusion matrix — per class
        on the test split (see the module docstring)."""
        k = self.data.meta.num_classes
        confusion = torch.zeros(k, k, dtype=torch.long, device=self.device)
        loss, count = torch.zeros((), device=self.device), 0
        for batch in loader:
            x, y = self.transfer(batch)
            logits = self.net(x).float()
            loss += self.segmentation_loss(logits, y)["loss"] * len(x)
            count += len(x)
            confusion += confusion_matrix(logits.argmax(1), self.matched(y, logits), k, self.ignore_index)
        if not count:
            return {}
        self.confusions[split] = confusion
        return {"loss": float(loss) / count, **self.scores(confusion, per_class=split == "test")}

    def scores(self, confusion: torch.Tensor, per_class: bool = True) -> dict[str, float]:
        """The metrics of a confusion matrix (:func:`~deepzoo.metrics.segmentation.scores_from_confusion`),
        the means alone unless ``per_class``."""
        scores = scores_from_confusion(confusion, self.data.meta.class_names)
        return scores if per_class else {k: scores[k] for k in ("miou", "dice", "pixel_accuracy") if k in scores}

    def majority_baseline(self, confusion: torch.Tensor) -> dict[str, float]:
        """mIoU and pixel accuracy of predicting the training split's most frequent class everywhere, on the
        pixels ``confusion`` counted."""
        train = self.data.train.y
        counts = torch.bincount(train[train != self.ignore_index].long().reshape(-1), minlength=len(confusion))
        return self.scores(majority_confusion(counts, confusion.sum(1)), per_class=False)

    @torch.no_grad()
    def predict(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """``mask``: the most probable class of each pixel (N, h, w); ``probability``: the softmax (N, K, h, w)."""
        self.model.eval()
        probability = self.net(x.to(self.device)).float().softmax(1)
        return {"mask": probability.argmax(1), "probability": probability}

    # -- end of training ------------------------------------------------------------------------------
    def on_train_end(self, run_dir: Path | None) -> dict[str, float]:
        """The majority-class baseline on the test pixels, and ``plots/segmentation.png``: validation images
        with their true and predicted masks."""
        metrics = {}
        if "test" in self.confusions:
            metrics = {f"test/baseline_{k}": v for k, v in self.majority_baseline(self.confusions["test"]).items()
                       if k in ("miou", "pixel_accuracy")}
        split = self.data.valid if len(self.data.valid) else self.data.test
        if run_dir is not None and self.config.train.plots and len(split):
            from ..data.segmentation import mask_palette
            from ..plots.segmentation import overlay_figure

            x, y = split.x[:SHOWN], split.y[:SHOWN]
            columns = [("truth", y), (self.config.model.name, self.predict(x)["mask"].cpu())]
            overlay_figure(x, columns, self.data.meta, mask_palette(self.data.meta), run_dir / "plots" /
                           "segmentation.png", f"{self.data.meta.name}: validation images")
        return metrics


TASKS.register(TASK, recipe="segmentation")(SegmentationRecipe)
