"""Tuning benchmark: the best validation accuracy of LeNet on digits found within a fixed wall-time
budget by deepzoo's grid search, random search and TPE (both with median pruning), and by Optuna
used directly — TPE and median pruning over a hand-written objective with a plain PyTorch loop.

Every contender searches the same space (learning rate × batch size) with the same trial length
(``--epochs``) on the same split (deepzoo's digits split, seed 0), one process, and gets the same
budget: it starts no new trial after ``--budget`` seconds. The grid is 4 learning rates × 3 batch
sizes; random search and TPE draw the learning rate log-uniformly over the grid's range. A trial's
value is its best validation accuracy over its epochs; only complete trials count. ``epochs/s`` —
epochs trained (pruned trials' included) per second of the contender's wall time — shows what a
trial costs beyond its training (run folders, checkpoints, evaluation, storage).

The figure the issue asks for: deepzoo's TPE with pruning should reach the grid's best accuracy in
at most 1/3 of the time the grid search took.

Run: ``python benchmarks/tuning.py [--budget 120] [--epochs 8] [--threads 1]`` (about 4 × budget).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import platform
import tempfile
import time
from datetime import datetime

import optuna
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

from deepzoo import cli
from deepzoo.data import load_dataset
from deepzoo.models import create_model

LRS = [3e-4, 1e-3, 3e-3, 1e-2]
BATCHES = [32, 64, 128]
GRID_SPACE = f"optim.lr: {LRS}\ntrain.batch_size: {BATCHES}\n"
SEARCH_SPACE = (f"optim.lr: {{type: float, low: {LRS[0]}, high: {LRS[-1]}, log: true}}\n"
                f"train.batch_size: {BATCHES}\n")


def run_deepzoo(sampler: str, pruner: str, space: str, budget: float, epochs: int, workdir: str):
    """``deepzoo tune`` as a user runs it; returns [(seconds since start, value)] of complete trials,
    the number of pruned trials, the epochs trained and the seconds taken."""
    path = os.path.join(workdir, f"{sampler}.yaml")
    with open(path, "w") as f:
        f.write(space)
    study_name = f"bench-{sampler}"
    start_wall, start = datetime.now(), time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        code = cli.main(["tune", "--model", "lenet", "--data", "digits", "--space", path, "--sampler", sampler,
                         "--pruner", pruner, "--epochs", str(epochs), "--trials", "200", "--timeout", str(budget),
                         "--study", study_name, "--runs-dir", os.path.join(workdir, "runs"),
                         "--set", "early_stop.monitor=valid/accuracy"])
    total = time.perf_counter() - start
    assert code == 0, f"deepzoo tune --sampler {sampler} exited with {code}"
    from optuna.storages.journal import JournalFileBackend, JournalStorage

    storage = JournalStorage(JournalFileBackend(os.path.join(workdir, "runs", study_name, "journal.log")))
    trials = optuna.load_study(study_name=study_name, storage=storage).trials
    done = [((t.datetime_complete - start_wall).total_seconds(), t.value) for t in trials
            if t.state == optuna.trial.TrialState.COMPLETE]
    pruned = sum(t.state == optuna.trial.TrialState.PRUNED for t in trials)
    epochs_trained = sum(t.user_attrs.get("epochs", 0) for t in trials)
    return sorted(done), pruned, epochs_trained, total


def run_plain_optuna(budget: float, epochs: int):
    """The hand-written baseline: Optuna's TPE + median pruner over a plain PyTorch loop."""
    data = load_dataset("digits", seed=0, task="multiclass")
    x, y = data.train.x, data.train.y
    xv, yv = data.valid.x, data.valid.y
    start = time.perf_counter()
    done: list[tuple[float, float]] = []
    epochs_trained = 0

    def objective(trial: optuna.Trial) -> float:
        nonlocal epochs_trained
        lr = trial.suggest_float("optim.lr", LRS[0], LRS[-1], log=True)
        batch = trial.suggest_categorical("train.batch_size", BATCHES)
        torch.manual_seed(0)
        model = create_model("lenet", num_classes=10, in_chans=1, input_shape=(1, 8, 8))
        opt = torch.optim.Adam(model.parameters(), lr=lr)
        loader = DataLoader(TensorDataset(x, y), batch_size=batch, shuffle=True)
        best = 0.0
        for epoch in range(1, epochs + 1):
            model.train()
            for xb, yb in loader:
                opt.zero_grad()
                F.cross_entropy(model(xb), yb).backward()
                opt.step()
            model.eval()
            with torch.no_grad():
                accuracy = (model(xv).argmax(1) == yv).float().mean().item()
            best = max(best, accuracy)
            epochs_trained += 1
            trial.report(accuracy, epoch)
            if trial.should_prune():
                raise optuna.TrialPruned()
        done.append((time.perf_counter() - start, best))
        return best

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=0),
                                pruner=optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=2))
    study.optimize(objective, timeout=budget)
    pruned = sum(t.state == optuna.trial.TrialState.PRUNED for t in study.trials)
    return done, pruned, epochs_trained, time.perf_counter() - start


def time_to_reach(done: list[tuple[float, float]], target: float) -> float | None:
    """Seconds until a complete trial first scored at least ``target``."""
    return next((t for t, v in done if v >= target - 1e-9), None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=float, default=120.0, help="seconds per contender (default 120)")
    parser.add_argument("--epochs", type=int, default=8, help="epochs per trial (default 8)")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch threads (default 1: LeNet on 8×8 digits gains nothing from more, and on a "
                             "busy machine OpenMP's spinning threads slow it several-fold)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, optuna {optuna.__version__}, {platform.processor() or platform.machine()}, "
          f"{torch.get_num_threads()} threads; budget {args.budget:g} s per contender, {args.epochs} epochs per "
          f"trial; grid {len(LRS)} lr × {len(BATCHES)} batch sizes")
    results = {}
    with tempfile.TemporaryDirectory() as workdir:
        results["deepzoo grid"] = run_deepzoo("grid", "none", GRID_SPACE, args.budget, args.epochs, workdir)
        results["deepzoo random + median pruning"] = run_deepzoo("random", "median", SEARCH_SPACE, args.budget,
                                                                 args.epochs, workdir)
        results["deepzoo TPE + median pruning"] = run_deepzoo("tpe", "median", SEARCH_SPACE, args.budget,
                                                              args.epochs, workdir)
    results["Optuna TPE + median, plain loop"] = run_plain_optuna(args.budget, args.epochs)

    grid_done = results["deepzoo grid"][0]
    grid_best = max(v for _, v in grid_done)
    grid_time = grid_done[-1][0]  # the grid knows its best once its last trial is in
    print(f"\ngrid: {len(grid_done)} of {len(LRS) * len(BATCHES)} points in {grid_time:.1f} s, "
          f"best validation accuracy {grid_best:.4f} (first reached at {time_to_reach(grid_done, grid_best):.1f} s)")
    header = (f"{'contender':<34}{'complete':>9}{'pruned':>7}{'epochs/s':>9}{'best acc':>9}{'t to grid best':>16}"
              f"{'÷ grid time':>12}")
    print(header + "\n" + "-" * len(header))
    for name, (done, pruned, epochs, seconds) in results.items():
        best = max((v for _, v in done), default=float("nan"))
        reach = time_to_reach(done, grid_best)
        shown = f"{reach:.1f} s" if reach is not None else "not reached"
        ratio = f"{reach / grid_time:.2f}" if reach is not None else "-"
        print(f"{name:<34}{len(done):>9}{pruned:>7}{epochs / seconds:>9.2f}{best:>9.4f}{shown:>16}{ratio:>12}")
    tpe = time_to_reach(results["deepzoo TPE + median pruning"][0], grid_best)
    verdict = "met" if tpe is not None and tpe <= grid_time / 3 else "NOT met"
    print(f"\ntarget (deepzoo TPE + pruning reaches the grid's best in ≤ 1/3 of the grid's time): {verdict}")


if __name__ == "__main__":
    main()
