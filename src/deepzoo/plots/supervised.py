"""Plots of a supervised run: confusion matrix, decision boundary, predicted vs true, PR curves."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torchmetrics.functional.classification as C

from .common import plt, save_figure


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


@torch.no_grad()
def decision_boundary_plot(recipe, x: torch.Tensor, y: torch.Tensor, path: Path, steps: int = 200) -> Path:
    """The predicted class over a grid of the 2-D input plane (normalised units), with the points."""
    lo, hi = x.min(0).values - 0.5, x.max(0).values + 0.5
    gx, gy = torch.meshgrid(torch.linspace(lo[0], hi[0], steps), torch.linspace(lo[1], hi[1], steps), indexing="xy")
    grid = torch.stack([gx.reshape(-1), gy.reshape(-1)], 1).to(recipe.device)
    pred = recipe.head.predict(recipe.net(grid))
    fig, ax = plt.subplots(figsize=(5, 4.2))
    if recipe.task == "binary":
        surface = pred["probability"].reshape(steps, steps).cpu()
        contour = ax.contourf(gx, gy, surface, levels=20, cmap="RdBu_r", alpha=0.6)
        ax.contour(gx, gy, surface, levels=[recipe.head.threshold], colors="k", linewidths=1)
        fig.colorbar(contour, ax=ax, label="P(class 1)")
    else:
        ax.contourf(gx, gy, pred["label"].reshape(steps, steps).cpu(), alpha=0.4, cmap="tab10")
    ax.scatter(x[:, 0].cpu(), x[:, 1].cpu(), c=y.cpu(), cmap="RdBu_r" if recipe.task == "binary" else "tab10",
               edgecolors="k", s=14)
    ax.set_title("decision boundary with the test points")
    return save_figure(fig, path)


def predicted_vs_true_plot(pred: np.ndarray, true: np.ndarray, path: Path) -> Path:
    """Predicted against true values (target units), one panel per target, with the y = x line."""
    k = pred.shape[1]
    fig, axes = plt.subplots(1, k, figsize=(4 * k, 3.8), squeeze=False)
    for j, ax in enumerate(axes[0]):
        ax.scatter(true[:, j], pred[:, j], s=10, alpha=0.7)
        lo, hi = min(true[:, j].min(), pred[:, j].min()), max(true[:, j].max(), pred[:, j].max())
        ax.plot([lo, hi], [lo, hi], "k--", lw=1)
        ax.set_xlabel("true")
        ax.set_ylabel("predicted")
        ax.set_title(f"target {j}" if k > 1 else "predicted vs true (test)")
    return save_figure(fig, path)


def pr_curves_plot(probs: torch.Tensor, targets: torch.Tensor, names: list[str], path: Path) -> Path:
    """Precision–recall curve of every label (multi-label)."""
    precision, recall, _ = C.multilabel_precision_recall_curve(probs, targets.long(), num_labels=len(names))
    fig, ax = plt.subplots(figsize=(5, 4.2))
    for p, r, name in zip(precision, recall, names):
        ax.plot(r.cpu(), p.cpu(), label=name, lw=1)
    ax.set_xlabel("recall")
    ax.set_ylabel("precision")
    ax.set_title("precision–recall per label (test)")
    ax.legend(fontsize=7, ncol=2)
    return save_figure(fig, path)


def task_plots(recipe, folder: Path) -> list[Path]:
    """The plots that fit the recipe's task, drawn from the test split (valid if test is empty)."""
    split = "test" if len(recipe.data.test) else "valid"
    data = recipe.data.splits()[split]
    result = recipe.outputs(recipe.loader(split, recipe.config.train.eval_batch_size))
    if result is None:
        return []
    outputs, targets = result
    pred = recipe.head.predict(outputs)
    paths = []
    if recipe.task == "multiclass":
        paths.append(confusion_matrix_plot(pred["label"].cpu().numpy(), targets.cpu().numpy(),
                                           recipe.data.meta.class_names, folder / "confusion_matrix.png"))
    if recipe.task in ("binary", "multiclass") and tuple(recipe.data.meta.input_shape) == (2,):
        paths.append(decision_boundary_plot(recipe, data.x, data.y, folder / "decision_boundary.png"))
    if recipe.task == "regression":
        true = recipe.head.to_target_units(targets.reshape(outputs.shape).float())
        paths.append(predicted_vs_true_plot(pred["value"].cpu().numpy(), true.cpu().numpy(),
                                            folder / "predicted_vs_true.png"))
    if recipe.task == "multilabel":
        paths.append(pr_curves_plot(pred["probability"], targets, recipe.data.meta.class_names,
                                    folder / "pr_curves.png"))
    return paths
