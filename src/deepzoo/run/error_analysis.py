"""The error analysis of a supervised run, written into ``<run>/errors/<split>/`` after training (the test
split, the valid one when there is no test split) and again for any split by ``deepzoo evaluate RUN
--split NAME``.

From one pass of predictions over the split (:mod:`deepzoo.metrics.errors` computes the tables):

- classification (binary, multiclass): ``per_class.csv`` (precision, recall, F1, support per class,
  with the user's class names), ``confused_pairs.csv`` (the :data:`TOP_PAIRS` most frequent (true,
  predicted) pairs with their counts and shares), ``confusion_matrix.png``, and the items of highest
  loss: ``top_losses.png`` (a grid of images titled with true and predicted class, loss and the predicted
  class's probability) for image data, ``top_losses.csv`` (the rows with their original columns, true,
  predicted, loss, probability) for tables;
- regression: ``residuals.png`` (residuals against predictions) and ``top_losses.csv`` (the rows of
  largest squared error).

The lines it returns go to the run log: the per-class table and the most confused pairs.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..data import parse_spec
from ..files import write_text_atomic
from ..metrics.errors import ClassScores, ConfusedPair, confused_pairs, item_losses, per_class_scores, top_loss_order

#: tasks whose runs get an error analysis
ANALYSED_TASKS = ("binary", "multiclass", "regression")
#: confused pairs listed in ``confused_pairs.csv`` (and the first few in the log)
TOP_PAIRS = 10
LOGGED_PAIRS = 3
#: items of highest loss drawn (images) or listed (table rows)
TOP_IMAGES = 16
TOP_ROWS = 20
#: classes listed one per line in the log; more are summarised by their lowest F1
LOGGED_CLASSES = 20


def error_folder(run_dir: Path, split: str) -> Path:
    """Where the error analysis of ``split`` is written: ``<run>/errors/<split>/``."""
    return run_dir / "errors" / split


def write_error_analysis(recipe: Any, run_dir: Path, split: str, batch_size: int) -> list[str]:
    """Write the error analysis of ``split`` of a trained supervised ``recipe`` into
    :func:`error_folder` and return the lines for the log (nothing for other tasks or an empty split)."""
    task = getattr(getattr(recipe, "head", None), "task", None)  # a node run's head is multiclass or regression
    if task not in ANALYSED_TASKS or not hasattr(recipe, "outputs"):
        return []
    data = recipe.data.splits()[split]
    result = recipe.outputs(recipe.loader(split, batch_size))
    if result is None:
        return []
    outputs, targets = (t.cpu() for t in result)
    folder = error_folder(run_dir, split)
    folder.mkdir(parents=True, exist_ok=True)
    losses = item_losses(outputs, targets, task)
    if task == "regression":
        return _regression(recipe, data, outputs, targets, losses, folder, split)
    return _classification(recipe, task, data, outputs, targets, losses, folder, split)


def _classification(recipe, task: str, data, outputs, targets, losses, folder: Path, split: str) -> list[str]:
    """Per-class scores, confused pairs, the confusion matrix and the top losses of a classifier."""
    from ..plots.supervised import confusion_matrix_plot

    meta = recipe.data.meta
    names = list(meta.class_names) or [str(i) for i in range(max(meta.num_classes, 2))]
    predicted = recipe.head.predict(outputs)
    labels = predicted["label"].numpy()
    true = targets.reshape(-1).long().numpy()
    probs = predicted["probability"]
    if task == "binary":  # P(class 1) → the probability of each class
        probs = torch.stack([1 - probs, probs], 1)
    scores = per_class_scores(labels, true, names)
    pairs = confused_pairs(labels, true, names, TOP_PAIRS)
    write_text_atomic(folder / "per_class.csv", _csv(
        ["class", "precision", "recall", "f1", "support"],
        [[s.name, s.precision, s.recall, s.f1, s.support] for s in scores]))
    write_text_atomic(folder / "confused_pairs.csv", _csv(
        ["true", "predicted", "count", "share_of_class", "share_of_errors"],
        [[p.true, p.predicted, p.count, p.share_of_class, p.share_of_errors] for p in pairs]))
    confusion_matrix_plot(labels, true, names, folder / "confusion_matrix.png", f"confusion matrix ({split})")
    order = top_loss_order(losses, TOP_IMAGES if meta.is_image else TOP_ROWS)
    p_pred = probs[torch.arange(len(labels)), torch.from_numpy(labels)]
    p_true = probs[torch.arange(len(true)), torch.from_numpy(true)]
    columns = {"true": [names[i] for i in true], "predicted": [names[i] for i in labels],
               "loss": losses.tolist(), "probability": p_pred.tolist(), "probability_of_true": p_true.tolist()}
    _top_losses(recipe, data, order, columns, folder, split)
    return _class_lines(scores, pairs, split, len(true))


def _regression(recipe, data, outputs, targets, losses, folder: Path, split: str) -> list[str]:
    """Residuals against predictions and the rows of largest squared error of a regressor."""
    from ..plots.supervised import residuals_plot

    meta = recipe.data.meta
    pred = recipe.head.to_target_units(outputs).numpy()
    true = recipe.head.to_target_units(targets.reshape(outputs.shape).float()).numpy()
    names = list(meta.extra.get("target_names") or meta.class_names) or [f"target {j}" for j in range(pred.shape[1])]
    residuals_plot(pred, true, names, folder / "residuals.png", f"residuals ({split})")
    columns: dict[str, list] = {}
    for j, name in enumerate(names):
        columns[f"true {name}"] = true[:, j].tolist()
        columns[f"predicted {name}"] = pred[:, j].tolist()
    columns["loss"] = losses.tolist()
    _top_losses(recipe, data, top_loss_order(losses, TOP_ROWS), columns, folder, split)
    residual = np.abs(true - pred)
    return [f"error analysis ({split}): mean absolute residual {residual.mean():.4g}, largest {residual.max():.4g}; "
            f"residuals and the rows of largest error in {folder}"]


def _top_losses(recipe, data, order: torch.Tensor, columns: dict[str, list], folder: Path, split: str) -> None:
    """The items of highest loss: a titled image grid for displayable images, else a CSV of rows."""
    from ..plots.autoencoder import is_displayable_image, to_unit_range
    from ..plots.classes import short_label

    meta = recipe.data.meta
    index = order.tolist()
    if "true" in columns and is_displayable_image(meta.input_shape):
        from ..plots.supervised import top_losses_plot

        images = torch.stack([_item(data, i) for i in index])
        titles = [f"true {short_label(columns['true'][i])}\npredicted {short_label(columns['predicted'][i])}\n"
                  f"loss {columns['loss'][i]:.3g}, p {columns['probability'][i]:.2f}" for i in index]
        wrong = [columns["true"][i] != columns["predicted"][i] for i in index]
        top_losses_plot(to_unit_range(images, meta), titles, wrong, folder / "top_losses.png",
                        f"highest losses ({split})")
        return
    header, cells = _source_columns(recipe, data, index)
    rows = [cells[n] + [columns[c][i] for c in columns] for n, i in enumerate(index)]
    write_text_atomic(folder / "top_losses.csv", _csv(header + list(columns), rows))


def _item(data, i: int) -> torch.Tensor:
    """Item ``i`` of a split held in memory or streamed."""
    return data.x[i].cpu() if hasattr(data, "x") else data[i][0]


def _source_columns(recipe, data, index: list[int]) -> tuple[list[str], list[list]]:
    """The columns that identify the items at ``index``: the file's own line and cells for a CSV file read
    by the run (``csv:PATH``), a graph's nodes by the file's ids, else the item's row in its source and its
    features in the data's units."""
    meta = recipe.data.meta
    if hasattr(data, "graph"):  # a node task: the split's nodes by the file's ids, and their features
        nodes = data.mask.nonzero().view(-1)[index].tolist()
        ids = meta.extra.get("node_names")
        x = data.graph.x[nodes].float().cpu()
        return ["node", *(f"x{j}" for j in range(x.shape[1]))], [
            [ids[n] if ids else n, *values] for n, values in zip(nodes, x.tolist())]
    rows = getattr(data, "rows", None)
    number = [int(rows[i]) if rows is not None else i for i in index]
    fmt, path, _ = parse_spec(recipe.config.data.spec)
    if fmt == "csv" and rows is not None and Path(path).is_file():
        from ..data.formats_table import read_csv_table

        table = read_csv_table(path, meta.extra.get("delimiter"))
        return ["line", *table.header], [[table.lines[r], *table.rows[r]] for r in number]
    x = torch.stack([_item(data, i) for i in index]).reshape(len(index), -1).float()
    if meta.mean is not None and len(meta.mean) == x.shape[1]:
        x = x * torch.tensor(meta.std) + torch.tensor(meta.mean)
    names = meta.extra.get("feature_names")
    names = names if names and len(names) == x.shape[1] else [f"x{j}" for j in range(x.shape[1])]
    return ["row", *names], [[n, *values] for n, values in zip(number, x.tolist())]


def _class_lines(scores: list[ClassScores], pairs: list[ConfusedPair], split: str, items: int) -> list[str]:
    """The per-class table and the most confused pairs, as log lines."""
    from ..plots.classes import short_label

    width = max(len("class"), *(len(short_label(s.name)) for s in scores))
    lines = [f"error analysis ({split}, {items} items): per class", f"  {'class':<{width}}  precision  recall  "
             "    f1  support"]
    shown = scores if len(scores) <= LOGGED_CLASSES else sorted(scores, key=lambda s: s.f1)[:LOGGED_CLASSES]
    for s in shown:
        name = short_label(s.name)
        lines.append(f"  {name:<{width}}  {s.precision:9.3f}  {s.recall:6.3f}  {s.f1:6.3f}  {s.support:7d}")
    if len(scores) > len(shown):
        lines.append(f"  ({len(shown)} of {len(scores)} classes, lowest F1 first; all in per_class.csv)")
    if pairs:
        lines.append("most confused: " + "; ".join(f"{p.true} → {p.predicted} ×{p.count} "
                                                     f"({p.share_of_class:.0%} of {p.true})"
                                                     for p in pairs[:LOGGED_PAIRS]))
    return lines


def _csv(header: list[str], rows: list[list]) -> str:
    """CSV text; floats with 6 significant digits."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows([[f"{v:.6g}" if isinstance(v, float) else v for v in row] for row in rows])
    return out.getvalue()
