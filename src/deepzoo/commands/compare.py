"""``deepzoo compare RUN...``: the runs' differing config keys, final metrics and validation curves."""

from __future__ import annotations

import argparse


def add_parser(sub) -> None:
    p = sub.add_parser("compare", help="compare runs: config differences, final metrics, validation curves")
    p.add_argument("runs", nargs="+", metavar="RUN", help="run folders or names under --runs-dir")
    p.add_argument("--runs-dir", default="runs", help="where run names are looked up (default runs/)")
    p.add_argument("--out", default="compare.png", help="PNG of the validation curves (default compare.png)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..errors import ConfigError
    from ..plots.tune import plot_run_curves
    from ..tune.compare import config_table, load_runs, metrics_table

    if len(args.runs) < 2:
        raise ConfigError("compare needs at least two runs")
    records = load_runs(args.runs, args.runs_dir)
    print("config (keys that differ)")
    print(config_table(records))
    print("\nfinal metrics")
    print(metrics_table(records))
    path = plot_run_curves({r.label: r.history for r in records}, args.out)
    print(f"\ncurves: {path}")
    return 0
