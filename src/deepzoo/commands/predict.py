"""``deepzoo predict RUN --input FILE``: predictions of a trained run for new inputs, as CSV."""

from __future__ import annotations

import argparse
import csv
import sys


def add_parser(sub) -> None:
    p = sub.add_parser("predict", help="predictions of a trained run for new inputs")
    p.add_argument("run", help="run folder or name under runs/")
    p.add_argument("--input", required=True, help="a .csv, .npz, an image or a folder of images")
    p.add_argument("--output", help="write the predictions as CSV here (default: stdout)")
    p.add_argument("--runs-dir", default="runs")
    p.set_defaults(func=predict)


def predict(args: argparse.Namespace) -> int:
    from .. import api
    from ..api import load_run

    result = api.predict(args.run, args.input, args.runs_dir)
    names = load_run(args.run, args.runs_dir, with_data=False).recipe.data.meta.class_names
    columns, rows = prediction_table(result, names)
    out = _open_output(args.output) if args.output else sys.stdout
    try:
        writer = csv.writer(out)
        writer.writerow(columns)
        writer.writerows(rows)
    finally:
        if args.output:
            out.close()
    return 0


def _open_output(path: str):
    """The --output file, its folder created (as ``lr-find --out`` and ``stylize --out`` do); a path
    that cannot be written is a one-line error."""
    from pathlib import Path

    from ..errors import ConfigError

    try:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        return open(path, "w", newline="")
    except OSError as err:
        raise ConfigError(f"--output {path}: cannot be written ({err.strerror or err})") from None


def prediction_table(result: dict, class_names: list[str]) -> tuple[list[str], list[list]]:
    """Columns and rows for a CSV of predictions (labels by name, probabilities, values)."""
    columns: list[str] = []
    parts = []
    for key, tensor in result.items():
        values = tensor.detach().cpu()
        if values.ndim == 1:
            values = values[:, None]
            labels = [key]
        elif key == "probability" and values.shape[1] == len(class_names):
            labels = [f"p({n})" for n in class_names]
        else:
            labels = [f"{key}_{i}" for i in range(values.shape[1])]
        columns += labels
        parts.append(values.tolist())
    rows = [sum((part[i] for part in parts), []) for i in range(len(parts[0]))]
    if "label" in result and result["label"].ndim == 1 and class_names:
        i = columns.index("label")
        for row in rows:
            row[i] = class_names[int(row[i])]
    return columns, rows
