"""``deepzoo evaluate RUN [--data SPEC | --split NAME]``: metrics of a trained run on its splits, or on a new
labelled dataset; ``--split`` writes that split's error analysis into ``RUN/errors/NAME/``."""

from __future__ import annotations

import argparse
import json


def add_parser(sub) -> None:
    p = sub.add_parser("evaluate", help="metrics of a trained run on its splits, or on a new labelled dataset")
    p.add_argument("run", help="run folder or name under runs/")
    p.add_argument("--data", help="score the run on this labelled dataset (a spec such as csv:new.csv) with the "
                                  "run's own preprocessing; metrics are named data/...")
    p.add_argument("--split", choices=("train", "valid", "test"),
                   help="score this split alone and write its error analysis (per-class scores, confused pairs, "
                        "top losses; residuals for regression) into RUN/errors/SPLIT/")
    p.add_argument("--runs-dir", default="runs")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=evaluate)


def evaluate(args: argparse.Namespace) -> int:
    from .. import api
    from ._show import print_metrics

    echo = (lambda *a, **k: None) if args.json else print  # --json prints nothing but the JSON
    metrics = api.evaluate(args.run, args.runs_dir, data=args.data, split=args.split, echo=echo)
    if args.json:
        print(json.dumps(metrics, indent=2))
    else:
        print_metrics(metrics, f"evaluation of {args.run}" + (f" on {args.data}" if args.data else ""))
    return 0
