"""Plots of the autoencoder family and of generative samples: reconstruction grids, sample grids,
first-layer filters, 2-D embeddings and anomaly-score histograms.

Images are shown in [0, 1]: values in the data's units are mapped back through ``meta.value_range``
(or the normalisation statistics of standardised data) by :func:`to_unit_range`. Items that are not
1- or 3-channel images (table rows, signals) are drawn as lines.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from torchvision.utils import make_grid

from ..data import DatasetMeta
from .common import plt, save_figure

GRID_COLUMNS = 8
LINE_ITEMS = 4  # items drawn as lines in a reconstruction figure of non-image data


def is_displayable_image(shape: Sequence[int]) -> bool:
    """True for (C, H, W) items with one (gray) or three (RGB) channels."""
    return len(shape) == 3 and shape[0] in (1, 3)


def to_unit_range(x: torch.Tensor, meta: DatasetMeta) -> torch.Tensor:
    """Data-unit images mapped to [0, 1] for display: through the value range when it is known,
    through the per-channel mean and std of standardised data otherwise; clamped."""
    x = x.detach().float().cpu()
    if meta.value_range is not None:
        low, high = meta.value_range
        x = (x - low) / max(high - low, 1e-12)
    elif meta.mean is not None and meta.std is not None and len(meta.mean) in (1, x.shape[1]):
        shape = (1, -1) + (1,) * (x.dim() - 2)
        x = x * torch.tensor(meta.std).view(shape) + torch.tensor(meta.mean).view(shape)
    return x.clamp(0.0, 1.0)


def _grid(images: torch.Tensor, columns: int) -> np.ndarray:
    """(N, C, H, W) in [0, 1] → one H×W×3 array tiled ``columns`` wide with 1-pixel white gaps."""
    grid = make_grid(images, nrow=columns, padding=1, pad_value=1.0)
    return grid.permute(1, 2, 0).numpy()


def reconstruction_figure(rows: Sequence[tuple[str, torch.Tensor]], meta: DatasetMeta, path: str | Path,
                          title: str = "") -> Path:
    """Labelled rows of items (input / reconstruction / target), one row per tensor, as PNG.

    Images are tiled side by side; other items (tables, signals) are drawn as one panel per item with
    one line per row, so an input and its reconstruction can be compared component by component.
    """
    if is_displayable_image(rows[0][1].shape[1:]):
        fig, axes = plt.subplots(len(rows), 1, figsize=(1.1 * len(rows[0][1]) + 1, 1.3 * len(rows) + 0.4),
                                 squeeze=False)
        for ax, (label, images) in zip(axes[:, 0], rows):
            ax.imshow(_grid(to_unit_range(images, meta), len(images)), interpolation="nearest")
            ax.set_ylabel(label, rotation=0, ha="right", va="center", fontsize=9)
            ax.set_xticks([])
            ax.set_yticks([])
    else:
        count = min(LINE_ITEMS, len(rows[0][1]))
        fig, axes = plt.subplots(1, count, figsize=(3.2 * count, 2.6), squeeze=False)
        for i, ax in enumerate(axes[0]):
            for label, values in rows:
                ax.plot(values[i].detach().float().cpu().flatten().numpy(), label=label, lw=1)
            ax.set_title(f"item {i}", fontsize=9)
        axes[0, 0].legend(fontsize=7)
    fig.suptitle(title, fontsize=10)
    return save_figure(fig, path)


def image_grid_figure(items: torch.Tensor, meta: DatasetMeta, path: str | Path, title: str = "") -> Path:
    """A grid of generated items (``GRID_COLUMNS`` per row), or their values as lines for non-images."""
    if is_displayable_image(items.shape[1:]):
        columns = min(GRID_COLUMNS, len(items))
        rows = math.ceil(len(items) / columns)
        fig, ax = plt.subplots(figsize=(0.75 * columns + 0.5, 0.75 * rows + 0.6))
        ax.imshow(_grid(to_unit_range(items, meta), columns), interpolation="nearest")
        ax.axis("off")
    else:
        fig, ax = plt.subplots(figsize=(6, 3))
        for item in items[:GRID_COLUMNS]:
            ax.plot(item.detach().float().cpu().flatten().numpy(), lw=1, alpha=0.7)
        ax.set_xlabel("component")
    ax.set_title(title, fontsize=10)
    return save_figure(fig, path)


def first_layer_filters(model: torch.nn.Module, input_shape: Sequence[int]) -> torch.Tensor | None:
    """The first layer's filters as images (K, C, h, w): the rows of the first linear layer reshaped to
    the input, or the kernels of the first convolution. None when the input is not an image."""
    if not is_displayable_image(input_shape):
        return None
    for module in model.modules():
        if isinstance(module, torch.nn.Linear):
            return module.weight.detach().float().cpu().view(-1, *input_shape)
        if isinstance(module, torch.nn.Conv2d):
            return module.weight.detach().float().cpu()[:, :3]
    return None


def filters_figure(filters: torch.Tensor, path: str | Path, title: str = "", limit: int = 64) -> Path:
    """Filters as images, each scaled to its own [min, max] (the sign pattern is what matters)."""
    shown = filters[:limit]
    low = shown.flatten(1).min(1).values.view(-1, 1, 1, 1)
    high = shown.flatten(1).max(1).values.view(-1, 1, 1, 1)
    scaled = (shown - low) / (high - low).clamp_min(1e-12)
    if scaled.shape[1] == 2:  # a two-channel kernel cannot be shown as colour: show its first channel
        scaled = scaled[:, :1]
    columns = min(GRID_COLUMNS, len(scaled))
    rows = math.ceil(len(scaled) / columns)
    fig, ax = plt.subplots(figsize=(0.8 * columns + 0.5, 0.8 * rows + 0.6))
    ax.imshow(_grid(scaled, columns), interpolation="nearest", cmap="gray")
    ax.axis("off")
    ax.set_title(title, fontsize=10)
    return save_figure(fig, path)


def embedding_figure(points: np.ndarray, labels: np.ndarray, class_names: Sequence[str], path: str | Path,
                     title: str = "") -> Path:
    """A 2-D scatter of embedded items coloured by their label, with a legend of class names."""
    fig, ax = plt.subplots(figsize=(5.6, 4.8))
    cmap = plt.get_cmap("tab10" if len(class_names) <= 10 else "tab20")
    for k, name in enumerate(class_names):
        chosen = labels == k
        if chosen.any():
            ax.scatter(points[chosen, 0], points[chosen, 1], s=9, color=cmap(k % cmap.N), label=str(name))
    ax.legend(fontsize=7, markerscale=1.5, loc="best", ncol=2 if len(class_names) > 5 else 1)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title, fontsize=10)
    return save_figure(fig, path)


def error_histogram_figure(normal: np.ndarray, anomalous: np.ndarray, threshold: float, path: str | Path,
                           title: str = "", anomaly_name: str = "anomalous") -> Path:
    """Histograms of reconstruction errors of normal and anomalous items on a log axis, with the
    decision threshold."""
    every = np.concatenate([normal, anomalous])
    positive = every[every > 0]
    low = positive.min() if len(positive) else 1e-8
    bins = np.geomspace(low, max(every.max(), low * 10), 40)
    fig, ax = plt.subplots(figsize=(6, 3.6))
    ax.hist(np.clip(normal, low, None), bins=bins, alpha=0.6, label=f"normal ({len(normal)})", density=True)
    ax.hist(np.clip(anomalous, low, None), bins=bins, alpha=0.6, label=f"{anomaly_name} ({len(anomalous)})",
            density=True)
    ax.axvline(threshold, color="k", ls="--", lw=1, label=f"threshold {threshold:.3g}")
    ax.set_xscale("log")
    ax.set_xlabel("reconstruction error (MSE per component)")
    ax.set_ylabel("density")
    ax.legend(fontsize=8)
    ax.set_title(title, fontsize=10)
    return save_figure(fig, path)
