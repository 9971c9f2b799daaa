"""``deepzoo tune``: hyperparameter search over any config key with Optuna (see docs/tuning.md)."""

from __future__ import annotations

import argparse
import sys

from .train import add_train_options, transfer_overrides

# Trials run quietly: no progress bars from parallel workers, no per-trial TensorBoard or curve plots
# (``--set train.plots=true`` turns them back on).
TRIAL_DEFAULTS = ["train.tensorboard=false", "train.plots=false"]


def add_parser(sub) -> None:
    from ..tune import PRUNERS, SAMPLERS

    p = sub.add_parser("tune", help="search hyperparameters with Optuna (trials are ordinary runs)")
    add_train_options(p)
    p.add_argument("--space", required=True, metavar="FILE.yaml", help="search space: config key → distribution")
    p.add_argument("--trials", type=int, help="the study's total number of trials; a larger N continues a study "
                                              "(default: the grid's size for grid search, else 20)")
    p.add_argument("--sampler", choices=SAMPLERS, default="tpe", help="how trials are chosen (default tpe)")
    p.add_argument("--pruner", choices=PRUNERS, default="median", help="how poor trials are stopped (default median)")
    p.add_argument("--storage", metavar="URL", help="SQLAlchemy database URL shared by workers on several machines "
                                                    "(default: a journal file in the study folder)")
    p.add_argument("--study", help="study name and folder under runs/ (default tune-MODEL-DATA); "
                                   "the same name resumes or extends a study")
    p.add_argument("--workers", type=int, default=1, help="worker processes on this machine (default 1)")
    p.add_argument("--timeout", type=float, metavar="SECONDS",
                   help="stop starting trials after this long; queued ones wait for the next run")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from .. import api
    from ..tune.results import format_trials, write_report
    from ..tune.space import load_space
    from ..tune.study import describe_storage, prepare
    from ..tune.tables import cell
    from ..tune.workers import run_study

    space = load_space(args.space)
    overrides = transfer_overrides(args)
    common = dict(model=args.model, data=args.data, task=args.task, epochs=args.epochs, seed=args.seed,
                  config=args.config, compile=args.compile, runs_dir=args.runs_dir)
    user_config = api.build_config(**common, overrides=overrides)
    trial_config = api.build_config(**common, overrides=TRIAL_DEFAULTS + overrides + ["train.progress=false"])
    settings = prepare(user_config, trial_config, space, sampler=args.sampler, pruner=args.pruner,
                       name=args.study, storage=args.storage)
    print(f"study {settings.name} in {settings.folder} ({describe_storage(settings)}): "
          f"{settings.direction} {settings.monitor}; sampler {settings.sampler}, pruner {settings.pruner}")
    study, failed = run_study(settings, args.trials, args.workers, timeout=args.timeout)
    report = write_report(study, settings)
    print(format_trials(report.rows, settings.monitor))
    print(", ".join(f"{n} {status}" for status, n in report.counts().items()))
    if report.best is not None:
        shown = " ".join(f"{k}={cell(v)}" for k, v in report.best.params.items())
        print(f"best: trial {report.best.number}, {settings.monitor} {report.best.value:.4g} [{shown}]")
    for what, path in report.files.items():
        print(f"{what}: {path}")
    if report.best is not None:
        print(f"replay the best trial: deepzoo train --config {report.files['best config']}")
    for worker, code in failed:
        print(f"deepzoo: error: worker {worker} exited with status {code} (its output is above)", file=sys.stderr)
    return 1 if failed else 0
