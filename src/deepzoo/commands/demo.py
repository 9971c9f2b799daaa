"""``deepzoo demo``: the default job — a small CNN on the embedded digits, with early stopping."""

from __future__ import annotations

import argparse

DEMO = dict(model="cnn", data="digits", epochs=40,
            overrides=["train.batch_size=32", "optim.lr=0.003", "early_stop.patience=6"])


def add_parser(sub) -> None:
    p = sub.add_parser("demo", help="train the default job (a small CNN on digits) and show the result")
    p.add_argument("--runs-dir", default="runs")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from .. import api
    from ._show import print_metrics

    result = api.train(**DEMO, runs_dir=args.runs_dir)
    print()
    print_metrics(result.metrics, f"demo: cnn on digits, best epoch {result.summary['best_epoch']} "
                                  f"of {result.summary['epochs_run']}, {result.summary['seconds']:.1f} s")
    print(f"\nrun folder: {result.dir}  (plots in {result.dir / 'plots'})")
    return 0
