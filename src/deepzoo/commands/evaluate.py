"""``deepzoo evaluate RUN [--data SPEC | --split NAME]``: metrics of a trained run on its splits, or on a new
labelled dataset; ``--split`` writes that split's error analysis into ``RUN/errors/NAME/``; ``--retrieval CORPUS``
scores a language model's test documents with and without in-context retrieval (:mod:`deepzoo.text.retrieval_lm`)."""

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
    ralm = p.add_argument_group("retrieval-augmented language models (Ram et al. 2023)")
    ralm.add_argument("--retrieval", metavar="CORPUS", help="an lm run's test perplexity with and without BM25 "
                      "passages placed before the context: train (its training documents) or text:FILE_OR_DIR")
    ralm.add_argument("--stride", type=int, default=4, help="retrieve every this many tokens (default 4)")
    ralm.add_argument("--query-tokens", type=int, default=32, help="query with the last this many tokens (default 32)")
    ralm.add_argument("--k", type=int, default=1, help="passages retrieved each time (default 1)")
    p.add_argument("--runs-dir", default="runs")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=evaluate)


def evaluate(args: argparse.Namespace) -> int:
    from .. import api
    from ._show import print_metrics

    echo = (lambda *a, **k: None) if args.json else print  # --json prints nothing but the JSON
    if args.retrieval:
        from ..errors import ConfigError
        from ..text.retrieval_lm import RetrievalSettings, evaluate_run

        if args.data or args.split:
            raise ConfigError("--retrieval scores the run's own test documents; it takes no --data or --split")
        settings = RetrievalSettings(args.stride, args.query_tokens, args.k)
        metrics = {f"test/{k}": v for k, v in evaluate_run(api.load_run(args.run, args.runs_dir).recipe,
                                                           args.retrieval, settings).items()}
    else:
        metrics = api.evaluate(args.run, args.runs_dir, data=args.data, split=args.split, echo=echo)
    if args.json:
        print(json.dumps(metrics, indent=2))
    else:
        where = f" on {args.data}" if args.data else ""
        if args.retrieval:
            where = (f" on its test documents, BM25 passages from {args.retrieval} (every {args.stride} tokens, "
                     f"query the last {args.query_tokens}, k={args.k})")
        print_metrics(metrics, f"evaluation of {args.run}{where}")
    return 0
