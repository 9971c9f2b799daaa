"""The recipe contract: the one place where a family's training logic lives.

A recipe builds its modules from the config and the data, says which optimizers exist and which
parameters each one steps, computes named losses for a batch (``training_step``), evaluates a split
(``evaluate``) and may hook the end of an epoch (sample grids, reconstructions). The engine
(:func:`deepzoo.engine.fit`) owns everything else: devices, precision, the loop, checkpoints, logging.

Vocabulary follows Lightning where it fits (``training_step``, ``on_epoch_end``) without its
per-step machinery. ``self.model`` is the raw module that is checkpointed and exported; ``self.net``
is what forward passes go through — the engine may replace it by a compiled or DDP-wrapped version.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any, ClassVar

import torch
from torch import nn

from ..config import RunConfig, set_value
from ..data import DataBundle
from ..data.batching import make_loader
from ..registry import Registry

# Which recipe trains each task; filled by the recipe modules (``TASKS.register("multiclass")``).
TASKS = Registry("task")


def apply_preset(config: RunConfig, preset: dict[str, Any], source: str, kind: str = "paper preset") -> str:
    """Set each ``preset`` key the user did not set (``config.explicit``); return the run-log line,
    ``"<kind> (<source>): key=value, ...; kept your key=value"``."""
    applied, kept = [], []
    for key, value in preset.items():
        section, _, name = key.partition(".")
        current = getattr(getattr(config, section), name)
        same = (lambda a, b: tuple(a) == tuple(b)) if isinstance(value, tuple) else (lambda a, b: a == b)
        if same(current, value):
            continue
        if key in config.explicit:
            kept.append(f"{key}={current}")
        else:
            set_value(config, key, value, explicit=False)
            applied.append(f"{key}={value}")
    line = f"{kind} ({source}): " + (", ".join(applied) or "nothing to change")
    return line + (f"; kept your {', '.join(kept)}" if kept else "")


class Recipe:
    """Base class of every way of training. Subclasses set ``self.model`` in ``__init__``."""

    #: optimizer names stepped for every batch, in order (a GAN: ["discriminator", "generator"])
    phases: tuple[str, ...] = ("model",)
    #: the metric early stopping watches unless the config names another
    default_monitor: str = "valid/loss"
    #: data options this family loads with unless the user sets them (``{"normalize": "none"}`` keeps
    #: images in [0, 1] for autoencoders); read by the API before the data is loaded
    data_defaults: ClassVar[dict[str, Any]] = {}
    #: a precision the recipe chose for itself (the GAN measures fp32 against bf16), which the engine
    #: and the LR finder use instead of ``train.precision``; None leaves the config's
    preferred_precision: str | None = None
    #: parameter-name prefixes of the head, which keep the full learning rate when
    #: ``model.backbone_lr_mult`` scales the rest (fine-tuning); empty: every parameter is the head
    head_prefixes: tuple[str, ...] = ()

    def __init__(self, config: RunConfig, data: DataBundle):
        self.config = config
        self.data = data
        self.model: nn.Module = nn.Identity()
        self.net: nn.Module | None = None
        self.device = torch.device("cpu")
        self.log_lines: list[str] = []  # decisions the run log prints (task, loss, activation ...)

    @property
    def is_convnet(self) -> bool:
        """Whether the model's work is mostly 2-D convolutions, so channels_last memory format pays (on
        CUDA and on the CPU). A transformer whose one convolution is its patch embedding is not: its
        attention and MLPs run on token matrices, and a channels_last input would only add a copy."""
        return sum(isinstance(m, nn.Conv2d) for m in self.model.modules()) > 1

    # -- set-up ---------------------------------------------------------------------------------
    def setup(self, device: torch.device) -> None:
        """Move the modules to ``device``; ``net`` starts as the raw model."""
        self.device = device
        self.model.to(device)
        if self.net is None:
            self.net = self.model

    def optimizer_modules(self) -> dict[str, nn.Module]:
        """The parameters each optimizer steps, by optimizer name (matches :attr:`phases`)."""
        return {"model": self.model}

    def optimizer_overrides(self, name: str) -> dict[str, Any]:
        """Per-optimizer settings that differ from ``config.optim`` (a GAN's betas, say)."""
        return {}

    def judge_source(self) -> tuple[str, Any] | None:
        """Where a classifier that scores this recipe's samples comes from — ``("run", folder)`` or
        ``("train", (folder, epochs))`` — or None (the default: no judge). The API builds it before
        training (:func:`deepzoo.api.prepare_judge`) and hands it over with :meth:`use_judge`."""
        return None

    def use_judge(self, judge: Any) -> None:
        """Receive the judge built from :meth:`judge_source` (None when there is none)."""

    # -- data -----------------------------------------------------------------------------------
    def loader(self, split: str, batch_size: int, *, shuffle: bool = False, seed: int = 0,
               rank: int = 0, world_size: int = 1) -> Iterable:
        """Batches of one split; the default batches tensors (resident on the device when they fit).

        A shuffled (training) split whose last batch would hold a single item drops it when the model
        has batch-norm layers: batch norm cannot normalise one item (PyTorch raises on a 1×1 map) and
        its statistics from one item are noise. That one item per epoch is the only one left out."""
        data = self.data.splits()[split]
        if data is None or len(data) == 0:
            return []
        per_rank = -(-len(data) // world_size)
        drop_last = (shuffle and per_rank > batch_size and per_rank % batch_size == 1
                     and any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in self.model.modules()))
        return make_loader(data, batch_size, self.device, shuffle=shuffle, seed=seed,
                           resident=self.config.data.resident, num_workers=self.config.data.num_workers,
                           rank=rank, world_size=world_size, drop_last=drop_last)

    def transfer(self, batch: Any) -> Any:
        """Move a batch to the device (a no-op for device-resident batches)."""
        if isinstance(batch, (tuple, list)):
            return tuple(t.to(self.device, non_blocking=True) if torch.is_tensor(t) else t for t in batch)
        return batch.to(self.device) if hasattr(batch, "to") else batch

    # -- training and evaluation --------------------------------------------------------------
    def train_mode(self) -> None:
        """Put the modules in training mode at the start of each epoch."""
        self.model.train()

    def training_step(self, batch: Any, phase: str) -> dict[str, torch.Tensor]:
        """Losses for one batch and one optimizer; ``"loss"`` is what that optimizer minimises.
        Other entries are logged (kept on the device; the engine reads them at log intervals)."""
        raise NotImplementedError

    @torch.no_grad()
    def evaluate(self, loader: Iterable, split: str) -> dict[str, float]:
        """Metrics of one split (``loss`` at least), as plain floats."""
        raise NotImplementedError

    def on_epoch_end(self, epoch: int, run_dir: Path | None) -> None:
        """Epoch-end hook: sample grids, reconstructions. Must not draw from the global RNG."""

    def on_train_end(self, run_dir: Path | None) -> dict[str, float]:
        """After the best weights are restored: extra metrics for ``summary.json`` and final plots."""
        return {}

    def predict(self, x: torch.Tensor) -> dict[str, Any]:
        """Outputs for new inputs (already normalised) in the task's terms."""
        raise NotImplementedError

    def state_dict(self) -> dict[str, Any]:
        """Recipe state beyond the model that a checkpoint must hold (e.g. a fixed noise tensor)."""
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned."""
