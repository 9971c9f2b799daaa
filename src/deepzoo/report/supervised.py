"""Plots of a supervised run: confusion matrix, decision boundary, predicted vs true, PR curves."""

from __future__ import annotations

from pathlib import Path

import numpy as np


from .plots import plt, save_figure


def confusion_matrix_plot(pred: np.ndarray, true: np.ndarray, names: list[str], path: Path) -> Path:
    """Counts of (true, predicted) classes, annotated."""
    k = len(names)
    counts = np.zeros((k, k), dtype=int)
    np.add.at(counts, (true, pred), 1)
    fig, ax = plt.subplots(figsize=(0.45 * k + 2.5, 0.45 * k + 2))
    ax.imshow(counts, cmap="Blues")
    for i in range(k):
        for j in range(k):
            ax.text(j, i, counts[i, j], ha="center", va="center", fontsize=7,
                    color="white" if counts[i, j] > counts.max() / 2 else "black")
    ax.set_xticks(range(k), names, rotation=90 if k > 12 else 0)
    ax.set_yticks(range(k), names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title("confusion matrix (test)")
    return save_figure(fig, path)


def task_plots(recipe, folder: Path) -> list[Path]:
    """The plots that fit the recipe's task, drawn from the test split (valid if test is empty)."""
    split = "test" if len(recipe.data.test) else "valid"
    loader = recipe.loader(split, recipe.config.train.eval_batch_size)
    result = recipe.outputs(loader)
    if result is None:
        return []
    outputs, targets = result
    pred = recipe.head.predict(outputs)
    paths = []
    if recipe.task == "multiclass":
        paths.append(confusion_matrix_plot(pred["label"].cpu().numpy(), targets.cpu().numpy(),
                                           recipe.data.meta.class_names, folder / "confusion_matrix.png"))
    return paths


