"""The recipe contract: the one place where a family's training logic lives.

A recipe builds its modules from the config and the data, says which optimizers exist and which
parameters each one steps, computes named losses for a batch (``training_step``), evaluates a split
(``evaluate``) and may hook the end of an epoch (sample grids, reconstructions). The engine
(:func:`deepzoo.engine.fit`) owns everything else: devices, precision, the loop, checkpoints, logging.

Vocabulary follows Lightning where it fits (``training_step``, ``on_epoch_end``) without its
per-step machinery. ``self.model`` is the raw module that is checkpointed and exported; ``self.net``
is what forward passes go through — the engine may replace it by a compiled or DDP-wrapped version.
A recipe with several players (a GAN's discriminator and generator) runs each player's forward
through :meth:`Recipe.player` instead: the engine compiles and wraps every player on its own, so under
``torchrun`` each one's gradients are all-reduced by its own DistributedDataParallel.

Task options (``--set task_args.KEY=VALUE``) are declared by each recipe in :attr:`Recipe.options`
(:class:`Option`: default, kind, one-line help) and resolved once, in ``Recipe.__init__``, by
:func:`resolve_options` into ``self.args``: YAML and CLI text becomes booleans and numbers, and an
unknown key or a value of the wrong kind is a one-line :class:`~deepzoo.errors.ConfigError` (an unknown
key with the closest declared names).
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import torch
from torch import nn

from ..config import RunConfig, set_value
from ..data import DataBundle
from ..data.batching import make_loader
from ..errors import ConfigError
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


# -- task options (``task_args``) ---------------------------------------------------------------------

#: the kinds of value a task option takes (see :class:`Option`)
OPTION_KINDS = ("bool", "int", "float", "floats", "str", "choice", "any")
_TRUE, _FALSE = ("true", "yes", "on", "1"), ("false", "no", "off", "0")


@dataclass(frozen=True)
class Option:
    """One task option, a key of ``task_args`` (``--set task_args.KEY=VALUE``): its default, a one-line
    help and the kind of value it takes.

    ``kind`` is ``bool``, ``int``, ``float``, ``floats`` (a list of numbers), ``str`` (free-form text:
    a path, a run folder, a class name, ``auto``), ``choice`` (one of ``choices``) or ``any`` (passed on
    as given; the recipe checks it). Left empty it follows the default: a bool, an int, a float, a string
    (a ``choice`` when ``choices`` are given). A default of None is allowed and means "not set" (the
    recipe decides), so None is then accepted as a value as well.
    """

    default: Any
    help: str = ""
    kind: str = ""
    choices: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        kind = self.kind or self._kind_of_default()
        if kind not in OPTION_KINDS:
            raise ValueError(f"option kind {kind!r} is not one of {', '.join(OPTION_KINDS)}")
        if (kind == "choice") != bool(self.choices):
            raise ValueError("an option has choices exactly when its kind is choice")
        object.__setattr__(self, "kind", kind)

    def _kind_of_default(self) -> str:
        default = self.default
        if isinstance(default, bool):
            return "bool"
        if isinstance(default, int):
            return "int"
        if isinstance(default, float):
            return "float"
        if isinstance(default, str):
            return "choice" if self.choices else "str"
        raise ValueError(f"give the kind of an option whose default is {default!r}")

    def parse(self, value: Any) -> Any:
        """``value`` as this option's type: YAML and CLI text is read (``"false"`` and ``"0"`` are
        False, ``"1e-3"`` is 0.001); raises ValueError with what was expected when it does not fit."""
        if value is None and (self.default is None or self.kind == "any"):
            return None
        if self.kind == "any":
            return value
        if self.kind == "bool":
            text = str(value).strip().lower()
            if isinstance(value, (bool, int, str)) and text in _TRUE + _FALSE:
                return text in _TRUE
            raise ValueError("must be true or false")
        if self.kind == "int":
            number = _number(value)
            if number is None or not float(number).is_integer():
                raise ValueError("must be a whole number")
            return int(number)
        if self.kind == "float":
            number = _number(value)
            if number is None:
                raise ValueError("must be a number")
            return float(number)
        if self.kind == "floats":
            items = value if isinstance(value, (list, tuple)) else [value]
            numbers = [_number(v) for v in items]
            if not numbers or any(n is None for n in numbers):
                raise ValueError("must be a number or a list of numbers")
            return [float(n) for n in numbers]
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise ValueError("must be a text value")
        text = str(value)
        if self.kind == "choice" and text not in self.choices:
            raise ValueError(f"is not one of {', '.join(self.choices)}")
        return text


def _number(value: Any) -> float | int | None:
    """A finite int or float from a number or its text (YAML reads ``1e-3`` as text); None otherwise."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        try:
            value = int(value)
        except ValueError:
            try:
                value = float(value)
            except ValueError:
                return None
    if isinstance(value, (int, float)) and math.isfinite(value):
        return value
    return None


def resolve_options(task: str, declared: Mapping[str, Option], given: Mapping[str, Any]) -> dict[str, Any]:
    """Every declared option's value for a run of ``task``: the default unless ``given`` (the run's
    ``task_args``) sets it, parsed to the option's type.

    Raises :class:`ConfigError` in one line for unknown keys (with the closest declared names) and for
    values that do not fit their option (with what was expected and the option's help)."""
    unknown = sorted(key for key in given if key not in declared)
    if unknown:
        close = [m for key in unknown for m in difflib.get_close_matches(str(key), declared, n=1)]
        hint = f"; did you mean {', '.join(dict.fromkeys(close))}?" if close else ""
        known = f"known: {', '.join(declared)}" if declared else "it takes none"
        raise ConfigError(f"task {task}: unknown task option(s) {', '.join(map(str, unknown))}{hint} ({known})")
    values = {}
    for key, option in declared.items():
        if key not in given:
            values[key] = option.default
            continue
        try:
            values[key] = option.parse(given[key])
        except ValueError as error:
            about = f" — {option.help}" if option.help else ""
            raise ConfigError(f"task {task}: task_args.{key}={given[key]!r} {error}{about}") from None
    return values


class Player(nn.Module):
    """Some of a model's submodules as one player, with one of the model's methods as its forward.

    A player must be one module with a forward of its own to get its own DistributedDataParallel
    (:meth:`Recipe.player`). A GAN's generator and discriminator already are; an adversarial
    autoencoder's reconstruction player is its encoder and decoder (not its discriminator) run as the
    model's ``forward``: ``Player(model.forward, encoder=model.encoder, decoder=model.decoder)``. The
    submodules are registered in the order given, so the player's ``parameters()`` — what its optimizer
    steps and DDP all-reduces — are theirs, in that order; the bound method is not a module, so the
    rest of the model is not part of the player.
    """

    def __init__(self, forward: Callable[..., Any], **modules: nn.Module):
        super().__init__()
        self.method = forward
        for name, module in modules.items():
            self.add_module(name, module)

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        return self.method(*args, **kwargs)


class DeviceAugmentation:
    """What a recipe that augments its training batches on the device shares (the supervised and the
    segmentation recipes): ``self.augment``, a callable ``(x, y, generator) -> (x, y)`` or None, draws
    from a generator of the recipe's own — seeded with the run's seed + 1 at the first batch, on the
    batch's device — which checkpoints keep, so that a resumed run draws the same augmentations. Mixed in
    before :class:`Recipe`, whose :meth:`~Recipe.state_dict` it provides."""

    augment: Callable[..., tuple[torch.Tensor, Any]] | None = None
    augment_generator: torch.Generator | None = None

    def augmented(self, x: torch.Tensor, y: Any) -> tuple[torch.Tensor, Any]:
        """A training batch through ``self.augment`` (unchanged without one)."""
        if self.augment is None:
            return x, y
        if self.augment_generator is None:
            self.augment_generator = torch.Generator(device=x.device)
            self.augment_generator.manual_seed(self.config.seed + 1)
        return self.augment(x, y, generator=self.augment_generator)

    def state_dict(self) -> dict[str, Any]:
        gen = self.augment_generator
        return {"augment_generator": gen.get_state()} if gen is not None else {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if "augment_generator" in state:
            self.augment_generator = torch.Generator(device=self.device)
            self.augment_generator.set_state(state["augment_generator"])


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
    #: the task options (``task_args``) this recipe reads, by key; :meth:`options_for` may vary them by
    #: task. An unknown key is an error, so a recipe that reads none keeps this empty
    options: ClassVar[dict[str, Option]] = {}
    #: whether the recipe trains from splits that are ``torch.utils.data.Dataset`` objects (a streamed
    #: photo folder, decoded by DataLoader workers) as well as from tensors in memory; a recipe that reads
    #: ``split.x`` needs False, and the run layer then refuses streamed data in one line
    streams: ClassVar[bool] = False

    def __init__(self, config: RunConfig, data: DataBundle):
        self.config = config
        self.data = data
        #: the run's task options resolved: every declared option, typed (:func:`resolve_options`)
        self.args: dict[str, Any] = self.resolve_task_args(config, config.task or data.meta.task)
        self.model: nn.Module = nn.Identity()
        self.net: nn.Module | None = None
        #: the forward passes of the players, by optimizer name, as the engine prepared them for training
        #: (compiled, each in its own DistributedDataParallel under torchrun); read through :meth:`player`
        self.player_nets: dict[str, nn.Module] = {}
        self.device = torch.device("cpu")
        self.log_lines: list[str] = []  # decisions the run log prints (task, loss, activation ...)

    @classmethod
    def options_for(cls, task: str) -> dict[str, Option]:
        """The task options of ``task`` (one of the tasks this recipe trains); :attr:`options` unless
        a recipe's options differ between its tasks."""
        return cls.options

    @classmethod
    def resolve_task_args(cls, config: RunConfig, task: str) -> dict[str, Any]:
        """``config.task_args`` resolved against :meth:`options_for` ``task`` (defaults filled in,
        values typed); unknown keys and misfitting values raise :class:`ConfigError`."""
        return resolve_options(task, cls.options_for(task), config.task_args)

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

    def player(self, name: str, frozen: bool = False) -> nn.Module:
        """What a training step runs player ``name`` (an optimizer's name) through.

        ``frozen=False``, a forward whose loss steps this player: the module the engine prepared
        (:attr:`player_nets`; under torchrun its own DistributedDataParallel, which all-reduces the
        gradients of the backward that follows), else the raw ``optimizer_modules()[name]``.
        ``frozen=True``, a forward through a player that does not step now (the discriminator inside the
        generator's loss, a generator under ``no_grad``): the same module without the DDP wrapper, which
        would otherwise wait for gradients that never come. A forward whose backward comes in a later
        phase (a GAN reusing the discriminator step's fakes) steps its player then, so is not frozen.
        """
        net = self.player_nets.get(name)
        if net is None:
            return self.optimizer_modules()[name]
        return net.module if frozen and isinstance(net, nn.parallel.DistributedDataParallel) else net

    def optimizer_overrides(self, name: str) -> dict[str, Any]:
        """Per-optimizer settings that differ from ``config.optim`` (a GAN's betas, say)."""
        return {}

    def judge_source(self) -> tuple[str, Any] | None:
        """Where a classifier that scores this recipe's samples comes from — ``("run", folder)`` or
        ``("train", (folder, epochs))`` — or None (the default: no judge). The API builds it before
        training (:func:`deepzoo.run.training.prepare_judge`) and hands it over with :meth:`use_judge`."""
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
                           rank=rank, world_size=world_size, drop_last=drop_last, sampler=self.config.data.sampler)

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
