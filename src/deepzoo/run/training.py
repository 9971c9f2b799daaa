"""Building and training runs: the config from its parts, the data, the recipe, a GAN's judge, the run
folder, then :func:`~deepzoo.engine.fit`; loading a finished run to evaluate or predict. The layer that
builds runs, above the engine and below the tuner (whose trials and seed studies are runs built here);
:mod:`deepzoo.api` is its public face.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from ..config import RunConfig, apply_overrides, flat_config, set_value
from ..data import DataBundle, DatasetMeta, load_dataset
from ..data.targets import SUPERVISED_TASKS
from ..engine.result import Run
from ..errors import ConfigError, Interrupted, one_line
from ..files import write_text_atomic
from ..models import model_entry
from ..recipes import recipe_for_task
from ..recipes.base import Recipe
from .folders import (
    check_run_name,
    new_run_folder,
    read_json,
    read_summary,
    resolve_run_dir,
    resumable_run_folder,
    runs_root,
)


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


#: the splits of a run's data, in order
SPLITS = ("train", "valid", "test")
#: the data options a pretrained weight's preprocessing gives image files: the centre crop is ``size``
WEIGHTS_IMAGE_OPTIONS = ("size", "resize", "interpolation", "mean", "std")


def weights_image_options(cfg: RunConfig) -> dict[str, Any]:
    """What named weights (``--weights imagenet``) bring to image-file data (``imagefolder:``, the named
    photo sets), from their ``transforms()``: the centre crop as ``size``, the evaluation ``resize``, the
    ``interpolation`` and the ``mean``/``std`` the weights were trained with — less the options the user
    gave in the spec or ``--set data.*`` (a ``size`` or ``resize`` of the user's keeps both geometry
    options theirs). Empty for other data and for a local weights file."""
    from ..data import parse_spec, source_meta
    from ..models.pretrained import is_named_weights, resolve_weights

    if not is_named_weights(cfg.model.weights) or not source_meta(cfg.data.spec).get("image_files"):
        return {}
    given = {**parse_spec(cfg.data.spec)[2], **cfg.data.options}
    # a U-Net's named weights are its zoo encoder's (model.encoder)
    steps = resolve_weights(cfg.model.args.get("encoder") or cfg.model.name, cfg.model.weights).preprocessing
    wanted = {"size": steps["crop"], "resize": steps["resize"], "interpolation": steps["interpolation"],
              "mean": steps["mean"], "std": steps["std"]}
    if "size" in given or "resize" in given:
        del wanted["size"], wanted["resize"]
    return {k: v for k, v in wanted.items() if k not in given}


def _load_data(cfg: RunConfig, recipe_cls: type[Recipe] | None = None) -> DataBundle:
    """The run's data, with the recipe's :attr:`~Recipe.data_defaults` and, for image files,
    ``data.memory_budget`` under the user's options — those of the spec (``?normalize=standard``) and of
    ``data.options``, which win in that order. The split seed is the spec's or ``data.options``'
    ``seed``, else the run's."""
    from ..data import parse_spec, source_meta

    defaults = dict(recipe_cls.data_defaults) if recipe_cls else {}
    if source_meta(cfg.data.spec).get("image_files"):
        defaults["memory_budget"] = cfg.data.memory_budget
    query = parse_spec(cfg.data.spec)[2]  # load_dataset lets keyword options override the spec's
    options = {k: v for k, v in defaults.items() if k not in query}
    options.update(cfg.data.options)
    run_level = {"seed": cfg.seed, "task": cfg.task if cfg.task in SUPERVISED_TASKS else None}
    options.update({k: v for k, v in run_level.items() if v is not None and k not in query and k not in options})
    return load_dataset(cfg.data.spec, **options)


def build_recipe(cfg: RunConfig, data: DataBundle | None = None) -> tuple[Recipe, DataBundle]:
    """Load the data, settle the task and build its recipe (the run's modules).

    Named weights' preprocessing (:func:`weights_image_options`) is written into ``cfg.data.options``
    before image files are read, so ``config.yaml`` says how they were read. A supervised run on
    ``size=`` crops held in memory augments them as the data says (``meta.extra["train_augment"]``:
    random-resized crop and flip on the device) unless ``data.augment`` is set; the choice is written
    into the config. A recipe that needs its data in memory (:attr:`~Recipe.streams` False) refuses a
    streamed photo folder in one line."""
    from torch.utils.data import Dataset

    model_task = model_entry(cfg.model.name).meta.get("task", "multiclass")  # unknown names fail here
    # a model with its own task (gan, reconstruct ...) picks its recipe, and so its data defaults, now
    task = cfg.task or (model_task if model_task not in SUPERVISED_TASKS else None)
    recipe_cls = recipe_for_task(task) if task else None
    preprocessing, loaded_here = {}, data is None
    if loaded_here:
        preprocessing = weights_image_options(cfg)
        cfg.data.options.update(preprocessing)
        data = _load_data(cfg, recipe_cls)
    cfg.task = resolve_task(cfg, data.meta)
    recipe_cls = recipe_for_task(cfg.task)
    if not recipe_cls.streams and any(isinstance(s, Dataset) for s in data.splits().values()):
        raise ConfigError(f"task {cfg.task} trains from data held in memory, and {cfg.data.spec} streams (its decoded "
                          f"images, {data.meta.extra.get('decoded_gib', '?')} GiB, exceed data.memory_budget="
                          f"{cfg.data.memory_budget} GiB, or stream=true); raise data.memory_budget or use fewer or "
                          "smaller images")
    augment = data.meta.extra.get("train_augment")
    if augment and cfg.data.augment is None and cfg.task in SUPERVISED_TASKS:
        cfg.data.augment = augment
    recipe = recipe_cls(cfg, data)
    if preprocessing:
        recipe.log_lines.append("data: read as the weights were trained: " + ", ".join(
            f"{k}={v}" for k, v in preprocessing.items()))
    elif loaded_here and data.meta.is_image and getattr(recipe.model, "pretrained", None) is not None:
        crop = recipe.model.pretrained.input_size
        recipe.log_lines.append(f"data: {cfg.data.spec} keeps its own {data.meta.input_shape[1]}×"
                                f"{data.meta.input_shape[2]} images and normalisation; the weights were trained on "
                                f"{crop}×{crop} crops with their own preprocessing, which deepzoo applies to image "
                                "files (imagefolder:, flowers102, oxford-pets)")
    if augment and cfg.data.augment == augment:
        recipe.log_lines.append(f"data: the size= crops are held in memory; training augments them on the device "
                                f"with data.augment={augment}")
    return recipe, data


#: settings a resumed run may change: they decide how long it trains and what it prints, not what
#: each step computes (any other change would make config.yaml describe another model)
RESUMABLE = ("train.epochs", "early_stop.patience", "train.log_every", "train.progress", "train.tensorboard",
             "train.plots", "train.eval_batch_size", "train.device", "data.num_workers")
#: schedules whose shape spans train.epochs, so more epochs would change the rates already used
EPOCH_SPANNING_SCHEDULES = ("cosine", "onecycle", "linear_decay")


def resumed_config(run_dir: Path, settings: list[tuple[str, Any]], overrides: list[str]) -> tuple[RunConfig, list[str]]:
    """The config a resumed run trains with: its saved ``config.yaml`` with the changes asked for
    (``settings`` as (key, value), then ``key=value`` overrides), and those changes as text.

    Only :data:`RESUMABLE` keys may change; anything else is a one-line error that suggests a new run
    from the old config, so ``config.yaml`` always describes what trained.
    """
    path = run_dir / "config.yaml"
    saved = RunConfig.load(path)
    cfg = RunConfig.load(path)
    for key, value in settings:
        if value is not None:
            set_value(cfg, key, value)
    apply_overrides(cfg, overrides)
    cfg.validate()
    old, new = flat_config(saved.to_dict()), flat_config(cfg.to_dict())
    changed = [k for k in dict.fromkeys([*old, *new]) if old.get(k) != new.get(k)]
    for key in changed:
        if key not in RESUMABLE:
            value = new.get(key)
            raise ConfigError(f"--resume cannot change {key} ({old.get(key)!r} → {value!r}): the run would no "
                              f"longer be the one its config.yaml describes; start a new run from it: deepzoo "
                              f"train --config {path} --set {key}={value} --name NEW_NAME")
    if "train.epochs" in changed and cfg.sched.name in EPOCH_SPANNING_SCHEDULES:
        raise ConfigError(f"--resume cannot change train.epochs with sched.name={cfg.sched.name}: the schedule "
                          f"spans the epochs; start a new run: deepzoo train --config {path} --set "
                          f"train.epochs={cfg.train.epochs} --name NEW_NAME")
    return cfg, [f"{k}: {old.get(k)!r} → {new.get(k)!r}" for k in changed]


def resume_command(run_dir: Path) -> str:
    """The command that continues the run in ``run_dir``."""
    root = "" if run_dir.parent == Path("runs") else f" --runs-dir {run_dir.parent}"
    return f"deepzoo train --name {run_dir.name} --resume{root}"


def train(model: str | None = None, data: str | None = None, task: str | None = None, *,
          epochs: int | None = None, seed: int | None = None, name: str | None = None,
          config: str | Path | RunConfig | None = None, overrides: list[str] | None = None,
          resume: bool = False, overwrite: bool = False, compile: bool | None = None,
          runs_dir: str | None = None, echo=print, callbacks: list | None = None, **model_args: Any) -> Run:
    """Train a model on a dataset and return the :class:`Run` (folder, summary, trained recipe).

    ``resume=True`` continues the run ``name`` from its last checkpoint with its saved config; it may
    change only :data:`RESUMABLE` settings (``epochs``, for one), and each change is recorded in
    ``config.yaml``. Every value is range-checked and the data is read before a run folder is created;
    the folder is locked against other processes while training runs (see :mod:`deepzoo.run`).
    ``callbacks`` are called as ``callback(epoch, row)`` after every epoch (see :func:`deepzoo.engine.fit`).
    """
    from ..engine import fit
    from ..runtime import init_distributed, seed_everything

    main = init_distributed().is_main
    folder, notes = None, []
    if resume:
        if config is not None:
            raise ConfigError("--resume reads the run's own config.yaml; --config cannot be given with it")
        if not name:
            raise ConfigError("--resume needs the run's --name")
        probe = RunConfig(name=name, runs_dir=runs_dir or "runs")
        run_dir = runs_root(probe) / check_run_name(name)
        if main:
            folder = resumable_run_folder(probe)
        settings = [("model.name", model), ("data.spec", data), ("task", task), ("train.epochs", epochs),
                    ("seed", seed), ("train.compile", compile)]
        settings += [(f"model.{k}", v) for k, v in model_args.items()]
        try:
            cfg, changes = resumed_config(run_dir, settings, overrides or [])
        except BaseException:
            if folder is not None:
                folder.lock.release()
            raise
        notes = _config_notes(run_dir / "config.yaml")
        if changes:
            notes.append(f"resumed at {_now()}: " + "; ".join(changes))
        if not (run_dir / "checkpoints" / "last.pt").is_file():
            resume = False
            echo(f"{run_dir}: no complete checkpoint yet (it stopped in its first epoch); starting it afresh")
            if folder is not None:
                folder.clear(keep=("config.yaml",))
    else:
        cfg = build_config(model, data, task, epochs, seed, name, config, overrides, compile, runs_dir,
                           **model_args).validate()
        if cfg.name is not None:
            check_run_name(cfg.name)
    try:
        seed_everything(cfg.seed, cfg.train.deterministic)
        recipe, bundle = build_recipe(cfg)
        if main and folder is None:
            folder = new_run_folder(cfg, overwrite=overwrite)
    except BaseException:
        if folder is not None:
            folder.lock.release()
        raise
    run_dir = folder.path if folder is not None else None
    try:
        if folder is not None:
            cfg.save(run_dir / "config.yaml", notes)
            write_text_atomic(run_dir / "meta.json", json.dumps(bundle.meta.to_dict(), indent=2))
            echo(f"run: {run_dir}")
            if folder.removed_temporaries:
                echo(f"removed {len(folder.removed_temporaries)} temporary file(s) an interrupted write left")
        prepare_judge(recipe, cfg)
        if folder is not None:
            for line in recipe.log_lines:
                echo(line)
            skipped = write_skipped_files(run_dir, bundle.meta, echo)
        result = fit(recipe, cfg, run_dir, resume=resume, echo=echo, callbacks=callbacks)
        if folder is not None:
            write_skipped_files(run_dir, bundle.meta, echo, skipped)
            from .inspection import inspect_finished_run

            inspect_finished_run(result, echo)
            from ..report import write_run_report

            echo(f"report: {write_run_report(run_dir, bundle)}")
        return result
    except Interrupted as stop:
        raise Interrupted(f"{stop}; continue with: {resume_command(run_dir)}", stop.status) from None
    except ConfigError:
        # a value only the engine can check (a device, a monitor) failed before anything was trained
        if folder is not None and folder.created and not (run_dir / "checkpoints" / "last.pt").is_file():
            folder.discard()
        raise
    finally:
        if folder is not None:
            folder.lock.release()


def write_skipped_files(run_dir: Path, meta: DatasetMeta, echo=print, known: int = 0) -> int:
    """List the image files left out as unreadable (``skip_bad=true``) in ``skipped_files.txt``, one path
    a line, when there are more than the ``known`` ones already listed, say so, and return their count.
    Called before training and again after it: a streamed folder finds bad files as its workers decode
    them."""
    skipped = meta.extra.get("skipped_files") or []
    if len(skipped) > known:
        write_text_atomic(run_dir / "skipped_files.txt", "".join(f"{path}\n" for path in skipped))
        more = f"{len(skipped) - known} more" if known else str(len(skipped))
        echo(f"data: skipped {more} unreadable image(s), listed in {run_dir / 'skipped_files.txt'}")
    return len(skipped)


def _config_notes(path: Path) -> list[str]:
    """The ``#`` comment lines of a saved config (its resume history), without the ``# ``."""
    return [line[2:] for line in path.read_text().splitlines() if line.startswith("# ")]


def _now() -> str:
    import datetime

    return datetime.datetime.now().isoformat(timespec="seconds")


def load_run(run: str | Path, runs_dir: str = "runs", with_data: bool = True) -> Run:
    """A finished run with its trained weights loaded (best epoch), ready to evaluate or predict.

    ``with_data=False`` rebuilds the recipe from the saved ``meta.json`` alone (no dataset needed).
    """
    from safetensors.torch import load_model

    from ..runtime import choose_device, init_distributed

    run_dir = resolve_run_dir(run, runs_dir)
    cfg = RunConfig.load(run_dir / "config.yaml")
    weights = run_dir / "model.safetensors"
    again = f"`{resume_command(run_dir)}` writes it again from the checkpoints"
    if not weights.is_file():
        raise ConfigError(f"{run_dir}: training did not finish (no model.safetensors); {again}")
    cfg.model.weights = None  # the run's own weights replace any pretrained start
    data = None
    if not with_data:
        meta_dict = read_json(run_dir / "meta.json", "training the run again writes it")
        meta_dict["input_shape"] = tuple(meta_dict["input_shape"])
        data = DataBundle(None, None, None, DatasetMeta(**meta_dict))
    recipe, _ = build_recipe(cfg, data)
    try:
        load_model(recipe.model, str(weights))
    except Exception as err:  # noqa: BLE001 - a truncated or foreign file is the user's to know about
        raise ConfigError(f"{weights}: cannot be read ({type(err).__name__}: {one_line(err)}); {again}") from None
    recipe.setup(choose_device(cfg.train.device, init_distributed()))
    recipe.model.eval()
    if with_data:
        prepare_judge(recipe, cfg)
    return Run(run_dir, cfg, read_summary(run_dir), recipe)


def pretrained_run(model: str, weights: str = "imagenet", device: str = "auto") -> Run:
    """A zoo model with torchvision's named ``weights`` as a run that predicts without training (no
    folder): the weights' categories are its classes (ImageNet's 1000) and their ``transforms()`` its
    evaluation view — resize, centre crop, interpolation, mean and std — so ``predict`` reads an image as
    torchvision would for these weights."""
    from ..data.image_geometry import ImageGeometry
    from ..models.pretrained import check_arguments, is_named_weights, resolve_weights
    from ..runtime import choose_device, init_distributed

    if not is_named_weights(weights):
        raise ConfigError(f"--weights {weights}: predicting without a run needs named weights (imagenet or "
                          "torchvision:ENUM), whose class names are known; train a run from a local file")
    named = resolve_weights(model, weights)
    check_arguments(named, {})
    steps = named.preprocessing
    geometry = ImageGeometry(3, size=(steps["crop"], steps["crop"]), resize=steps["resize"],
                             interpolation=steps["interpolation"])
    meta = DatasetMeta(name=named.meta.get("dataset", "ImageNet"), task="multiclass", input_shape=geometry.shape,
                       num_classes=len(named.categories), class_names=list(named.categories), mean=steps["mean"],
                       std=steps["std"], extra={"image_geometry": geometry.to_dict()})
    cfg = RunConfig()
    cfg.model.name, cfg.model.weights, cfg.task, cfg.train.device = model, weights, "multiclass", device
    recipe = recipe_for_task("multiclass")(cfg, DataBundle(None, None, None, meta))
    recipe.setup(choose_device(device, init_distributed()))
    recipe.model.eval()
    return Run(None, cfg, {}, recipe)


def evaluate(run: str | Path, runs_dir: str = "runs", data: str | None = None, split: str | None = None,
             echo=print) -> dict[str, float]:
    """Metrics of a trained run on its train, valid and test splits (the same split as in training), or —
    with ``data``, a dataset spec — on every row of that new labelled dataset, as ``data/<metric>``.
    ``split`` (train, valid or test) scores that split alone and writes its error analysis into
    ``<run>/errors/<split>/`` (:mod:`deepzoo.run.error_analysis`), echoing its log lines.

    The new data goes through the run's own preprocessing, read from its ``meta.json``: its table encoding
    (categories, imputed values), input normalisation, class names and target standardisation; none is
    recomputed on the new data. ``data/unseen_categories`` counts the table cells whose category the run
    never saw (encoded as unknown)."""
    if split is not None and split not in SPLITS:
        raise ConfigError(f"--split {split}: use one of {', '.join(SPLITS)}")
    if data is None:
        loaded = load_run(run, runs_dir)
        recipe = loaded.recipe
        metrics: dict[str, float] = {}
        for name in (split,) if split else SPLITS:
            loader = recipe.loader(name, loaded.config.train.eval_batch_size)
            metrics.update({f"{name}/{k}": v for k, v in recipe.evaluate(loader, name).items()})
        if split is not None:
            from .inspection import analyse_split

            analyse_split(loaded, split, echo)
        return metrics
    if split is not None:
        raise ConfigError("evaluate: --split scores one of the run's own splits; --data scores a new dataset")
    loaded = load_run(run, runs_dir, with_data=False)
    recipe, meta = loaded.recipe, loaded.recipe.data.meta
    if loaded.config.task not in SUPERVISED_TASKS:
        raise ConfigError(f"evaluate --data scores supervised runs (binary, multiclass, multilabel, regression); "
                          f"{loaded.dir} is a {loaded.config.task} run")
    recipe.data = load_dataset(data, fitted=meta)
    scores = recipe.evaluate(recipe.loader("test", loaded.config.train.eval_batch_size), "test")
    metrics = {f"data/{k}": v for k, v in scores.items()}
    if "table" in meta.extra:  # a table's categories the run never saw (encoded as unknown)
        metrics["data/unseen_categories"] = float(sum(recipe.data.meta.extra.get("unseen_categories", {}).values()))
    return metrics


def predict(run: str | Path, inputs: str | Path | torch.Tensor, runs_dir: str = "runs") -> dict[str, Any]:
    """Predictions of a trained run for new inputs: a file (CSV, NPZ, an image or a folder of
    images) or a tensor in the training data's raw units; the training normalisation is applied."""
    from ..data.inputs import read_inputs

    loaded = load_run(run, runs_dir, with_data=False)
    meta = loaded.recipe.data.meta
    x = read_inputs(inputs, meta)
    try:
        return loaded.recipe.predict(x)
    except NotImplementedError:
        raise ConfigError(f"task {loaded.config.task} has no predict step") from None


# -- a GAN's judge classifier: built here, before training, and handed to the recipe ------------------
def load_judge(run_dir: str | Path, device: torch.device):
    """The classifier of a finished run folder (its best weights) as a GAN's judge of its samples."""
    from ..metrics.gan import JudgeClassifier

    run = load_run(run_dir, with_data=False)
    return JudgeClassifier(run.dir, run.model, run.recipe.data.meta, device)


def train_judge(config: RunConfig, item_shape: tuple[int, ...], folder: Path | None, epochs: int,
                device: torch.device):
    """Train a small classifier on a GAN run's dataset and load it as the judge of its samples.

    It reads the same dataset with the same options and seed — so the same train/valid/test split, and
    the held-out splits stay unseen — under the classifier's own normalisation: a ``cnn`` for images
    and signals, an ``mlp`` for points. Its run folder is ``folder/classifier`` (a temporary folder
    without one); a finished one is reused, so a resumed GAN run keeps its judge.
    """
    import tempfile

    if folder is None:
        folder = Path(tempfile.mkdtemp(prefix="deepzoo-judge-"))
    run_dir = Path(folder) / "classifier"
    if not (run_dir / "model.safetensors").is_file():
        cfg = RunConfig()
        cfg.model.name = "cnn" if len(item_shape) >= 2 else "mlp"
        cfg.data.spec = config.data.spec
        cfg.data.options = {k: v for k, v in config.data.options.items() if k != "normalize"}
        cfg.seed, cfg.train.epochs, cfg.train.device = config.seed, epochs, str(device)
        cfg.train.progress = cfg.train.tensorboard = cfg.train.plots = cfg.train.checkpoint = False
        train(config=cfg, name="classifier", runs_dir=str(folder), overwrite=True, echo=lambda *a, **k: None)
    return load_judge(run_dir, device)


def prepare_judge(recipe: Recipe, cfg: RunConfig) -> None:
    """Give a recipe that scores samples with a classifier (``recipe.judge_source()``) its judge —
    loaded, or trained on the run's data — before training starts, so that no training run starts
    inside an evaluation. The global RNG states are restored afterwards: the run draws the same
    numbers with or without a judge."""
    source = recipe.judge_source()
    from ..runtime import choose_device, init_distributed, rng_preserved

    judge = None
    if source is not None:
        device = choose_device(cfg.train.device, init_distributed())
        kind, where = source
        with rng_preserved():
            judge = (load_judge(where, device) if kind == "run"
                     else train_judge(cfg, tuple(recipe.data.meta.input_shape), *where, device))
    recipe.use_judge(judge)
