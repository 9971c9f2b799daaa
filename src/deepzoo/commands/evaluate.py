"""``deepzoo evaluate RUN``: metrics of a trained run on its splits."""

from __future__ import annotations

import argparse
import json


def add_parser(sub) -> None:
    p = sub.add_parser("evaluate", help="metrics of a trained run on its splits")
    p.add_argument("run", help="run folder or name under runs/")
    p.add_argument("--runs-dir", default="runs")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=evaluate)


def evaluate(args: argparse.Namespace) -> int:
    from .. import api
    from ._show import print_metrics

    metrics = api.evaluate(args.run, args.runs_dir)
    if args.json:
        print(json.dumps(metrics, indent=2))
    else:
        print_metrics(metrics, f"evaluation of {args.run}")
    return 0
