"""Seed studies: one command trained over several seeds, every metric averaged (docs/gnn.md).

A study of runs, not a recipe: it builds runs through :mod:`deepzoo.run.training`, as the tuner does,
so it lives beside the tuner (and, like the rest of this package but Optuna's modules, imports no Optuna).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from ..files import write_text_atomic
from ..run import check_run_name, default_name, training


def seed_study(model: str, data: str, task: str | None = None, seeds: int = 10, runs_dir: str = "runs",
               name: str | None = None, overrides: list[str] | None = None, overwrite: bool = False,
               echo=None, **train_args: Any) -> dict[str, Any]:
    """Train the same command with seeds 0 … ``seeds``−1 (runs ``seed<k>`` with ``<runs_dir>/<name>`` as
    their runs root; the seed sets the initialisation, the negatives and, for generated sets, the
    split) and average every metric of ``summary.json``, the baselines included. Writes and returns
    ``<runs_dir>/<name>/seeds.json`` with ``mean``, ``std`` (population) and ``per_seed``."""
    base = check_run_name(name or default_name(training.build_config(model, data)) + "-seeds")
    per_seed = []
    for seed in range(seeds):
        run = training.train(model, data, task, seed=seed, name=f"seed{seed}", runs_dir=str(Path(runs_dir) / base),
                        overrides=list(overrides or []), overwrite=overwrite,
                        echo=echo or (lambda *a, **k: None), **train_args)
        per_seed.append(run.metrics)
    keys = [k for k in per_seed[0] if all(k in m for m in per_seed)]
    result = {
        "model": model, "data": data, "task": task, "seeds": seeds, "overrides": list(overrides or []),
        "mean": {k: float(np.mean([m[k] for m in per_seed])) for k in keys},
        "std": {k: float(np.std([m[k] for m in per_seed])) for k in keys},
        "per_seed": per_seed,
    }
    write_text_atomic(Path(runs_dir) / base / "seeds.json", json.dumps(result, indent=2))
    return result
