"""The figures of docs/data.md's "Real tables" walk-through: scikit-learn's bundled tables as CSV files,
trained by the documented ``deepzoo train`` commands beside scikit-learn's own linear model on the same
split, then a generated table with text columns and missing cells, predicted and scored on new rows.

    python benchmarks/sklearn_tables.py                 # the page's figures
    python benchmarks/sklearn_tables.py --epochs 5      # a quick check that the script works

The baseline is fitted on the run's own training rows (already normalised with the training split's
statistics) and scored on its test rows: ``LogisticRegression`` for the classification tables,
``LinearRegression`` for diabetes (R², which standardising the target does not change). Wall times are
those of ``api.train`` (reading the CSV, training, evaluation) on whatever machine runs the script.
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from pathlib import Path

import numpy as np
from sklearn import datasets
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.metrics import r2_score

from deepzoo import api

sys.path.insert(0, str(Path(__file__).resolve().parent))
from docs_figures import machine  # noqa: E402  (the sibling script's one-line machine description)

QUIET = ["train.progress=false", "train.plots=false", "train.tensorboard=false"]
TABLES = ("iris", "wine", "breast_cancer", "diabetes")


def write_sklearn_table(folder: Path, name: str) -> Path:
    """scikit-learn's ``load_<name>()`` as ``<name>.csv``: its feature columns, then ``target`` (class
    names for the classification tables)."""
    data = getattr(datasets, f"load_{name}")()
    target = [f"{v:g}" for v in data.target] if name == "diabetes" else [data.target_names[v] for v in data.target]
    path = folder / f"{name}.csv"
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow([*data.feature_names, "target"])
        writer.writerows([f"{v:.6g}" for v in x] + [t] for x, t in zip(data.data, target))
    return path


def baseline(run) -> float:
    """scikit-learn's linear model on the run's split: test accuracy, or test R² for regression."""
    data = run.recipe.data
    x_train, x_test = data.train.x.numpy(), data.test.x.numpy()
    y_train, y_test = data.train.y.numpy(), data.test.y.numpy()
    if data.meta.task == "regression":
        return r2_score(y_test.ravel(), LinearRegression().fit(x_train, y_train.ravel()).predict(x_test))
    return LogisticRegression(max_iter=5000).fit(x_train, y_train).score(x_test, y_test)


def sklearn_tables(folder: Path, runs: Path, epochs: int) -> None:
    """Train an MLP on each bundled table and print the page's table."""
    print("| table | rows | task (inferred) | deepzoo mlp, test | scikit-learn linear, same split | seconds |")
    print("|---|---|---|---|---|---|")
    for name in TABLES:
        path = write_sklearn_table(folder, name)
        started = time.perf_counter()
        run = api.train("mlp", f"csv:{path}", epochs=epochs, name=name, runs_dir=str(runs), overwrite=True,
                        overrides=QUIET, echo=lambda *a, **k: None)
        seconds = time.perf_counter() - started
        meta = run.recipe.data.meta
        key = "r2" if meta.task == "regression" else "accuracy"
        rows = sum(len(s) for s in run.recipe.data.splits().values())
        print(f"| {name}.csv | {rows} | {meta.task} | {key} {run.metrics[f'test/{key}']:.3f} | "
              f"{baseline(run):.3f} | {seconds:.1f} |")


def write_shop(path: Path, n: int, seed: int, gaps: float = 0.05) -> Path:
    """A generated table: who buys, from a colour (3 values), a city (40 values, each with its own
    effect) and a size; ``gaps`` of the size and city cells are empty."""
    rng = np.random.default_rng(seed)
    effect = np.random.default_rng(99).normal(0, 2, 40)
    colours = ["red", "green", "blue"]
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["colour", "city", "size", "bought"])
        for _ in range(n):
            c, k, s = rng.integers(3), rng.integers(40), rng.normal()
            bought = "yes" if (c - 1) * 1.5 + effect[k] + s > 0 else "no"
            size = "" if rng.random() < gaps else f"{s:.3f}"
            city = "" if rng.random() < gaps else f"city{k:02d}"
            writer.writerow([colours[c], city, size, bought])
    return path


def shop(folder: Path, runs: Path, epochs: int) -> None:
    """Text columns and missing cells: train with ?impute=true (the city embedded, then one-hot with
    max_onehot=40), then score 1000 new rows with the run's own preprocessing."""
    path = write_shop(folder / "shop.csv", 1000, seed=0)
    for name, query in (("shop", "?impute=true"), ("shop-onehot", "?impute=true&max_onehot=40")):
        run = api.train("mlp", f"csv:{path}{query}", epochs=epochs, name=name, runs_dir=str(runs), overwrite=True,
                        overrides=QUIET, echo=lambda *a, **k: None)
        print(f"  deepzoo train --model mlp --data 'csv:shop.csv{query}' --epochs {epochs}")
        for column in run.recipe.data.meta.extra["table"]["columns"]:
            print(f"    {column['name']}: {column['kind']}, {len(column['categories'])} categories, "
                  f"fill {column['fill']!r}, missing indicator {column['indicator']}")
        print(f"    test/accuracy {run.metrics['test/accuracy']:.3f}")
    print(f"  scikit-learn's logistic regression on the one-hot inputs, same split: {baseline(run):.3f}")
    new = write_shop(folder / "shop_new.csv", 1000, seed=1)
    scores = api.evaluate("shop", str(runs), data=f"csv:{new}")
    print(f"  deepzoo evaluate shop --data csv:shop_new.csv: data/accuracy {scores['data/accuracy']:.3f}, "
          f"data/unseen_categories {scores['data/unseen_categories']:.0f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=50)
    parser.add_argument("--runs-dir", default="runs/sklearn-tables")
    args = parser.parse_args()
    runs = Path(args.runs_dir)
    folder = runs / "data"
    folder.mkdir(parents=True, exist_ok=True)
    print(f"sklearn tables: {machine()}; {args.epochs} epochs; runs in {runs}")
    sklearn_tables(folder, runs, args.epochs)
    shop(folder, runs, args.epochs)


if __name__ == "__main__":
    main()
