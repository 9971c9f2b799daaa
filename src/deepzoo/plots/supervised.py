"""Plots of a supervised run: confusion matrix, decision boundary, predicted vs true, PR curves, and the
error analysis's top-loss grid and residuals."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torchmetrics.functional.classification as C

from ..metrics.errors import confusion_counts
from .classes import LEGEND_CLASSES, class_colour_bar, class_colour_map, class_colours, class_ticks, short_label
from .common import plt, save_figure

#: counts are written in the cells up to this many classes; beyond, the colour alone says the share
ANNOTATED_CLASSES = 20


def confusion_matrix_figure(counts: np.ndarray, names: list[str], title: str = "confusion matrix (test)"):
    """The confusion matrix as a figure, legible from 2 to 100+ classes: each cell coloured by its share
    of the true class (rows sum to 1, one colour scale 0–1 whatever the class sizes), counts written in
    the cells up to :data:`ANNOTATED_CLASSES` classes, the user's class names on both axes — cut by
    :func:`~deepzoo.plots.classes.short_label`, the x labels turned upright when a name is wider than its
    column, and thinned to every n-th class when one line of text no longer fits a cell
    (:func:`~deepzoo.plots.classes.class_ticks`)."""
    k = len(names)
    shares = counts / np.maximum(counts.sum(1, keepdims=True), 1)
    side = float(np.clip(0.42 * k + 1.5, 4.0, 15.0))  # the matrix's side in inches
    fig, ax = plt.subplots(figsize=(side + 1.8, side + 1.2))
    image = ax.imshow(shares, cmap="Blues", vmin=0.0, vmax=1.0)
    fig.colorbar(image, ax=ax, fraction=0.04, pad=0.02, label="share of the true class")
    if k <= ANNOTATED_CLASSES:
        for i in range(k):
            for j in range(k):
                if counts[i, j]:
                    ax.text(j, i, int(counts[i, j]), ha="center", va="center", fontsize=7,
                            color="white" if shares[i, j] > 0.5 else "black")
    ax.apply_aspect()  # the matrix's drawn size, once the colour bar has taken its share
    size, step = class_ticks(k, ax.get_position().width * fig.get_figwidth())
    labels = [short_label(str(n)) for n in names]
    shown = list(range(0, k, step))
    widest_pt = max(len(labels[i]) for i in shown) * 0.6 * size  # an average glyph is ~0.6 em wide
    upright = widest_pt > 0.9 * 72.0 * ax.get_position().width * fig.get_figwidth() / k * step
    ax.set_xticks(shown, [labels[i] for i in shown], rotation=90 if upright else 0, fontsize=size)
    ax.set_yticks(shown, [labels[i] for i in shown], fontsize=size)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title + ("" if step == 1 else f" — every {step}th class named"))
    return fig


def confusion_matrix_plot(pred: np.ndarray, true: np.ndarray, names: list[str], path: Path,
                          title: str = "confusion matrix (test)") -> Path:
    """:func:`confusion_matrix_figure` of the (true, predicted) counts, saved as PNG."""
    return save_figure(confusion_matrix_figure(confusion_counts(pred, true, len(names)), names, title), path)


@torch.no_grad()
def decision_boundary_plot(recipe, x: torch.Tensor, y: torch.Tensor, path: Path, steps: int = 200) -> Path:
    """The predicted class over a grid of the 2-D input plane (normalised units), with the points."""
    lo, hi = x.min(0).values - 0.5, x.max(0).values + 0.5
    gx, gy = torch.meshgrid(torch.linspace(lo[0], hi[0], steps), torch.linspace(lo[1], hi[1], steps), indexing="xy")
    grid = torch.stack([gx.reshape(-1), gy.reshape(-1)], 1).to(recipe.device)
    pred = recipe.head.predict(recipe.net(grid))
    names = recipe.data.meta.class_names
    fig, ax = plt.subplots(figsize=(5, 4.2))
    if recipe.task == "binary":
        surface = pred["probability"].reshape(steps, steps).cpu()
        contour = ax.contourf(gx, gy, surface, levels=20, cmap="RdBu_r", alpha=0.6)
        ax.contour(gx, gy, surface, levels=[recipe.head.threshold], colors="k", linewidths=1)
        fig.colorbar(contour, ax=ax, label=f"P({short_label(names[1]) if len(names) == 2 else 'class 1'})")
        colours = {"c": y.cpu(), "cmap": "RdBu_r"}
    else:  # one colour per class, named on a colour bar
        cmap, norm = class_colour_map(len(names))
        ax.contourf(gx, gy, pred["label"].reshape(steps, steps).cpu(), levels=norm.boundaries, cmap=cmap, norm=norm,
                    alpha=0.4)
        colours = {"c": y.cpu(), "cmap": cmap, "norm": norm}
        class_colour_bar(fig, ax, names)
    ax.scatter(x[:, 0].cpu(), x[:, 1].cpu(), edgecolors="k", s=14, **colours)
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
    """Precision–recall curve of every label (multi-label), in the colours of
    :func:`~deepzoo.plots.classes.class_colours`: a legend names up to ``LEGEND_CLASSES`` labels, a
    colour bar more."""
    precision, recall, _ = C.multilabel_precision_recall_curve(probs, targets.long(), num_labels=len(names))
    fig, ax = plt.subplots(figsize=(5.6, 4.2))
    many = len(names) > LEGEND_CLASSES
    for p, r, name, colour in zip(precision, recall, names, class_colours(len(names))):
        ax.plot(r.cpu(), p.cpu(), label=short_label(name), lw=0.7 if many else 1, color=colour)
    ax.set_xlabel("recall")
    ax.set_ylabel("precision")
    ax.set_title("precision–recall per label (test)")
    if many:
        class_colour_bar(fig, ax, names, "label")
    else:
        ax.legend(fontsize=7, ncol=2)
    return save_figure(fig, path)


def top_losses_plot(images: torch.Tensor, titles: list[str], wrong: list[bool], path: Path, title: str,
                    columns: int = 4) -> Path:
    """A grid of images in [0, 1] (N, C, H, W), each titled with its own lines (true and predicted class,
    loss, probability), in red when the prediction is wrong."""
    rows = -(-len(images) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(2.1 * columns, 2.35 * rows + 0.4), squeeze=False)
    for ax in axes.flat:
        ax.set_axis_off()
    for ax, image, text, bad in zip(axes.flat, images, titles, wrong):
        picture = image.permute(1, 2, 0).numpy()
        ax.imshow(picture[..., 0] if picture.shape[-1] == 1 else picture, cmap="gray", vmin=0, vmax=1,
                  interpolation="nearest")
        # a text above the image, not an axes title: matplotlib re-measures every title's position on
        # each draw, which made this grid cost seconds
        ax.text(0.5, 1.02, text, transform=ax.transAxes, ha="center", va="bottom", fontsize=7,
                color="tab:red" if bad else "black")
    fig.suptitle(title, fontsize=10)
    return save_figure(fig, path)


def residuals_plot(pred: np.ndarray, true: np.ndarray, names: list[str], path: Path, title: str) -> Path:
    """Residuals (true − predicted, target units) against the predictions, one panel per target, with the
    zero line: a trend or a funnel shape shows a bias the mean error hides."""
    k = pred.shape[1]
    fig, axes = plt.subplots(1, k, figsize=(4 * k, 3.6), squeeze=False)
    for j, ax in enumerate(axes[0]):
        ax.scatter(pred[:, j], true[:, j] - pred[:, j], s=10, alpha=0.7)
        ax.axhline(0.0, color="k", ls="--", lw=1)
        ax.set_xlabel(f"predicted {names[j]}" if j < len(names) else "predicted")
        ax.set_ylabel("residual (true − predicted)")
        ax.grid(alpha=0.3)
    fig.suptitle(title, fontsize=10)
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
