"""Run folders: ``runs/<name>/`` with config, metrics, checkpoints, weights, plots and summary.

An existing run is never silently overwritten: without a name the next free one is taken
(``cnn-digits``, ``cnn-digits-2`` ...); an explicit name that exists needs ``--resume`` or
``--overwrite``.
"""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .config import RunConfig
from .errors import ConfigError, TrainingError


def default_name(config: RunConfig) -> str:
    """``<model>-<dataset>``, with the path part of a file spec reduced to its stem."""
    data = config.data.spec.partition("?")[0]
    data = Path(data.partition(":")[2] or data).stem or data
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", f"{config.model.name}-{data}").strip("-")


def prepare_run_dir(config: RunConfig, resume: bool = False, overwrite: bool = False) -> Path:
    """Create (or, on resume, find) the run folder and fix ``config.name``."""
    root = Path(config.runs_dir)
    if resume:
        if not config.name:
            raise ConfigError("--resume needs the run's --name")
        path = root / config.name
        if not (path / "checkpoints" / "last.pt").is_file():
            raise TrainingError(f"{path}: no checkpoint to resume from (checkpoints/last.pt is missing)")
        return path
    if config.name:
        path = root / config.name
        if path.exists():
            if not overwrite:
                raise TrainingError(f"{path} exists; pass --resume to continue it or --overwrite to replace it")
            shutil.rmtree(path)
    else:
        base = default_name(config)
        path, i = root / base, 2
        while path.exists():
            path, i = root / f"{base}-{i}", i + 1
        config.name = path.name
    path.mkdir(parents=True)
    return path


@dataclass
class Run:
    """A finished (or loaded) run: its folder, config, summary and the trained recipe."""

    dir: Path
    config: RunConfig
    summary: dict[str, Any] = field(default_factory=dict)
    recipe: Any = None

    @property
    def metrics(self) -> dict[str, float]:
        """The flat ``<split>/<metric>`` map of ``summary.json``."""
        return self.summary.get("metrics", {})

    @property
    def model(self):
        """The trained model (best weights restored)."""
        return None if self.recipe is None else self.recipe.model


def resolve_run_dir(run: str | Path, runs_dir: str = "runs") -> Path:
    """A run given by path or by name under ``runs_dir``; one-line error when it is not a run."""
    for candidate in (Path(run), Path(runs_dir) / str(run)):
        if (candidate / "config.yaml").is_file():
            return candidate
    raise ConfigError(f"{run}: not a run folder (no config.yaml found there or under {runs_dir}/)")


def read_summary(run_dir: Path) -> dict[str, Any]:
    """``summary.json`` of a run folder (empty when training did not finish)."""
    path = run_dir / "summary.json"
    return json.loads(path.read_text()) if path.is_file() else {}
