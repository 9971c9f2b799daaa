"""The one config object that describes a run.

A run is described by nested dataclasses, saved as ``config.yaml`` in its run folder, read back from
YAML (``--config FILE``) and changed with dotted overrides (``--set optim.lr=3e-4``). The ``model``
and ``data`` sections are open: keys that are not fields (``--set model.width_mult=0.5``,
``--set data.normalize=none``) become keyword arguments of the model constructor or the data loader.
Every other unknown key is an error.
"""

from __future__ import annotations

import dataclasses
import difflib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .errors import ConfigError
from .files import write_text_atomic


@dataclass(frozen=True)
class Bound:
    """The values a numeric config field admits: ``low``/``high`` limits, each included or not."""

    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False

    def admits(self, value: float) -> bool:
        """Whether ``value`` lies within the bound (NaN never does)."""
        if value != value:  # NaN
            return False
        if self.low is not None and (value < self.low or (self.low_open and value == self.low)):
            return False
        return self.high is None or (value < self.high or (not self.high_open and value == self.high))

    def __str__(self) -> str:
        if self.high is None:
            return f"{'>' if self.low_open else '≥'} {self.low:g}"
        return f"in {'(' if self.low_open else '['}{self.low:g}, {self.high:g}{')' if self.high_open else ']'}"


COUNT = Bound(1)  # epochs, batch sizes, steps: at least one
NON_NEGATIVE = Bound(0)
POSITIVE = Bound(0, low_open=True)  # learning rates, decay factors
FRACTION = Bound(0, 1, high_open=True)  # momentum, Adam's betas


def checked(default: Any = dataclasses.MISSING, bound: Bound | None = None, choices: tuple[str, ...] = (),
            **kwargs: Any) -> Any:
    """A dataclass field whose value :func:`validate` checks: within ``bound`` (every item of a list or
    tuple) or one of ``choices``; None passes where the field allows it."""
    return field(default=default, metadata={"bound": bound, "choices": choices}, **kwargs)


@dataclass
class ModelConfig:
    """Which model and its constructor arguments (the paper's knobs)."""

    name: str = "cnn"
    args: dict[str, Any] = field(default_factory=dict)
    weights: str | None = None
    freeze: str | None = checked(None, choices=("backbone",))  # "backbone": train only the head
    backbone_lr_mult: float = checked(1.0, NON_NEGATIVE)


@dataclass
class DataConfig:
    """Which dataset (a registered name or a ``format:path`` spec) and its loader options."""

    spec: str = "digits"
    options: dict[str, Any] = field(default_factory=dict)
    augment: Any = None  # an augmentation spec applied to training batches
    resident: str = checked("auto", choices=("auto", "true", "false"))  # keep the data on the device
    num_workers: int = checked(0, NON_NEGATIVE)
    # image files are decoded into memory while the decoded float32 set stays within this many GiB, else
    # streamed from disk (docs/data.md: 2 GiB fits a laptop's or a small VM's RAM beside the model and
    # the workers, and the 4 GiB a split may keep on the GPU)
    memory_budget: float = checked(2.0, NON_NEGATIVE)
    sampler: str = checked("random", choices=("random", "balanced"))  # balanced: items ∝ 1/class frequency


@dataclass
class OptimConfig:
    """Optimizer settings shared by every optimizer of the recipe unless the recipe overrides them."""

    name: str = "adam"
    lr: float = checked(1e-3, POSITIVE)
    weight_decay: float = checked(0.0, NON_NEGATIVE)
    momentum: float = checked(0.9, FRACTION)
    nesterov: bool = False
    betas: tuple[float, float] = checked((0.9, 0.999), FRACTION)


@dataclass
class SchedConfig:
    """Learning-rate schedule: none, step, multistep, exponential, cosine (with warmup), onecycle, plateau,
    linear_decay (constant for ``constant_epochs``, then linearly towards 0)."""

    name: str = "none"
    step_size: int = checked(10, COUNT)
    gamma: float = checked(0.1, POSITIVE)
    milestones: list[int] = checked(bound=COUNT, default_factory=list)
    warmup_epochs: float = checked(0.0, NON_NEGATIVE)
    min_lr: float = checked(0.0, NON_NEGATIVE)
    max_lr: float | None = checked(None, POSITIVE)
    patience: int = checked(5, NON_NEGATIVE)
    factor: float = checked(0.1, Bound(0, 1, low_open=True, high_open=True))
    constant_epochs: int | None = checked(None, NON_NEGATIVE)  # linear_decay's constant part; None: half the epochs


@dataclass
class EarlyStopConfig:
    """Early stopping on a logged metric; the best weights are restored at the end of training."""

    enabled: bool = True
    monitor: str | None = None  # None: the recipe's default (valid/loss for supervised tasks)
    mode: str = checked("auto", choices=("auto", "min", "max"))  # auto: max for accuracy-like names
    patience: int = checked(10, COUNT)
    min_delta: float = checked(0.0, NON_NEGATIVE)


@dataclass
class TrainConfig:
    """How the engine trains: epochs, batching, precision, compile, clipping, accumulation, logging."""

    epochs: int = checked(20, COUNT)
    batch_size: int = checked(64, COUNT)
    eval_batch_size: int = checked(1024, COUNT)
    device: str = "auto"
    precision: str = checked("auto", choices=("auto", "fp32", "bf16", "fp16"))  # auto: bf16 on CUDA, fp32 on CPU
    channels_last: str = checked("auto", choices=("auto", "true", "false"))
    compile: bool = False
    grad_clip: float = checked(0.0, NON_NEGATIVE)
    accumulate: int = checked(1, COUNT)
    deterministic: bool = False
    log_every: int = checked(50, COUNT)
    #: the run ends as diverged when a window's mean training loss exceeds this many times
    #: max(|first step's loss|, 1); null turns the check off
    diverge_factor: float | None = checked(100.0, Bound(1, low_open=True))
    checkpoint: bool = True
    plots: bool = True
    tensorboard: bool = True
    progress: bool = True


@dataclass
class RunConfig:
    """Everything a run needs; ``deepzoo train`` builds one and saves it as ``config.yaml``."""

    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    task: str | None = None
    task_args: dict[str, Any] = field(default_factory=dict)
    seed: int = 0
    name: str | None = None
    runs_dir: str = "runs"
    optim: OptimConfig = field(default_factory=OptimConfig)
    sched: SchedConfig = field(default_factory=SchedConfig)
    early_stop: EarlyStopConfig = field(default_factory=EarlyStopConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    def __post_init__(self) -> None:
        #: dotted keys a user set (argument, YAML file, --set, a tuning trial), whatever the value: a
        #: model's paper preset fills in only the others. Not a field, so never saved.
        self.explicit: set[str] = set()

    def validate(self) -> RunConfig:
        """Check every declared range and choice (see :func:`checked`); the first value outside is a
        one-line :class:`ConfigError`. Called before any run folder is created."""
        for dotted, value, f in _checked_fields(self):
            bound, choices = f.metadata["bound"], f.metadata["choices"]
            if value is None:
                continue
            if choices and str(value).lower() not in choices:
                raise ConfigError(f"{dotted}={value!r}: use one of {', '.join(choices)}")
            for item in value if isinstance(value, (list, tuple)) else (value,):
                if bound is not None and not (isinstance(item, (int, float)) and bound.admits(item)):
                    raise ConfigError(f"{dotted}={_show(value)}: must be {bound}")
        return self

    def to_dict(self) -> dict[str, Any]:
        """Plain nested dicts and lists (tuples become lists), ready for YAML."""
        return _plain(dataclasses.asdict(self))

    def save(self, path: str | Path, notes: list[str] | tuple[str, ...] = ()) -> None:
        """Write the config as YAML, atomically; ``notes`` follow as ``#`` comment lines (the run's
        resume history), which :meth:`load` ignores."""
        comments = "".join(f"# {note}\n" for note in notes)
        write_text_atomic(path, yaml.safe_dump(self.to_dict(), sort_keys=False) + comments)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunConfig:
        """Build a config from nested dicts; unknown keys raise :class:`ConfigError`."""
        config = cls()
        for dotted, value in _flatten(data):
            set_value(config, dotted, value)
        return config

    @classmethod
    def load(cls, path: str | Path) -> RunConfig:
        """Read a YAML config file."""
        path = Path(path)
        if not path.is_file():
            raise ConfigError(f"{path}: config file not found")
        try:
            data = yaml.safe_load(path.read_text()) or {}
        except yaml.YAMLError as err:
            raise ConfigError(f"{path}: not valid YAML ({str(err).splitlines()[0]})") from None
        if not isinstance(data, dict):
            raise ConfigError(f"{path}: expected a mapping of config keys")
        return cls.from_dict(data)


def _checked_fields(obj: Any, prefix: str = ""):
    """``(dotted key, value, field)`` for every field declared with :func:`checked`."""
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        if dataclasses.is_dataclass(value):
            yield from _checked_fields(value, f"{prefix}{f.name}.")
        elif "bound" in f.metadata:
            yield f"{prefix}{f.name}", value, f


def _show(value: Any) -> str:
    return str(list(value)) if isinstance(value, (list, tuple)) else f"{value:g}" if isinstance(value, float) \
        else repr(value) if isinstance(value, str) else str(value)


# Open config sections whose entries are constructor / loader arguments: shown as model.X, data.X.
SHOWN_AS = {"model.args": "model", "data.options": "data"}


def flat_config(config: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested config dicts as ``dotted.key -> value``, with ``model.args.X`` shown as ``model.X`` and
    ``data.options.X`` as ``data.X`` (the names ``--set`` and search spaces use); an empty section
    sets nothing and leaves no key."""
    out: dict[str, Any] = {}
    for key, value in config.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(flat_config(value, SHOWN_AS.get(dotted, dotted) + "."))
        else:
            out[dotted] = value
    return out


OPEN_SECTIONS = {"model": "args", "data": "options", "task_args": None}


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _flatten(data: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    """``{"optim": {"lr": 1}}`` → ``[("optim.lr", 1)]``; open dict sections stay whole."""
    out = []
    for key, value in data.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, dict) and dotted not in ("model.args", "data.options", "task_args"):
            out.extend(_flatten(value, dotted + "."))
        else:
            out.append((dotted, value))
    return out


def _coerce(value: Any, annotation: Any, key: str) -> Any:
    """Convert a YAML value to the field's declared type where the conversion is unambiguous."""
    text = str(annotation)
    if value is None:
        return None
    try:
        if text in ("int",) and not isinstance(value, bool):
            if isinstance(value, float) and not value.is_integer():
                raise ValueError
            return int(value)
        if text in ("float", "float | None"):
            return float(value)
        if text == "bool":
            if isinstance(value, str) and value.lower() in ("true", "false"):
                return value.lower() == "true"
            if not isinstance(value, bool):
                raise ValueError
            return value
        if text.startswith("tuple"):
            return tuple(float(v) for v in value)
        if text.startswith("list[int]"):
            return [int(v) for v in (value if isinstance(value, list) else [value])]
    except (TypeError, ValueError):
        raise ConfigError(f"config key {key}: {value!r} is not a valid {text}") from None
    return value


def set_value(config: RunConfig, dotted: str, value: Any, explicit: bool = True) -> None:
    """Set ``dotted`` (e.g. ``optim.lr``) on ``config``; open sections take any sub-key.

    ``explicit`` records the key in ``config.explicit`` (the user chose it); presets pass False.
    """
    if explicit:
        config.explicit.add(dotted)
    parts = dotted.split(".")
    target: Any = config
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        if isinstance(target, dict):
            if last:
                target[part] = value
            else:
                target = target.setdefault(part, {})
            continue
        names = {f.name: f for f in dataclasses.fields(target)}
        section = ".".join(parts[:i])
        if part not in names:
            open_field = OPEN_SECTIONS.get(section)
            if open_field:  # model.width_mult → model.args["width_mult"]
                getattr(target, open_field)[".".join(parts[i:])] = value
                return
            close = difflib.get_close_matches(dotted, all_keys(), n=3, cutoff=0.6)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            raise ConfigError(f"unknown config key {dotted!r}{hint}")
        if last:
            setattr(target, part, _coerce(value, names[part].type, dotted))
        else:
            target = getattr(target, part)
            if target is None or not (dataclasses.is_dataclass(target) or isinstance(target, dict)):
                raise ConfigError(f"config key {'.'.join(parts[:i + 1])} has no sub-keys")


def all_keys() -> list[str]:
    """Every dotted key of the config (for suggestions and docs)."""
    keys: list[str] = []

    def walk(obj: Any, prefix: str) -> None:
        for f in dataclasses.fields(obj):
            value = getattr(obj, f.name)
            if dataclasses.is_dataclass(value):
                walk(value, f"{prefix}{f.name}.")
            else:
                keys.append(f"{prefix}{f.name}")

    walk(RunConfig(), "")
    return keys


def apply_overrides(config: RunConfig, overrides: list[str]) -> RunConfig:
    """Apply ``key=value`` strings; values are parsed as YAML (``3e-4``, ``true``, ``[1, 2]``)."""
    for item in overrides:
        key, eq, text = item.partition("=")
        if not eq or not key:
            raise ConfigError(f"--set {item!r}: expected key=value")
        try:
            value = yaml.safe_load(text)
        except yaml.YAMLError:
            value = text
        set_value(config, key.strip(), value)
    return config
