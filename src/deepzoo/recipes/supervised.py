"""Supervised learning: binary, multiclass, multi-label and regression with any registered model.

The head and the loss follow the targets (see :mod:`deepzoo.tasks.heads`); transfer learning loads
local weights or torchvision's named ones (``imagenet``), replaces the head for the new number of
outputs and can freeze the backbone (its batch-norm statistics included) or fine-tune it with a lower
learning rate.

**Options** (``--set task_args.KEY=VALUE``, :data:`HEAD_OPTIONS`, passed to
:class:`~deepzoo.tasks.heads.TaskHead`): ``threshold`` (0.5), ``label_smoothing`` (0),
``class_weights`` (a list of numbers or ``balanced``), ``pos_weight`` (numbers), ``output_activation``
(linear) and ``loss`` (mse | l1 | huber); an unknown key fails naming the closest.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import torch
from torch import nn

from ..config import RunConfig
from ..data import DataBundle
from ..errors import ConfigError
from ..models import accepted_kwargs
from ..models._tabular import create_table_model
from ..models.pretrained import build_size, is_named_weights, load_pretrained, model_settings, resolve_weights
from ..tasks.heads import TaskHead, check_no_output_squashing
from .base import TASKS, DeviceAugmentation, Option, Recipe

# Szegedy et al. 2014, §5: auxiliary classifier losses are added with weight 0.3 during training.
AUX_LOSS_WEIGHT = 0.3
#: The options of a supervised head (:class:`~deepzoo.tasks.heads.TaskHead`'s keywords, same defaults),
#: shared by the supervised recipe and the graph recipe's node and graph tasks.
HEAD_OPTIONS: dict[str, Option] = {
    "threshold": Option(0.5, "decision threshold on the probability (binary, multilabel)"),
    "label_smoothing": Option(0.0, "label smoothing of the cross-entropy (multiclass)"),
    "class_weights": Option(None, "cross-entropy class weights (multiclass): one number per class, or balanced "
                                  "(∝ 1/the class's training frequency)", kind="any"),
    "pos_weight": Option(None, "one positive-class weight per label (multilabel)", kind="floats"),
    "output_activation": Option("linear", "output activation of a regression head (linear, prelu, ...)"),
    "loss": Option("mse", "regression loss", choices=("mse", "l1", "huber")),
}


class WithOutputActivation(nn.Module):
    """A model followed by a (possibly learnable) output activation, for regression heads."""

    def __init__(self, body: nn.Module, activation: nn.Module):
        super().__init__()
        self.body = body
        self.activation = activation

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.activation(self.body(x))


def data_kwargs(meta) -> dict[str, Any]:
    """What the data tells a model constructor: outputs, channels, spatial size, input shape."""
    shape = tuple(meta.input_shape)
    return {"num_classes": meta.num_outputs, "in_chans": shape[0], "input_size": shape[-1], "input_shape": shape}


class SupervisedRecipe(DeviceAugmentation, Recipe):
    """Train a model on (x, y) batches with the task's head and loss."""

    options: ClassVar[dict[str, Option]] = HEAD_OPTIONS
    streams: ClassVar[bool] = True

    def __init__(self, config: RunConfig, data: DataBundle):
        super().__init__(config, data)
        meta = data.meta
        self.task = config.task or meta.task
        if self.task != meta.task:
            raise ConfigError(f"--task {self.task} does not fit {meta.name}, whose targets are {meta.task}")
        self.head = TaskHead(self.task, meta, train_targets=getattr(data.train, "y", None), **self.args)
        self.log_lines.append(f"task: {self.head.describe()}")

        name = config.model.name
        kwargs = {**accepted_kwargs(name, data_kwargs(meta)), **config.model.args}
        if is_named_weights(config.model.weights) and "input_size" in kwargs and "input_size" not in config.model.args:
            # the weights fix the architecture: built as they were trained, whatever the data's size
            kwargs["input_size"] = build_size(resolve_weights(name, config.model.weights), kwargs["input_size"])
        model = create_table_model(name, meta.extra.get("table"), **kwargs)
        check_no_output_squashing(model)
        if config.model.weights:
            self._load_pretrained(model, config.model.weights)
        self.frozen_modules: list[nn.Module] = []
        if config.model.freeze:
            self._freeze(model, config.model.freeze)
        if self.task == "regression" and self.head.activation != "linear":
            from ..tasks.activations import output_activation

            model = WithOutputActivation(model, output_activation(self.head.activation, meta.num_outputs))
        self.head_prefixes = ("head", "body.head", "activation") if config.model.backbone_lr_mult != 1 else ()
        self.model = model
        if config.data.augment:
            from ..data.augment import build_augmentation

            self.augment = build_augmentation(config.data.augment, num_classes=meta.num_classes)

    # -- transfer learning -----------------------------------------------------------------------
    def _load_pretrained(self, model: nn.Module, spec: str) -> None:
        """Load a local weights file or torchvision's named weights (``imagenet``, ``torchvision:ENUM``)
        completely; only the head may be re-initialised (another class count). The constructor settings
        named weights need (GoogLeNet's ``transform_input``) go into the run's config, so that the model
        rebuilt from ``config.yaml`` computes what trained."""
        from ..models._weights import load_weights

        if not is_named_weights(spec):
            self.log_lines.append(load_weights(model, spec, reset_classifier=True).describe(spec))
            return
        weights, args = resolve_weights(self.config.model.name, spec), self.config.model.args
        loaded = load_pretrained(model, weights, args, reset_classifier=True)
        args.update({k: v for k, v in model_settings(weights).items() if k not in args})
        self.log_lines.append(loaded.describe(weights.describe()))

    def _freeze(self, model: nn.Module, what: str) -> None:
        """``backbone``: only the head trains; frozen batch norms keep their statistics (eval mode)."""
        if what != "backbone":
            raise ConfigError(f"model.freeze={what!r}: only 'backbone' is supported")
        if not hasattr(model, "head"):
            raise ConfigError(f"model {self.config.model.name} has no .head to train on its own")
        head = set(id(p) for p in model.head.parameters())
        for p in model.parameters():
            p.requires_grad_(id(p) in head)
        self.frozen_modules = [m for n, m in model.named_modules() if n and not n.startswith("head")
                               and isinstance(m, nn.modules.batchnorm._BatchNorm)]
        self.log_lines.append("freeze: backbone frozen (batch-norm statistics fixed), training the head only")

    def train_mode(self) -> None:
        """Training mode, except frozen batch-norm layers, which keep their running statistics."""
        self.model.train()
        for m in self.frozen_modules:
            m.eval()

    # -- steps --------------------------------------------------------------------------------------
    def training_step(self, batch, phase: str) -> dict[str, torch.Tensor]:
        x, y = self.augmented(*batch)
        out = self.net(x)
        if isinstance(out, tuple):  # GoogLeNet-style auxiliary classifiers
            main, *aux = out
            return {"loss": self.head.loss(main, y) + AUX_LOSS_WEIGHT * sum(self.head.loss(a, y) for a in aux)}
        return {"loss": self.head.loss(out, y)}

    @torch.no_grad()
    def outputs(self, loader) -> tuple[torch.Tensor, torch.Tensor] | None:
        """Concatenated model outputs and targets of a whole split."""
        outs, targets = [], []
        for batch in loader:
            x, y = self.transfer(batch)
            outs.append(self.net(x).float())
            targets.append(y)
        return (torch.cat(outs), torch.cat(targets)) if outs else None

    @torch.no_grad()
    def evaluate(self, loader, split: str) -> dict[str, float]:
        result = self.outputs(loader)
        return {} if result is None else self.head.metrics(*result)

    @torch.no_grad()
    def predict(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        self.model.eval()
        return self.head.predict(self.net(x.to(self.device)))

    def on_train_end(self, run_dir: Path | None) -> dict[str, float]:
        """Task plots, the model summary, and for multi-label runs the label-frequency baseline."""
        if run_dir is not None:
            from ..models._summary import format_table, layer_table

            rows = layer_table(self.model, self.data.meta.input_shape)
            total = sum(p.numel() for p in self.model.parameters())
            (run_dir / "model_summary.txt").write_text(f"{format_table(rows)}\n\ntotal parameters: {total:,}\n")
        if run_dir is not None and self.config.train.plots:
            from ..plots.supervised import task_plots

            task_plots(self, run_dir / "plots")
        if self.task != "multilabel" or not len(self.data.test):
            return {}
        return {f"test/baseline_{k}": v for k, v in self.frequency_baseline().items()
                if k in ("subset_accuracy", "map", "hamming_loss", "f1")}

    def frequency_baseline(self) -> dict[str, float]:
        """Metrics of the model that predicts each label's training frequency for every item."""
        freq = self.data.train.y.float().mean(0).clamp(1e-6, 1 - 1e-6)
        targets = self.data.test.y
        logits = torch.logit(freq).expand(len(targets), -1)
        return self.head.metrics(logits, targets)


for _task in ("binary", "multiclass", "multilabel", "regression"):
    TASKS.register(_task, recipe="supervised")(SupervisedRecipe)
