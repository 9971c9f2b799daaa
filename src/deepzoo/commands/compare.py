"""``deepzoo compare RUN...``: the runs' differing config keys, final metrics, what each cost (wall time,
parameters, multiply-adds) and validation curves."""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import Any


def add_parser(sub) -> None:
    p = sub.add_parser("compare", help="compare runs: config differences, final metrics, validation curves")
    p.add_argument("runs", nargs="+", metavar="RUN", help="run folders or names under --runs-dir")
    p.add_argument("--runs-dir", default="runs", help="where run names are looked up (default runs/)")
    p.add_argument("--out", default="compare.png", help="PNG of the validation curves (default compare.png)")
    p.add_argument("--html", default="compare.html", metavar="FILE",
                   help="the runs side by side on one self-contained page (default compare.html)")
    p.set_defaults(func=run)


def run_cost(run_dir: Path, summary: dict[str, Any]) -> tuple[float | None, int | None, int | None]:
    """A run's training wall time in seconds (``summary.json``), parameters and multiply-adds per item
    (``model_size.json``, written since deepzoo records it; for an older run the parameters are counted
    from ``model.safetensors``' header and the multiply-adds are unknown)."""
    seconds = summary.get("seconds")
    size = run_dir / "model_size.json"
    if size.is_file():
        from ..run import read_json

        recorded = read_json(size, "training the run again writes it")
        return seconds, recorded.get("parameters"), recorded.get("macs")
    weights = run_dir / "model.safetensors"
    if not weights.is_file():
        return seconds, None, None
    from safetensors import safe_open

    with safe_open(str(weights), "pt") as f:
        return seconds, sum(math.prod(f.get_slice(k).get_shape()) for k in f.keys()), None


def cost_table(records: list) -> str:
    """Rows: wall time, parameters, multiply-adds (MACs) of one item; columns: the runs ('-' unknown)."""
    from ..tune.tables import format_table

    costs = [run_cost(r.dir, r.summary) for r in records]
    names = ("wall time (s)", "parameters", "MACs")
    return format_table(["cost", *(r.label for r in records)],
                        [[name, *(c[i] for c in costs)] for i, name in enumerate(names)])


def run(args: argparse.Namespace) -> int:
    from ..errors import ConfigError
    from ..plots.tune import plot_run_curves
    from ..report import write_compare_report
    from ..tune.compare import config_table, load_runs, metrics_table

    if len(args.runs) < 2:
        raise ConfigError("compare needs at least two runs")
    records = load_runs(args.runs, args.runs_dir)
    tables = {"config (keys that differ)": config_table(records), "final metrics": metrics_table(records),
              "cost": cost_table(records)}
    print("\n\n".join(f"{title}\n{content}" for title, content in tables.items()))
    path = plot_run_curves({r.label: r.history for r in records}, args.out)
    print(f"\ncurves: {path}")
    print(f"report: {write_compare_report(records, tables, args.html)}")
    return 0
