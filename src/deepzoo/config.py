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


@dataclass
class ModelConfig:
    """Which model and its constructor arguments (the paper's knobs)."""

    name: str = "cnn"
    args: dict[str, Any] = field(default_factory=dict)
    weights: str | None = None
    freeze: str | None = None  # "backbone": train only the head
    backbone_lr_mult: float = 1.0


@dataclass
class DataConfig:
    """Which dataset (a registered name or a ``format:path`` spec) and its loader options."""

    spec: str = "digits"
    options: dict[str, Any] = field(default_factory=dict)
    augment: Any = None  # an augmentation spec applied to training batches
    resident: str = "auto"  # keep the data on the device: auto | true | false
    num_workers: int = 0


@dataclass
class OptimConfig:
    """Optimizer settings shared by every optimizer of the recipe unless the recipe overrides them."""

    name: str = "adam"
    lr: float = 1e-3
    weight_decay: float = 0.0
    momentum: float = 0.9
    nesterov: bool = False
    betas: tuple[float, float] = (0.9, 0.999)


@dataclass
class SchedConfig:
    """Learning-rate schedule: none, step, multistep, exponential, cosine (with warmup), onecycle, plateau."""

    name: str = "none"
    step_size: int = 10
    gamma: float = 0.1
    milestones: list[int] = field(default_factory=list)
    warmup_epochs: float = 0.0
    min_lr: float = 0.0
    max_lr: float | None = None
    patience: int = 5
    factor: float = 0.1


@dataclass
class EarlyStopConfig:
    """Early stopping on a logged metric; the best weights are restored at the end of training."""

    enabled: bool = True
    monitor: str | None = None  # None: the recipe's default (valid/loss for supervised tasks)
    mode: str = "auto"  # min | max | auto (max for accuracy-like names)
    patience: int = 10
    min_delta: float = 0.0


@dataclass
class TrainConfig:
    """How the engine trains: epochs, batching, precision, compile, clipping, accumulation, logging."""

    epochs: int = 20
    batch_size: int = 64
    eval_batch_size: int = 1024
    device: str = "auto"
    precision: str = "auto"  # auto (bf16 on CUDA, fp32 on CPU) | fp32 | bf16 | fp16
    channels_last: str = "auto"
    compile: bool = False
    grad_clip: float = 0.0
    accumulate: int = 1
    deterministic: bool = False
    log_every: int = 50
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

    def to_dict(self) -> dict[str, Any]:
        """Plain nested dicts and lists (tuples become lists), ready for YAML."""
        return _plain(dataclasses.asdict(self))

    def save(self, path: str | Path) -> None:
        """Write the config as YAML."""
        Path(path).write_text(yaml.safe_dump(self.to_dict(), sort_keys=False))

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
