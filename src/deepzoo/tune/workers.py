"""Workers: processes that take queued trials of a study and run each as an ordinary deepzoo run.

Each trial trains through :func:`deepzoo.run.training.train` in its own run folder
(``<study>/trials/trial-NNNN``), reporting the monitored validation metric to Optuna after every
epoch (``trial.report``) so the study's pruner can stop it (``trial.should_prune`` raises
``optuna.TrialPruned`` out of the training loop). Early stopping inside a trial stays on; the
trial's value is the best value of the metric over its epochs.

A worker records its host, process id and process start time on each trial it runs. Before taking a
trial, a worker fails the running trials whose process on this host is gone (killed, crashed) and
re-queues their parameters — the journal file has no heartbeats; on a database, Optuna's heartbeats
do the same for workers on other machines. ``python -m deepzoo.tune.workers STUDY_DIR --worker I``
is how ``deepzoo tune --workers K`` starts its K processes.
"""

from __future__ import annotations

import argparse
import math
import os
import socket
import subprocess
import sys
import time
import warnings
from datetime import datetime
from pathlib import Path
from typing import Any

import optuna
from optuna.trial import TrialState

from ..config import RunConfig
from ..errors import ConfigError, DeepzooError, Interrupted
from .study import StudySettings, holds_slot, load_study, open_storage, requeue, top_up, trial_status
from .tables import cell

STORAGE_ENV = "DEEPZOO_TUNE_STORAGE"
# A running trial with no worker recorded this long after it started was lost between pop and record.
UNCLAIMED_S = 120
DEFAULT_TRIALS = 20


class TrialFailed(Exception):
    """A trial whose config could not train (a NaN loss, an invalid sampled value): recorded as failed."""


class SurplusTrial(Exception):
    """A trial beyond the budget or a duplicate of a slot: closed without training."""


# -- worker liveness ------------------------------------------------------------------------------------
def _proc_stat(pid: int) -> tuple[str, int] | None:
    """(state, start time in clock ticks since boot) from ``/proc/PID/stat``; None off Linux."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text.rpartition(")")[2].split()  # the command name may hold spaces and parentheses
    return fields[0], int(fields[19])


def worker_identity() -> dict[str, Any]:
    """Who runs a trial: host, pid and the process's start time (so a reused pid is not mistaken)."""
    stat = _proc_stat(os.getpid())
    return {"host": socket.gethostname(), "pid": os.getpid(), "started": stat[1] if stat else None}


def process_alive(pid: int, started: int | None) -> bool:
    """Whether the process ``pid`` that started at ``started`` still runs on this host."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    stat = _proc_stat(pid)
    if stat is None:
        return True
    state, start = stat
    return state not in ("Z", "X") and (started is None or start == started)


def recover_lost(study: optuna.Study, echo=print) -> int:
    """Fail the running trials of dead workers on this host and re-queue their parameters."""
    host = socket.gethostname()
    recovered = 0
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        worker = trial.user_attrs.get("worker")
        if worker is None:
            started = trial.datetime_start or datetime.now()
            if (datetime.now() - started).total_seconds() < UNCLAIMED_S:
                continue
            reason = "no worker took it"
        elif worker["host"] != host or process_alive(worker["pid"], worker.get("started")):
            continue
        else:
            reason = f"worker process {worker['pid']} on {host} is gone"
        storage = study._storage
        try:
            storage.set_trial_user_attr(trial._trial_id, "lost", reason)
            if not storage.set_trial_state_values(trial._trial_id, TrialState.FAIL):
                continue
        except optuna.exceptions.UpdateFinishedTrialError:
            continue  # another worker got there first and re-queued it
        requeue(study, study._storage.get_trial(trial._trial_id))
        echo(f"trial {trial.number} was lost ({reason}); its parameters are queued again")
        recovered += 1
    return recovered


# -- one trial ------------------------------------------------------------------------------------------
class PruningReporter:
    """Engine callback: report the monitored metric to Optuna each epoch and stop the run when the
    pruner says so; keeps the best value, which becomes the trial's objective."""

    def __init__(self, trial: optuna.Trial, monitor: str, direction: str):
        self.trial = trial
        self.monitor = monitor
        self.sign = 1.0 if direction == "maximize" else -1.0
        self.best = math.nan
        self.best_epoch = 0
        self.epochs = 0

    def __call__(self, epoch: int, row: dict[str, float]) -> None:
        value = float(row[self.monitor])
        self.epochs = epoch
        self.trial.report(value, epoch)
        if math.isfinite(value) and (math.isnan(self.best) or self.sign * (value - self.best) > 0):
            self.best, self.best_epoch = value, epoch
        if self.trial.should_prune():
            raise optuna.TrialPruned(f"pruned at epoch {epoch} ({self.monitor} {value:.4g})")


class TrialObjective:
    """The objective a worker hands to ``study.optimize``: one queued trial → one deepzoo run."""

    def __init__(self, settings: StudySettings, echo=print):
        self.settings = settings
        self.space = settings.search_space
        self.base = RunConfig.from_dict(settings.config)
        self.echo = echo

    def __call__(self, trial: optuna.Trial) -> float:
        from ..run import training

        if not holds_slot(trial.study, trial):
            trial.set_user_attr("surplus", True)
            raise SurplusTrial(f"trial {trial.number} is beyond the study's budget")
        trial.set_user_attr("worker", worker_identity())
        values = self.space.suggest(trial)
        config = self.space.apply(self.base, values)
        config.name = f"trial-{trial.number:04d}"
        config.runs_dir = str(self.settings.folder / "trials")
        trial.set_user_attr("run", f"trials/{config.name}")
        shown = " ".join(f"{k}={cell(v)}" for k, v in values.items())
        reporter = PruningReporter(trial, self.settings.monitor, self.settings.direction)
        start = time.perf_counter()

        def record() -> float:
            seconds = round(time.perf_counter() - start, 2)
            trial.set_user_attr("epochs", reporter.epochs)
            trial.set_user_attr("best_epoch", reporter.best_epoch)
            trial.set_user_attr("seconds", seconds)
            return seconds

        try:
            training.train(config=config, overwrite=True, echo=lambda *a, **k: None, callbacks=[reporter])
        except optuna.TrialPruned as pruned:
            self.echo(f"trial {trial.number}: {pruned} [{shown}] {record():.1f} s")
            raise
        except DeepzooError as err:
            trial.set_user_attr("error", str(err))
            self.echo(f"trial {trial.number}: failed: {err} [{shown}] {record():.1f} s")
            raise TrialFailed(str(err)) from None
        except KeyboardInterrupt:
            trial.set_user_attr("lost", "interrupted")  # its parameters are queued again next time
            raise
        except Interrupted as stop:  # SIGTERM/SIGINT: the trial is queued again, the worker stops
            trial.set_user_attr("lost", "interrupted")
            raise Interrupted(f"{stop.signal_name} stopped trial {trial.number}; it is queued again: rerun the "
                              "same `deepzoo tune` command to continue the study", stop.status) from None
        except Exception as err:
            trial.set_user_attr("crashed", repr(err))
            raise
        seconds = record()
        self.echo(f"trial {trial.number}: {self.settings.monitor} {reporter.best:.4g} (epoch {reporter.best_epoch} "
                  f"of {reporter.epochs}) [{shown}] {seconds:.1f} s")
        return reporter.best


def run_worker(settings: StudySettings, echo=print, timeout: float | None = None) -> int:
    """Take queued trials of the study until none is left — or, with ``timeout``, until that many
    seconds have passed (a trial under way finishes; the rest stay queued). Returns how many this
    worker took."""
    deadline = None if timeout is None else time.monotonic() + timeout
    optuna.logging.set_verbosity(optuna.logging.ERROR)  # each trial prints its own line
    study = load_study(settings)
    objective = TrialObjective(settings, echo)
    ran = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        while True:
            recover_lost(study, echo)
            if not study.get_trials(deepcopy=False, states=(TrialState.WAITING,)):
                return ran
            if deadline is not None and time.monotonic() >= deadline:
                echo(f"time is up ({timeout:g} s): the queued trials wait for the next run")
                return ran
            study.optimize(objective, n_trials=1, catch=(TrialFailed, SurplusTrial))
            ran += 1


def run_study(settings: StudySettings, n_trials: int | None, workers: int = 1, echo=print,
              timeout: float | None = None) -> tuple[optuna.Study, list[tuple[int, int]]]:
    """Bring the study's queue up to ``n_trials`` slots and run its workers: in this process for
    one, as ``workers`` subprocesses otherwise; ``timeout`` seconds stop them taking new trials.
    Returns the study and the (worker, exit status) of workers that failed."""
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    if workers < 1:
        raise ConfigError(f"--workers {workers}: need at least 1")
    grid = len(settings.search_space.grid()) if settings.sampler == "grid" else None
    if n_trials is None:
        n_trials = grid or DEFAULT_TRIALS
    if n_trials < 1:
        raise ConfigError(f"--trials {n_trials}: need at least 1")
    if grid is not None and n_trials > grid:
        echo(f"the grid has {grid} points: the study runs {grid} trials, not {n_trials}")
        n_trials = grid
    storage = open_storage(settings.storage, settings.folder)
    trials_dir = settings.folder / "trials"
    is_new = settings.name not in {s.study_name for s in storage.get_all_studies()}
    if is_new and trials_dir.is_dir() and any(trials_dir.iterdir()):
        raise ConfigError(f"{trials_dir} holds trials of a study this storage does not know; "
                          f"pass another --study name or remove the folder")
    study = load_study(settings, storage)
    recover_lost(study, echo)
    queued = top_up(study, settings, n_trials)
    done = sum(trial_status(t) in ("complete", "pruned", "failed") for t in study.get_trials(deepcopy=False))
    echo(f"study {settings.name}: {n_trials} trials in all, {done} done, {queued} newly queued")
    if workers == 1:
        run_worker(settings, echo, timeout)
        return study, []
    env = dict(os.environ)
    if settings.storage:
        env[STORAGE_ENV] = settings.storage
    command = [sys.executable, "-m", "deepzoo.tune.workers", str(settings.folder)]
    if timeout is not None:
        command += ["--timeout", str(timeout)]
    procs = [subprocess.Popen([*command, "--worker", str(i)], env=env) for i in range(workers)]
    try:
        codes = [p.wait() for p in procs]
    except BaseException:
        for p in procs:
            p.terminate()
            p.wait()
        raise
    return study, [(i, code) for i, code in enumerate(codes) if code != 0]


def main(argv: list[str] | None = None) -> int:
    """``python -m deepzoo.tune.workers STUDY_DIR --worker I``: one worker process of a study."""
    parser = argparse.ArgumentParser(prog="python -m deepzoo.tune.workers")
    parser.add_argument("study_dir")
    parser.add_argument("--worker", type=int, default=0, help="this worker's number, shown in its output")
    parser.add_argument("--timeout", type=float, help="stop taking trials after this many seconds")
    args = parser.parse_args(argv)
    settings = StudySettings.load(args.study_dir, os.environ.get(STORAGE_ENV) or None)

    def echo(*parts) -> None:
        print(f"[worker {args.worker}]", *parts, flush=True)

    try:
        run_worker(settings, echo, args.timeout)
    except DeepzooError as err:
        print(f"deepzoo: error: {err}", file=sys.stderr)
        return 2
    except Interrupted as stop:
        print(f"deepzoo: {stop}", file=sys.stderr)
        return stop.status
    return 0


if __name__ == "__main__":
    sys.exit(main())
