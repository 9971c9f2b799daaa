"""``deepzoo lr-find``: the learning-rate range test (Smith 2017) for a model and dataset."""

from __future__ import annotations

import argparse
from pathlib import Path

from .train import add_train_options, transfer_overrides


def add_parser(sub) -> None:
    p = sub.add_parser("lr-find", help="learning-rate range test: loss against an exponentially growing LR")
    add_train_options(p)
    p.add_argument("--start", type=float, default=1e-7, help="first learning rate (default 1e-7)")
    p.add_argument("--end", type=float, default=10.0, help="last learning rate (default 10)")
    p.add_argument("--steps", type=int, default=100, help="training steps from start to end (default 100)")
    p.add_argument("--diverge", type=float, default=4.0,
                   help="stop once the smoothed loss exceeds this multiple of its best (default 4)")
    p.add_argument("--out", help="PNG file of the curve (default runs/lr-find/MODEL-DATA.png; a CSV goes beside it)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from .. import api
    from ..plots.tune import plot_lr_find
    from ..run import default_name
    from ..tune.lr_find import find_lr, save_result

    config = api.build_config(args.model, args.data, args.task, seed=args.seed, config=args.config,
                              overrides=transfer_overrides(args), runs_dir=args.runs_dir)
    result, _ = find_lr(config, start=args.start, end=args.end, steps=args.steps, diverge=args.diverge)
    out = Path(args.out) if args.out else Path(config.runs_dir) / "lr-find" / f"{default_name(config)}.png"
    marks = {"suggested (minimum / 10)": result.suggestion, "minimum": result.minimum_lr}
    if result.steepest_lr is not None:
        marks["steepest descent"] = result.steepest_lr
    plot_lr_find(result.lrs, result.losses, result.smoothed, marks, out)
    save_result(result, out.with_suffix(".csv"))
    print(f"lr-find: {config.model.name} on {config.data.spec}, {config.optim.name}, "
          f"{len(result.lrs)} steps; stopped: {result.stopped}")
    print(f"suggested learning rate: {result.suggestion:.3g} — {result.rule}")
    steepest = "none (it never fell)" if result.steepest_lr is None else f"{result.steepest_lr:.3g}"
    print(f"smoothed loss lowest at lr {result.minimum_lr:.3g}; steepest descent at lr {steepest}")
    print(f"plot: {out}\nrecord: {out.with_suffix('.csv')}")
    print(f"train with it: --set optim.lr={result.suggestion:.3g}")
    return 0
