"""A tuning study: its folder, storage, sampler and pruner, and the trial budget kept exact.

A study lives in ``<runs_dir>/<study>/``: ``study.yaml`` (what every worker needs: the trials' base
config, the search space, the monitored metric), the storage (Optuna's journal file ``journal.log``
unless ``--storage`` names a database), ``trials/trial-NNNN/`` (one ordinary run folder per trial)
and the report (``best.yaml``, ``trials.csv``, ``plots/``).

**The budget is a set of slots.** ``--trials N`` is the study's total. The launcher enqueues one
waiting trial per missing slot ``0 … N-1`` (``study.enqueue_trial`` with the slot number as a user
attribute; grid search enqueues the grid points themselves), and workers only run queued trials, so
several workers — on one machine or many — finish exactly N trials between them. A trial lost with
its worker is marked failed and its parameters re-queued under the same slot; a re-run of
``deepzoo tune`` tops the queue up again, so a larger N continues the study and a crashed study
resumes where it stopped. Rare races (two workers asking for the last slot, two launchers topping
up at once) leave a surplus trial, which its worker closes as failed without training — never a
trial run twice.
"""

from __future__ import annotations

import copy
import importlib.util
import re
import time
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import yaml
from optuna.trial import FrozenTrial, TrialState

from ..config import RunConfig, flat_config
from ..engine.early_stopping import infer_mode
from ..errors import ConfigError
from ..run import check_run_name, default_name
from . import PRUNERS, SAMPLERS
from .space import SearchSpace, parse_space

JOURNAL = "journal.log"
SETTINGS = "study.yaml"
# Database storage: each running trial writes a heartbeat; one silent for GRACE_S is failed and re-queued.
HEARTBEAT_S = 10
GRACE_S = 60
SCHEMA_ATTEMPTS = 4
# The journal's lock is held for one append (milliseconds); one untouched this long was left by a
# writer killed mid-append and is broken.
LOCK_GRACE_S = 10


@dataclass
class StudySettings:
    """What every worker of a study needs, saved as ``study.yaml`` in the study folder.

    ``config`` is the trials' base config (per-trial TensorBoard, plots and progress bars off);
    ``user_config`` the same without those defaults — ``best.yaml`` is built from it. The storage URL
    is not saved (it may hold a password): workers get it from their launcher.
    """

    name: str
    dir: str
    sampler: str
    pruner: str
    monitor: str
    direction: str
    space: dict[str, Any]
    config: dict[str, Any]
    user_config: dict[str, Any]
    storage: str | None = None

    @property
    def folder(self) -> Path:
        return Path(self.dir)

    @property
    def search_space(self) -> SearchSpace:
        return parse_space(self.space, f"{self.name} search space")

    @property
    def epochs(self) -> int:
        return int(self.config["train"]["epochs"])

    def save(self) -> None:
        data = asdict(self)
        data.pop("storage")
        (self.folder / SETTINGS).write_text(yaml.safe_dump(data, sort_keys=False))

    @classmethod
    def load(cls, folder: str | Path, storage: str | None = None) -> StudySettings:
        path = Path(folder) / SETTINGS
        if not path.is_file():
            raise ConfigError(f"{folder}: not a study folder (no {SETTINGS})")
        return cls(**yaml.safe_load(path.read_text()), storage=storage)


def masked(url: str) -> str:
    """A storage URL with its password hidden, for messages."""
    return re.sub(r"(://[^:/@]+:)[^@]*@", r"\1***@", url)


def describe_storage(settings: StudySettings) -> str:
    if settings.storage:
        return masked(settings.storage)
    return f"journal file {settings.folder / JOURNAL}"


# -- storage, sampler, pruner ------------------------------------------------------------------------
def open_storage(url: str | None, folder: Path) -> optuna.storages.BaseStorage:
    """The journal file in the study ``folder`` (safe for several processes; Optuna advises against
    SQLite there, which locks under parallel writers), or the SQLAlchemy database ``url``, with
    heartbeats so trials of a dead worker on any machine are failed and re-queued."""
    if not url:
        from optuna.storages.journal import JournalFileBackend, JournalFileOpenLock, JournalStorage

        folder.mkdir(parents=True, exist_ok=True)
        # A lock file, not Optuna's default symlink lock: a symlink with a relative (or moved)
        # target dangles, and Optuna then never sees one left by a killed writer as stale.
        path = str((folder / JOURNAL).resolve())
        return JournalStorage(JournalFileBackend(path, JournalFileOpenLock(path, grace_period=LOCK_GRACE_S)))
    import sqlalchemy.exc

    engine_kwargs = {"connect_args": {"connect_timeout": 10}} if url.startswith(("postgresql", "mysql")) else {}
    try:
        for attempt in range(SCHEMA_ATTEMPTS):
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                    return optuna.storages.RDBStorage(url, engine_kwargs=engine_kwargs,
                                                      heartbeat_interval=HEARTBEAT_S, grace_period=GRACE_S,
                                                      heartbeat_stale_trial_callback=requeue)
            except (sqlalchemy.exc.IntegrityError, sqlalchemy.exc.ProgrammingError):
                # Workers opening a fresh database together race to create Optuna's tables; the
                # loser finds them made on its next try.
                if attempt == SCHEMA_ATTEMPTS - 1:
                    raise
                time.sleep(0.5 + attempt)
    except (sqlalchemy.exc.SQLAlchemyError, ImportError, ValueError) as err:
        reason = str(getattr(err, "orig", None) or err).strip().splitlines()[0]
        raise ConfigError(f"--storage {masked(url)}: cannot open the database ({reason})") from None


def _base_sampler(kind: str, seed: int) -> optuna.samplers.BaseSampler:
    if kind == "tpe":
        return optuna.samplers.TPESampler(seed=seed, constant_liar=True)
    if kind == "cmaes":
        return optuna.samplers.CmaEsSampler(seed=seed)
    return optuna.samplers.RandomSampler(seed=seed)


class TrialSeededSampler(optuna.samplers.BaseSampler):
    """A sampler rebuilt for every trial with a seed drawn from (the run seed, the trial number).

    Optuna keeps no sampler state in the storage, so one seed per process makes parallel workers
    propose the same points and a resumed study replay the ones it tried. Seeding each trial by its
    number instead gives distinct draws across workers and launches, and the same study again for the
    same seed when one worker runs it. Model-based samplers still read the whole history.
    """

    def __init__(self, kind: str, seed: int):
        self.kind = kind
        self.seed = seed
        self.inner = _base_sampler(kind, seed)

    def before_trial(self, study: optuna.Study, trial: FrozenTrial) -> None:
        number_seed = int(np.random.SeedSequence([self.seed, trial.number]).generate_state(1)[0])
        self.inner = _base_sampler(self.kind, number_seed)
        self.inner.before_trial(study, trial)

    def infer_relative_search_space(self, study, trial):
        return self.inner.infer_relative_search_space(study, trial)

    def sample_relative(self, study, trial, search_space):
        return self.inner.sample_relative(study, trial, search_space)

    def sample_independent(self, study, trial, param_name, param_distribution):
        return self.inner.sample_independent(study, trial, param_name, param_distribution)

    def after_trial(self, study, trial, state, values) -> None:
        self.inner.after_trial(study, trial, state, values)


def make_sampler(kind: str, seed: int) -> optuna.samplers.BaseSampler:
    """TPE (Bergstra et al. 2011; with the constant liar so parallel workers spread out), random,
    CMA-ES (Hansen 2016; needs the ``cmaes`` package), or grid — whose points are all queued, so
    its trials need no sampler and a random one stands by; each seeded per trial (see
    :class:`TrialSeededSampler`)."""
    if kind not in SAMPLERS:
        raise ConfigError(f"--sampler {kind!r}: use one of {', '.join(SAMPLERS)}")
    return TrialSeededSampler(kind, seed)


def make_pruner(kind: str, epochs: int) -> optuna.pruners.BasePruner:
    """Stop poor trials early from their per-epoch validation metric.

    ``median``: stop a trial whose value at an epoch is worse than the median of earlier trials at
    the same epoch, once 3 trials completed and from epoch 2 on. ``asha``: asynchronous successive
    halving (Li et al. 2020), rungs every ×4 epochs. ``hyperband`` (Li et al. 2018): brackets of
    successive halving from 1 to ``epochs`` epochs, reduction factor 3.
    """
    if kind == "none":
        return optuna.pruners.NopPruner()
    if kind == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=2)
    if kind == "asha":
        return optuna.pruners.SuccessiveHalvingPruner()
    if kind == "hyperband":
        return optuna.pruners.HyperbandPruner(min_resource=1, max_resource=max(1, epochs))
    raise ConfigError(f"--pruner {kind!r}: use one of {', '.join(PRUNERS)}")


def load_study(settings: StudySettings, storage: optuna.storages.BaseStorage | None = None) -> optuna.Study:
    """The study (created on first use) with its sampler and pruner."""
    storage = storage or open_storage(settings.storage, settings.folder)
    return optuna.create_study(storage=storage, study_name=settings.name, direction=settings.direction,
                               sampler=make_sampler(settings.sampler, int(settings.config.get("seed", 0))),
                               pruner=make_pruner(settings.pruner, settings.epochs), load_if_exists=True)


# -- setting a study up ---------------------------------------------------------------------------------
def resolve_monitor(config: RunConfig) -> str:
    """The metric trials are judged on: ``early_stop.monitor`` or the recipe's default; it must be a
    validation metric, so tuning never selects on the data it trains on."""
    from ..run import training

    probe = copy.deepcopy(config)
    recipe, data = training.build_recipe(probe)  # also fails early on an unknown model or dataset
    config.task = probe.task
    monitor = config.early_stop.monitor or recipe.default_monitor
    valid = data.splits()["valid"]
    if valid is None or len(valid) == 0:
        raise ConfigError(f"{config.data.spec} has no validation split to tune on; "
                          f"set data.valid_fraction (e.g. --set data.valid_fraction=0.2)")
    return monitor


def study_name_for(config: RunConfig) -> str:
    return f"tune-{default_name(config)}"


def prepare(user_config: RunConfig, trial_config: RunConfig, space: SearchSpace, *, sampler: str,
            pruner: str, name: str | None = None, storage: str | None = None) -> StudySettings:
    """Check the request, create (or re-open) the study folder and save ``study.yaml``.

    Re-opening a study with another base config, search space or metric is refused: its earlier
    trials would not be comparable.
    """
    if sampler not in SAMPLERS:
        raise ConfigError(f"--sampler {sampler!r}: use one of {', '.join(SAMPLERS)}")
    if pruner not in PRUNERS:
        raise ConfigError(f"--pruner {pruner!r}: use one of {', '.join(PRUNERS)}")
    if sampler == "cmaes" and importlib.util.find_spec("cmaes") is None:
        raise ConfigError("--sampler cmaes needs the cmaes package (pip install cmaes)")
    if sampler == "grid":
        space.grid()  # every key needs finite grid values
    name = name or study_name_for(user_config)
    check_run_name(name, "--study")
    if storage:
        open_storage(storage, Path(user_config.runs_dir))  # an unreachable database fails before any work
    monitor = resolve_monitor(trial_config)
    for cfg in (user_config, trial_config):
        cfg.task, cfg.early_stop.monitor, cfg.name = trial_config.task, monitor, None
    folder = Path(user_config.runs_dir) / name
    settings = StudySettings(name=name, dir=str(folder), sampler=sampler, pruner=pruner, monitor=monitor,
                             direction="maximize" if infer_mode(monitor) == "max" else "minimize",
                             space=space.to_dict(), config=trial_config.to_dict(),
                             user_config=user_config.to_dict(), storage=storage)
    if (folder / SETTINGS).is_file():
        before = StudySettings.load(folder)
        for what, old, new in (("search space", before.space, settings.space),
                               ("config", flat_config(before.config), flat_config(settings.config))):
            changed = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
            if changed:
                raise ConfigError(f"{folder}: study {name} was started with another {what} ({changed[0]}: "
                                  f"{old.get(changed[0])!r} then, {new.get(changed[0])!r} now); "
                                  f"pass --study NEW_NAME for a new study")
    folder.mkdir(parents=True, exist_ok=True)
    settings.save()
    return settings


# -- the budget -----------------------------------------------------------------------------------------
def trial_status(trial: FrozenTrial) -> str:
    """complete, pruned, running, waiting, failed (its config failed: a NaN loss, a bad value),
    lost (its worker died), crashed (a bug), or surplus (closed unrun; see the module docstring)."""
    if trial.state != TrialState.FAIL:
        return trial.state.name.lower()
    for status in ("surplus", "crashed"):
        if status in trial.user_attrs:
            return status
    return "failed" if "error" in trial.user_attrs else "lost"


def counts(trial: FrozenTrial) -> bool:
    """Whether ``trial`` holds its slot: finished with a result, or running, or queued."""
    return trial_status(trial) in ("complete", "pruned", "failed", "running", "waiting")


def top_up(study: optuna.Study, settings: StudySettings, n_trials: int) -> int:
    """Queue a trial for every slot below ``n_trials`` that no trial holds — with the parameters of
    the slot's lost trial if it has one, so an interrupted trial is re-run — and return how many."""
    study.set_user_attr("n_trials", n_trials)
    trials = study.get_trials(deepcopy=False)
    held = {t.user_attrs.get("slot") for t in trials if counts(t)}
    lost = {t.user_attrs.get("slot"): t for t in trials if trial_status(t) == "lost" and t.params}
    points = settings.search_space.grid() if settings.sampler == "grid" else None
    added = 0
    for slot in range(n_trials):
        if slot in held:
            continue
        if slot in lost:
            requeue(study, lost[slot])
        else:
            study.enqueue_trial(points[slot] if points else {}, user_attrs={"slot": slot})
        added += 1
    return added


def requeue(study: optuna.Study, trial: FrozenTrial) -> None:
    """Queue a lost trial's parameters again under its slot (the storage's stale-trial callback)."""
    attrs = {"slot": trial.user_attrs.get("slot"), "retry_of": trial.number}
    study.enqueue_trial(dict(trial.params), user_attrs=attrs)


def holds_slot(study: optuna.Study, trial: optuna.Trial) -> bool:
    """True when ``trial`` is the one to run its slot: it has a slot within the budget and no
    earlier trial holds the same slot."""
    slot = trial.user_attrs.get("slot")
    if slot is None or slot >= int(study.user_attrs.get("n_trials", slot + 1)):
        return False
    return not any(t.user_attrs.get("slot") == slot and t._trial_id < trial._trial_id and counts(t)
                   for t in study.get_trials(deepcopy=False))
