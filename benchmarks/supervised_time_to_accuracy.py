"""Time to accuracy on the tutorial's supervised problems and MNIST-1D: deepzoo versus the tutorial's
plain PyTorch loop and scikit-learn's MLPClassifier, on the CPU (issue 3's benchmark).

Problems (the target is the test accuracy, checked after every epoch by every contender):

- ``moons`` — ``mlp`` (2 → 64 → 64 → one logit: binary), Adam lr 1e-3, batch 64, target 0.86;
- ``digits`` — ``lenet`` (the tutorial's CNN, the model docs/supervised.md documents for digits),
  Adam lr 1e-3, batch 64, label smoothing 0.1, target 0.97;
- ``mnist1d`` MLP — ``mlp`` with the MNIST-1D paper's hidden sizes (100, 100), Adam lr 1e-2, batch 100,
  weight decay 1e-4 (without it the MLP peaks at 0.67–0.68), target 0.68 (the paper's MLP accuracy);
- ``mnist1d`` CNN — ``mnist1d_cnn`` (the paper's CNN), Adam lr 1e-2, batch 50, target 0.94 (the
  paper's CNN accuracy; the paper's batch of 100 reaches 0.94 on one seed of three, batch 50 on all).

Every contender starts from the same seed and trains on the same split: deepzoo's training split for
that seed (64% of moons/digits, as their documented commands use; all 4000 MNIST-1D training items, as
the paper does) and is scored on the held-out test split after every epoch; the time stops at the
first epoch whose test accuracy reaches the target, and the test accuracy reported is that epoch's.

- **deepzoo**: what ``api.train`` does (``build_config``, ``seed_everything``, ``build_recipe``,
  ``fit``) with the test split in the place of the validation split and a callback that raises
  ``deepzoo.engine.StopTraining`` once ``valid/accuracy`` reaches the target. The time is the sum of
  the engine's per-epoch ``seconds`` up to that epoch (training + the per-epoch evaluation with
  torchmetrics); "with set-up" adds config, data, model building and the final evaluation. No run
  folder is written, so there are no checkpoints, TensorBoard files, plots or progress bar — the plain
  loop has none either — and early stopping is off (the callback stops the run).
- **plain loop**: the tutorial's loop — the same model (built by ``create_model`` from the same seed),
  loss, optimizer, learning rate and batch size (weight decay on every parameter, as ``Adam(...,
  weight_decay=)`` does; deepzoo leaves biases out); a ``DataLoader`` over the training tensors
  (``shuffle=True``), ``loss.item()`` every step as the tutorial writes it, and the accuracy of the
  whole test split after every epoch. For moons the tutorial trains full batch: that is the "plain,
  full batch" row; "plain, DataLoader b64" is the same loop with deepzoo's batch of 64.
- **scikit-learn**: ``MLPClassifier`` (solver adam, same hidden sizes, learning rate and batch size,
  ``alpha`` = weight decay × batch, the same L2 gradient) trained one epoch at a time with
  ``partial_fit``, scored after every epoch — for the MLP problems, and for digits as an MLP (64, 64)
  baseline (not LeNet).

Target (issue 3): deepzoo reaches every accuracy at least 2× faster than the plain loop. "time vs
deepzoo" is a contender's time to target over deepzoo's (above 1: deepzoo is faster); "epoch vs
deepzoo" compares the time of one epoch, which separates the speed of the loop from the number of
epochs a seed happens to need.

Run: ``python benchmarks/supervised_time_to_accuracy.py [--seeds 0 1 2] [--problems moons digits ...]
[--lr LR]``. ``--lr`` sets every contender's learning rate for the chosen problems (equal settings
still): ``--problems digits --lr 3e-3`` gives LeNet's epochs to 0.97 at 3e-3.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import platform
import statistics
import time
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

from deepzoo import api
from deepzoo.data import load_dataset
from deepzoo.engine import StopTraining, fit
from deepzoo.models import accepted_kwargs, create_model
from deepzoo.recipes.supervised import data_kwargs
from deepzoo.runtime import seed_everything

QUIET = ["train.checkpoint=false", "train.tensorboard=false", "train.plots=false", "train.progress=false",
         "early_stop.enabled=false"]


@dataclass
class Problem:
    key: str
    data: str
    model: str
    target: float
    lr: float
    batch: int
    max_epochs: int
    model_args: dict = field(default_factory=dict)
    label_smoothing: float = 0.0
    weight_decay: float = 0.0
    sklearn_hidden: tuple[int, ...] | None = None  # None: no scikit-learn contender
    note: str = ""
    full_train: bool = False  # train on everything but the test split (the MNIST-1D paper's 4000 items)


PROBLEMS = {
    "moons": Problem("moons", "moons", "mlp", 0.86, 1e-3, 64, 300, sklearn_hidden=(64, 64)),
    "digits": Problem("digits", "digits", "lenet", 0.97, 1e-3, 64, 60, label_smoothing=0.1,
                      sklearn_hidden=(64, 64), note="scikit-learn: MLP (64, 64), not LeNet"),
    "mnist1d-mlp": Problem("mnist1d-mlp", "mnist1d", "mlp", 0.68, 1e-2, 100, 200, model_args={"hidden": [100, 100]},
                           weight_decay=1e-4, sklearn_hidden=(100, 100), full_train=True),
    "mnist1d-cnn": Problem("mnist1d-cnn", "mnist1d", "mnist1d_cnn", 0.94, 1e-2, 50, 150, full_train=True),
}


def load_splits(p: Problem, seed: int):
    """deepzoo's split for ``seed`` with the test split in the place of the validation split, so the
    test accuracy is what every contender checks after each epoch. ``full_train`` problems train on
    all but the test split (MNIST-1D: the paper's 4000 items); the others on deepzoo's default training
    split (64% of the data), as their documented commands do."""
    bundle = load_dataset(p.data, seed=seed, valid_fraction=0 if p.full_train else None)
    bundle.valid = bundle.test
    return bundle


@dataclass
class Result:
    reached: bool  # False: the target was not reached within max_epochs
    seconds: float  # until the target (or the last epoch)
    epochs: int
    test_accuracy: float
    best_test: float
    with_setup: float | None = None


# -- deepzoo ---------------------------------------------------------------------------------------
def run_deepzoo(p: Problem, seed: int) -> Result:
    seconds: list[float] = []
    best = [0.0]

    def stop_at_target(epoch: int, row: dict) -> None:
        seconds.append(row["seconds"])
        best[0] = max(best[0], row["valid/accuracy"])
        if row["valid/accuracy"] >= p.target:
            raise StopTraining(f"valid accuracy {row['valid/accuracy']:.4f} >= {p.target}")

    overrides = QUIET + [f"optim.lr={p.lr}", f"train.batch_size={p.batch}", f"optim.weight_decay={p.weight_decay}"]
    if p.label_smoothing:
        overrides.append(f"task_args.label_smoothing={p.label_smoothing}")
    # api.train's own steps (config, seeding, data, recipe, fit) without the run folder, on the
    # bundle whose "valid" split is the test split
    start = time.perf_counter()
    cfg = api.build_config(p.model, p.data, epochs=p.max_epochs, seed=seed, overrides=overrides, **p.model_args)
    seed_everything(cfg.seed, cfg.train.deterministic)
    recipe, _ = api.build_recipe(cfg, load_splits(p, seed))
    run = fit(recipe, cfg, None, echo=lambda *a, **k: None, callbacks=[stop_at_target])
    whole = time.perf_counter() - start
    return Result(best[0] >= p.target, sum(seconds), len(seconds), run.metrics["test/accuracy"], best[0], whole)


# -- the tutorial's plain loop ------------------------------------------------------------------------
def _accuracy(model, x: torch.Tensor, y: torch.Tensor, binary: bool) -> float:
    model.eval()
    with torch.no_grad():
        out = model(x)
        pred = (out.squeeze(1) > 0).long() if binary else out.argmax(1)
    model.train()
    return (pred == y).float().mean().item()


def run_plain(p: Problem, seed: int, full_batch: bool = False) -> Result:
    bundle = load_splits(p, seed)
    binary = bundle.meta.task == "binary"
    torch.manual_seed(seed)
    kwargs = {**accepted_kwargs(p.model, data_kwargs(bundle.meta)), **p.model_args}
    model = create_model(p.model, **kwargs)
    optimizer = torch.optim.Adam(model.parameters(), lr=p.lr, weight_decay=p.weight_decay)
    x, y = bundle.train.x, bundle.train.y
    xv, yv = bundle.valid.x, bundle.valid.y
    loader = DataLoader(TensorDataset(x, y), batch_size=len(x) if full_batch else p.batch, shuffle=True)

    def loss_fn(out, target):
        if binary:
            return F.binary_cross_entropy_with_logits(out.squeeze(1), target.float())
        return F.cross_entropy(out, target, label_smoothing=p.label_smoothing)

    epochs = p.max_epochs * (10 if full_batch else 1)  # full batch: one step per epoch
    start, best, reached = time.perf_counter(), 0.0, False
    epoch = 0
    while epoch < epochs:
        epoch += 1
        running = 0.0
        for xb, yb in loader:
            optimizer.zero_grad()
            loss = loss_fn(model(xb), yb)
            loss.backward()
            optimizer.step()
            running += loss.item()
        accuracy = _accuracy(model, xv, yv, binary)
        best = max(best, accuracy)
        if accuracy >= p.target:
            reached = True
            break
    elapsed = time.perf_counter() - start
    return Result(reached, elapsed, epoch, accuracy, best)


# -- scikit-learn ----------------------------------------------------------------------------------------
def run_sklearn(p: Problem, seed: int) -> Result | None:
    if p.sklearn_hidden is None:
        return None
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    bundle = load_splits(p, seed)
    flat = lambda split: split.x.reshape(len(split), -1).numpy()  # noqa: E731
    x, y, xv, yv = flat(bundle.train), bundle.train.y.numpy(), flat(bundle.valid), bundle.valid.y.numpy()
    clf = MLPClassifier(hidden_layer_sizes=p.sklearn_hidden, solver="adam", learning_rate_init=p.lr,
                        batch_size=p.batch, alpha=p.weight_decay * p.batch, random_state=seed, shuffle=True)
    classes = np.unique(y)
    start, best, reached = time.perf_counter(), 0.0, False
    epoch = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        while epoch < p.max_epochs:
            epoch += 1
            clf.partial_fit(x, y, classes=classes)
            accuracy = clf.score(xv, yv)
            best = max(best, accuracy)
            if accuracy >= p.target:
                reached = True
                break
    elapsed = time.perf_counter() - start
    return Result(reached, elapsed, epoch, accuracy, best)


# -- the table ------------------------------------------------------------------------------------------
def summarise(results: list[Result]) -> dict:
    """Medians over seeds; the time to target over the seeds that reached it."""
    reached = [r for r in results if r.reached]
    med = statistics.median
    return {
        "reached": len(reached), "seeds": len(results),
        "seconds": med(r.seconds for r in reached) if reached else None,
        "with_setup": med(r.with_setup for r in reached) if reached and reached[0].with_setup else None,
        "per_epoch": med(r.seconds / r.epochs for r in results),
        "epochs": med(r.epochs for r in reached) if reached else None,
        "test": med(r.test_accuracy for r in reached) if reached else None,
        "best_test": med(r.best_test for r in results),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--problems", nargs="+", default=list(PROBLEMS), choices=list(PROBLEMS))
    parser.add_argument("--threads", type=int, default=2, help="torch threads (CI has 2)")
    parser.add_argument("--lr", type=float, help="every contender's learning rate (default: each problem's)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {os.cpu_count()} CPUs "
          f"({platform.processor() or platform.machine()}), load average {load:.2f} at start; "
          f"seeds {args.seeds}; medians over seeds" + ("" if args.lr is None else f"; learning rate {args.lr:g}"))
    header = (f"{'problem':<12} {'target':>6}  {'contender':<22} {'reached':>7} {'s to target':>11} "
              f"{'epochs':>6} {'test acc':>8} {'ms/epoch':>8} {'time vs deepzoo':>15} {'epoch vs deepzoo':>16}")
    print(header)
    print("-" * len(header))
    for key in args.problems:
        p = PROBLEMS[key] if args.lr is None else dataclasses.replace(PROBLEMS[key], lr=args.lr)
        contenders = {"deepzoo": lambda s, p=p: run_deepzoo(p, s)}
        if p.data == "moons":
            contenders["plain, full batch"] = lambda s, p=p: run_plain(p, s, full_batch=True)
            contenders["plain, DataLoader b64"] = lambda s, p=p: run_plain(p, s)
        else:
            contenders["plain loop"] = lambda s, p=p: run_plain(p, s)
        if p.sklearn_hidden:
            contenders["scikit-learn MLP"] = lambda s, p=p: run_sklearn(p, s)
        # seed by seed, every contender in turn, so that a change in the machine's load hits them all
        per_seed = [{name: fn(seed) for name, fn in contenders.items()} for seed in args.seeds]
        rows = {name: summarise([runs[name] for runs in per_seed]) for name in contenders}
        zoo = rows["deepzoo"]["seconds"]
        for name, r in rows.items():
            if r["seconds"] is None:
                secs, epochs, test = "—", "—", "—"
            else:
                secs, epochs, test = f"{r['seconds']:.3f}", f"{r['epochs']:.0f}", f"{r['test']:.4f}"
            other = name != "deepzoo"
            ratio = f"{r['seconds'] / zoo:.2f}×" if r["seconds"] and zoo and other else ""
            per_epoch = f"{r['per_epoch'] / rows['deepzoo']['per_epoch']:.2f}×" if other else ""
            print(f"{key:<12} {p.target:>6.2f}  {name:<22} {r['reached']:>5}/{r['seeds']} {secs:>11} {epochs:>6} "
                  f"{test:>8} {1000 * r['per_epoch']:>8.1f} {ratio:>15} {per_epoch:>16}")
            if r["reached"] < r["seeds"]:
                print(f"{'':<12} {'':>6}  {'':<22} best test accuracy {r['best_test']:.4f} (median over seeds)")
        if rows["deepzoo"]["with_setup"] is not None:
            print(f"{'':<12} {'':>6}  deepzoo with set-up (data, model, final evaluation): "
                  f"{rows['deepzoo']['with_setup']:.2f} s")
        if p.note:
            print(f"{'':<12} {'':>6}  ({p.note})")
    print(f"load average {os.getloadavg()[0]:.2f} at the end")


if __name__ == "__main__":
    main()
