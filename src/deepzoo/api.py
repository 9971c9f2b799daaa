"""The Python API: the same verbs as the CLI.

>>> from deepzoo import api
>>> run = api.train(model="cnn", data="digits", epochs=5)
>>> run.metrics["test/accuracy"]
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from .config import RunConfig, apply_overrides, set_value
from .data import DataBundle, DatasetMeta, load_dataset
from .errors import ConfigError
from .models import create_model, model_entry
from .recipes import recipe_for_task
from .recipes.base import Recipe
from .run import Run, prepare_run_dir, read_summary, resolve_run_dir
from .tasks import SUPERVISED_TASKS

__all__ = ["build_config", "create_model", "evaluate", "load_dataset", "load_run", "predict", "train"]


def build_config(model: str | None = None, data: str | None = None, task: str | None = None,
                 epochs: int | None = None, seed: int | None = None, name: str | None = None,
                 config: str | Path | RunConfig | None = None, overrides: list[str] | None = None,
                 compile: bool | None = None, runs_dir: str | None = None, **model_args: Any) -> RunConfig:
    """A :class:`RunConfig` from a YAML file (or defaults), then explicit arguments, then ``key=value``
    overrides — later sources win."""
    if isinstance(config, RunConfig):
        cfg = config
    else:
        cfg = RunConfig.load(config) if config else RunConfig()
    for key, value in (("model.name", model), ("data.spec", data), ("task", task), ("train.epochs", epochs),
                       ("seed", seed), ("name", name), ("train.compile", compile), ("runs_dir", runs_dir)):
        if value is not None:
            set_value(cfg, key, value)
    cfg.model.args.update(model_args)
    apply_overrides(cfg, overrides or [])
    return cfg


GRAPH_TASKS = ("node", "link", "graph")


def resolve_task(cfg: RunConfig, meta: DatasetMeta) -> str:
    """The run's task: ``--task`` if given, else the model's own (gan, reconstruct, node ...), else the
    one the targets imply for classifiers and regressors. A graph network takes the graph task its
    data is made for (``sbm-link`` → link, ``cycles`` → graph)."""
    if cfg.task:
        return cfg.task
    model_task = model_entry(cfg.model.name).meta.get("task", "multiclass")
    if model_task in SUPERVISED_TASKS or (model_task in GRAPH_TASKS and meta.task in GRAPH_TASKS):
        return meta.task
    return model_task


def _load_data(cfg: RunConfig, recipe_cls: type[Recipe] | None = None) -> DataBundle:
    options = dict(getattr(recipe_cls, "data_defaults", {}) or {})
    options.update(cfg.data.options)
    options.setdefault("seed", cfg.seed)
    if cfg.task in SUPERVISED_TASKS:
        options.setdefault("task", cfg.task)
    return load_dataset(cfg.data.spec, **options)


def build_recipe(cfg: RunConfig, data: DataBundle | None = None) -> tuple[Recipe, DataBundle]:
    """Load the data, settle the task and build its recipe (the run's modules)."""
    model_task = model_entry(cfg.model.name).meta.get("task", "multiclass")  # unknown names fail here
    # a model with its own task (gan, reconstruct ...) picks its recipe, and so its data defaults, now
    task = cfg.task or (model_task if model_task not in SUPERVISED_TASKS else None)
    recipe_cls = recipe_for_task(task) if task else None
    data = data or _load_data(cfg, recipe_cls)
    cfg.task = resolve_task(cfg, data.meta)
    recipe_cls = recipe_for_task(cfg.task)
    return recipe_cls(cfg, data), data


def train(model: str | None = None, data: str | None = None, task: str | None = None, *,
          epochs: int | None = None, seed: int | None = None, name: str | None = None,
          config: str | Path | RunConfig | None = None, overrides: list[str] | None = None,
          resume: bool = False, overwrite: bool = False, compile: bool | None = None,
          runs_dir: str | None = None, echo=print, callbacks: list | None = None, **model_args: Any) -> Run:
    """Train a model on a dataset and return the :class:`Run` (folder, summary, trained recipe).

    ``resume=True`` continues the run ``name`` from its last checkpoint with its saved config.
    ``callbacks`` are called as ``callback(epoch, row)`` after every epoch (see :func:`deepzoo.engine.fit`).
    """
    from .engine import fit
    from .engine.runtime import init_distributed, seed_everything

    if resume:
        if not name:
            raise ConfigError("resume needs the run's name")
        run_dir = resolve_run_dir(name, runs_dir or "runs")
        cfg = RunConfig.load(run_dir / "config.yaml")
        if epochs is not None:
            cfg.train.epochs = int(epochs)
        apply_overrides(cfg, overrides or [])
    else:
        cfg = build_config(model, data, task, epochs, seed, name, config, overrides, compile, runs_dir,
                           **model_args)
    seed_everything(cfg.seed, cfg.train.deterministic)
    recipe, bundle = build_recipe(cfg)
    main = init_distributed().is_main
    if resume:
        prepare_run_dir(cfg, resume=True)
    elif main:
        run_dir = prepare_run_dir(cfg, overwrite=overwrite)
    else:
        run_dir = None
    if main:
        cfg.save(run_dir / "config.yaml")
        (run_dir / "meta.json").write_text(json.dumps(bundle.meta.to_dict(), indent=2))
        echo(f"run: {run_dir}")
        for line in recipe.log_lines:
            echo(line)
    return fit(recipe, cfg, run_dir, resume=resume, echo=echo, callbacks=callbacks)


def load_run(run: str | Path, runs_dir: str = "runs", with_data: bool = True) -> Run:
    """A finished run with its trained weights loaded (best epoch), ready to evaluate or predict.

    ``with_data=False`` rebuilds the recipe from the saved ``meta.json`` alone (no dataset needed).
    """
    from safetensors.torch import load_model

    from .engine.runtime import choose_device, init_distributed

    run_dir = resolve_run_dir(run, runs_dir)
    cfg = RunConfig.load(run_dir / "config.yaml")
    weights = run_dir / "model.safetensors"
    if not weights.is_file():
        raise ConfigError(f"{run_dir}: training did not finish (no model.safetensors)")
    cfg.model.weights = None  # the run's own weights replace any pretrained start
    data = None
    if not with_data:
        meta_dict = json.loads((run_dir / "meta.json").read_text())
        meta_dict["input_shape"] = tuple(meta_dict["input_shape"])
        data = DataBundle(None, None, None, DatasetMeta(**meta_dict))
    recipe, _ = build_recipe(cfg, data)
    load_model(recipe.model, str(weights))
    recipe.setup(choose_device(cfg.train.device, init_distributed()))
    recipe.model.eval()
    return Run(run_dir, cfg, read_summary(run_dir), recipe)


def evaluate(run: str | Path, runs_dir: str = "runs") -> dict[str, float]:
    """Metrics of a trained run on its train, valid and test splits (the same split as in training)."""
    loaded = load_run(run, runs_dir)
    recipe = loaded.recipe
    metrics: dict[str, float] = {}
    for split in ("train", "valid", "test"):
        loader = recipe.loader(split, loaded.config.train.eval_batch_size)
        metrics.update({f"{split}/{k}": v for k, v in recipe.evaluate(loader, split).items()})
    return metrics


def predict(run: str | Path, inputs: str | Path | torch.Tensor, runs_dir: str = "runs") -> dict[str, Any]:
    """Predictions of a trained run for new inputs: a file (CSV, NPZ, an image or a folder of
    images) or a tensor in the training data's raw units; the training normalisation is applied."""
    from .data.inputs import read_inputs

    loaded = load_run(run, runs_dir, with_data=False)
    meta = loaded.recipe.data.meta
    x = read_inputs(inputs, meta)
    try:
        return loaded.recipe.predict(x)
    except NotImplementedError:
        raise ConfigError(f"task {loaded.config.task} has no predict step") from None
