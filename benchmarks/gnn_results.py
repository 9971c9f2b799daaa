"""The results table of docs/gnn.md: each graph task trained over several seeds beside its baselines.

    python benchmarks/gnn_results.py                     # every setting, 10 seeds
    python benchmarks/gnn_results.py karate --seeds 10   # one setting

Each setting is one ``deepzoo train`` command (with ``--seed k``) run through
:func:`deepzoo.tune.seeds.seed_study`, which averages every metric of ``summary.json`` — the
baselines are computed by the same command. Plots and TensorBoard are off to save time; checkpoints
stay on. Results go to ``runs/gnn-results/<setting>/seeds.json`` and a Markdown table is printed.
"""

from __future__ import annotations

import argparse
import json
import time

import torch

from deepzoo.tune.seeds import seed_study

QUIET = ["train.plots=false", "train.tensorboard=false", "train.progress=false"]

# name: (model, data, task, overrides, [(column, metric key)])
NODE = [("GNN", "test/accuracy"), ("MLP (features)", "test/baseline_mlp_accuracy"),
        ("label propagation (edges)", "test/baseline_label_propagation_accuracy")]
LINK = [("GNN", "test/auc"), ("common neighbours", "test/baseline_common_neighbours_auc"),
        ("Adamic-Adar", "test/baseline_adamic_adar_auc")]
GRAPH = [("GNN", "test/accuracy"), ("MLP (size + degree histogram)", "test/baseline_degree_mlp_accuracy")]
SETTINGS = {
    "karate": ("gnn", "karate", "node", [], NODE),
    "karate-no-input-dropout": ("gnn", "karate", "node", ["model.input_dropout=0"], NODE),
    "karate-gcn": ("gcn", "karate", "node", [], NODE),
    "karate-gcn-64": ("gcn", "karate", "node", ["model.hidden=64", "model.dropout=0"], NODE),
    "sbm": ("gnn", "sbm", "node", [], NODE),
    "sbm-gcn": ("gcn", "sbm", "node", [], NODE),
    "sbm-random-features": ("gnn", "sbm?features=random", "node", [], NODE),
    "sbm-link": ("gnn", "sbm-link", "link", [], LINK),
    "sbm-link-layer-norm": ("gnn", "sbm-link", "link", ["model.norm=layer"], LINK),
    "sbm-link-gcn": ("gnn", "sbm-link", "link", ["model.conv=gcn"], LINK),
    "cycles": ("gnn", "cycles", "graph", [], GRAPH),
    "cycles-sum": ("gnn", "cycles", "graph", ["model.readout=sum"], GRAPH),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("settings", nargs="*", help=f"any of {', '.join(SETTINGS)} (default: all)")
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--runs-dir", default="runs/gnn-results")
    parser.add_argument("--overwrite", action="store_true")
    args = parser.parse_args()
    unknown = sorted(set(args.settings) - set(SETTINGS))
    if unknown:
        parser.error(f"unknown setting(s) {', '.join(unknown)}; known: {', '.join(SETTINGS)}")
    torch.set_num_threads(1)
    rows = []
    for name in args.settings or list(SETTINGS):
        model, data, task, overrides, columns = SETTINGS[name]
        started = time.perf_counter()
        result = seed_study(model, data, task, seeds=args.seeds, runs_dir=args.runs_dir, name=name,
                            overrides=QUIET + overrides, overwrite=args.overwrite)
        seconds = time.perf_counter() - started
        cells = [f"{label} {result['mean'][key]:.3f} ± {result['std'][key]:.3f}" for label, key in columns]
        command = f"deepzoo train --model {model} --data {data} --task {task}" + "".join(
            f" --set {o}" for o in overrides)
        rows.append({"setting": name, "command": command, "cells": cells, "seconds": round(seconds, 1),
                     "mean": result["mean"], "std": result["std"]})
        print(f"| {name} | `{command}` | " + " | ".join(cells) + f" | {seconds / args.seeds:.1f} s/run |",
              flush=True)
    with open(f"{args.runs_dir}/results.json", "w") as f:
        json.dump(rows, f, indent=2)


if __name__ == "__main__":
    main()
