"""Search spaces: a YAML file mapping config keys to distributions, turned into Optuna suggestions.

::

    optim.lr: {type: float, low: 1.0e-4, high: 0.1, log: true}
    optim.weight_decay: {type: float, low: 0, high: 1.0e-3, grid: [0, 1.0e-4, 1.0e-3]}
    train.batch_size: {type: int, low: 16, high: 128, step: 16}
    model.hidden: [[64], [128, 64]]          # a list is a categorical
    optim.name: {type: categorical, choices: [adam, sgd]}

Any key of the run config can be searched (``model.X`` and ``data.X`` reach the model constructor
and the data loader, as ``--set`` does). Grid search needs a finite set per key: a categorical's
choices, an int's values from ``low`` to ``high`` by ``step``, a float with ``step``; a float
otherwise needs ``grid: [values]`` (explicit points) or ``grid: COUNT`` (COUNT points from ``low`` to
``high``, evenly spaced — geometrically when ``log: true``).
"""

from __future__ import annotations

import copy
import itertools
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from ..config import RunConfig, set_value
from ..errors import ConfigError

KINDS = ("float", "int", "categorical")
FIELDS = {"float": {"type", "low", "high", "log", "step", "grid"},
          "int": {"type", "low", "high", "log", "step", "grid"},
          "categorical": {"type", "choices"}}
PRIMITIVE = (str, int, float, bool, type(None))


@dataclass
class Param:
    """One searched config key and its distribution (Optuna's float / int / categorical)."""

    key: str
    kind: str
    low: float | int | None = None
    high: float | int | None = None
    log: bool = False
    step: float | int | None = None
    choices: list[Any] = field(default_factory=list)
    grid: list[Any] | None = None

    @property
    def encoded(self) -> bool:
        """Categorical choices that Optuna cannot store (lists, mappings) travel as JSON strings."""
        return self.kind == "categorical" and not all(isinstance(c, PRIMITIVE) for c in self.choices)

    def stored(self, value: Any) -> Any:
        """``value`` as Optuna stores it (JSON text for encoded categoricals)."""
        return json.dumps(value) if self.encoded else value

    def decode(self, stored: Any) -> Any:
        """The config value of an Optuna parameter value."""
        return json.loads(stored) if self.encoded else stored

    def suggest(self, trial) -> Any:
        """Ask ``trial`` (an ``optuna.Trial``) for this key's value; returns the config value."""
        if self.kind == "float":
            return trial.suggest_float(self.key, self.low, self.high, log=self.log, step=self.step)
        if self.kind == "int":
            return trial.suggest_int(self.key, self.low, self.high, log=self.log, step=self.step or 1)
        return self.decode(trial.suggest_categorical(self.key, [self.stored(c) for c in self.choices]))

    def grid_values(self, where: str) -> list[Any]:
        """The finite set of values grid search visits (see the module docstring)."""
        if self.kind == "categorical":
            return list(self.choices)
        if self.grid is not None:
            return list(self.grid)
        if self.kind == "int" and not self.log:
            return list(range(self.low, self.high + 1, self.step or 1))
        if self.kind == "float" and self.step:
            count = int(math.floor((self.high - self.low) / self.step + 1e-9)) + 1
            return [self.low + i * self.step for i in range(count)]
        what = "a log-scaled int" if self.kind == "int" else "a float"
        raise ConfigError(f"{where}: {self.key}: grid search needs finite values for {what}: "
                          f"add grid: [v1, v2, ...] or grid: COUNT")


@dataclass
class SearchSpace:
    """The parameters of one search, in file order, and where they came from."""

    params: list[Param]
    source: str = "space"

    @property
    def keys(self) -> list[str]:
        return [p.key for p in self.params]

    def to_dict(self) -> dict[str, Any]:
        """A plain mapping that :func:`parse_space` reads back (saved with the study)."""
        out: dict[str, Any] = {}
        for p in self.params:
            if p.kind == "categorical":
                out[p.key] = {"type": "categorical", "choices": p.choices}
            else:
                spec = {"type": p.kind, "low": p.low, "high": p.high}
                spec.update({k: v for k, v in (("log", p.log), ("step", p.step), ("grid", p.grid)) if v})
                out[p.key] = spec
        return out

    def suggest(self, trial) -> dict[str, Any]:
        """Every key's config value for ``trial``."""
        return {p.key: p.suggest(trial) for p in self.params}

    def decode(self, params: dict[str, Any]) -> dict[str, Any]:
        """Config values of a finished trial's Optuna parameters."""
        by_key = {p.key: p for p in self.params}
        return {k: by_key[k].decode(v) if k in by_key else v for k, v in params.items()}

    def apply(self, config: RunConfig, values: dict[str, Any]) -> RunConfig:
        """A copy of ``config`` with ``values`` (config values by dotted key) set."""
        config = copy.deepcopy(config)
        for key, value in values.items():
            set_value(config, key, value)
        return config

    def grid(self) -> list[dict[str, Any]]:
        """Every grid point as Optuna parameters (product of each key's grid values, file order)."""
        axes = [[p.stored(v) for v in p.grid_values(self.source)] for p in self.params]
        return [dict(zip(self.keys, point)) for point in itertools.product(*axes)]


def load_space(path: str | Path) -> SearchSpace:
    """Read and check a search-space YAML file; every mistake is one :class:`ConfigError` line."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: search-space file not found")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        raise ConfigError(f"{path}: not valid YAML ({str(err).splitlines()[0]})") from None
    return parse_space(data, str(path))


def parse_space(data: Any, source: str = "space") -> SearchSpace:
    """Check a search-space mapping (``key -> spec``) and build its :class:`SearchSpace`."""
    if not isinstance(data, dict) or not data:
        raise ConfigError(f"{source}: expected a mapping of config keys to distributions")
    params = [_parse_param(str(key), spec, source) for key, spec in data.items()]
    for p in params:
        _check_key(p, source)
    return SearchSpace(params, source)


def _parse_param(key: str, spec: Any, where: str) -> Param:
    if isinstance(spec, list):
        spec = {"type": "categorical", "choices": spec}
    if not isinstance(spec, dict):
        raise ConfigError(f"{where}: {key}: expected a list of choices or a mapping with a type "
                          f"({', '.join(KINDS)}), got {spec!r}")
    kind = spec.get("type")
    if kind not in KINDS:
        raise ConfigError(f"{where}: {key}: type must be one of {', '.join(KINDS)}, got {kind!r}")
    unknown = sorted(set(spec) - FIELDS[kind])
    if unknown:
        raise ConfigError(f"{where}: {key}: unknown field {unknown[0]!r} for a {kind} "
                          f"(expected {', '.join(sorted(FIELDS[kind] - {'type'}))})")
    if kind == "categorical":
        choices = spec.get("choices")
        if not isinstance(choices, list) or not choices:
            raise ConfigError(f"{where}: {key}: a categorical needs a non-empty list of choices")
        return Param(key, kind, choices=choices)

    number = _integer if kind == "int" else _real
    if "low" not in spec or "high" not in spec:
        raise ConfigError(f"{where}: {key}: a {kind} needs low and high")
    low, high = number(spec["low"], key, "low", where), number(spec["high"], key, "high", where)
    log = spec.get("log", False)
    if not isinstance(log, bool):
        raise ConfigError(f"{where}: {key}: log must be true or false, got {log!r}")
    step = None if spec.get("step") is None else number(spec["step"], key, "step", where)
    if low > high:
        raise ConfigError(f"{where}: {key}: low ({low}) is above high ({high})")
    if log and low <= 0:
        raise ConfigError(f"{where}: {key}: log: true needs low > 0, got low = {low}")
    if log and step is not None:
        raise ConfigError(f"{where}: {key}: log: true and step cannot be combined")
    if step is not None and step <= 0:
        raise ConfigError(f"{where}: {key}: step must be positive, got {step}")
    return Param(key, kind, low, high, log, step, grid=_parse_grid(spec.get("grid"), key, kind, low, high, log,
                                                                    where))


def _parse_grid(grid: Any, key: str, kind: str, low, high, log: bool, where: str) -> list | None:
    """Explicit grid values (checked against the bounds) or COUNT evenly spaced points."""
    if grid is None:
        return None
    number = _integer if kind == "int" else _real
    if isinstance(grid, list):
        if not grid:
            raise ConfigError(f"{where}: {key}: grid needs at least one value")
        values = [number(v, key, "grid", where) for v in grid]
        outside = [v for v in values if not low <= v <= high]
        if outside:
            raise ConfigError(f"{where}: {key}: grid value {outside[0]} lies outside [{low}, {high}]")
        return values
    if isinstance(grid, int) and not isinstance(grid, bool) and grid >= 1:
        points = np.geomspace(low, high, grid) if log else np.linspace(low, high, grid)
        if kind == "int":
            return sorted({int(round(v)) for v in points})
        return [float(v) for v in points]
    raise ConfigError(f"{where}: {key}: grid must be a list of values or a positive count, got {grid!r}")


def _real(value: Any, key: str, name: str, where: str) -> float:
    # YAML 1.1 reads 1e-4 (no dot) as a string; accept it as the number it is meant to be
    try:
        if isinstance(value, bool):
            raise ValueError
        return float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{where}: {key}: {name} must be a number, got {value!r}") from None


def _integer(value: Any, key: str, name: str, where: str) -> int:
    number = _real(value, key, name, where)
    if number != int(number):
        raise ConfigError(f"{where}: {key}: {name} must be an integer for an int, got {value!r}")
    return int(number)


def _check_key(param: Param, where: str) -> None:
    """Set each value the key can take on a fresh config: unknown keys and bad types fail here."""
    samples = param.choices if param.kind == "categorical" else [param.low, param.high]
    for value in samples:
        try:
            set_value(RunConfig(), param.key, value)
        except ConfigError as err:
            raise ConfigError(f"{where}: {err}") from None
