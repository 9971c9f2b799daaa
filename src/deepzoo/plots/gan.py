"""Plots of GAN and super-resolution runs: sample grids (one row per class for a conditional GAN) and their
GIF, point clouds, the training history (losses, D outputs, FCD, coverage), the class histogram, LR /
bicubic / SR / HR comparisons."""

from __future__ import annotations

import csv
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from ..data import DatasetMeta
from .autoencoder import image_grid_figure, to_unit_range
from .common import plt, save_figure


def samples_figure(items: torch.Tensor, meta: DatasetMeta, path: Path, title: str) -> Path:
    """A grid of generated images (model units; displayed through the data's value range)."""
    return image_grid_figure(items.cpu(), meta, path, title)


def points_figure(fake: torch.Tensor, real: torch.Tensor, path: Path, title: str) -> Path:
    """Generated 2-D points over the training points (raw units), same axes every epoch."""
    fig, ax = plt.subplots(figsize=(4.2, 4.2))
    ax.scatter(real[:, 0], real[:, 1], s=2, c="0.75", label="data")
    ax.scatter(fake[:, 0], fake[:, 1], s=3, c="tab:red", alpha=0.6, label="samples")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_aspect("equal")
    ax.legend(loc="upper right", fontsize=7)
    ax.set_title(title, fontsize=10)
    return save_figure(fig, path)


def progress_gif(frames: Sequence[Path], path: Path, seconds_per_frame: float = 0.4) -> Path | None:
    """An animated GIF of the per-epoch sample images (the last frame held three times longer)."""
    from PIL import Image

    if not frames:
        return None
    images = [Image.open(f).convert("RGB") for f in frames]
    size = images[0].size
    images = [im if im.size == size else im.resize(size) for im in images]
    durations = [int(seconds_per_frame * 1000)] * (len(images) - 1) + [int(seconds_per_frame * 3000)]
    images[0].save(path, save_all=True, append_images=images[1:], duration=durations, loop=0)
    return path


def _plot_keys(ax, rows: list[dict[str, float]], keys: Sequence[tuple[str, str]], title: str) -> None:
    epochs = [r["epoch"] for r in rows]
    for key, label in keys:
        if key in rows[-1]:
            ax.plot(epochs, [r.get(key, np.nan) for r in rows], marker="o" if len(rows) < 30 else None, ms=3,
                    label=label)
    ax.set_xlabel("epoch")
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)


def read_metrics(path: Path) -> list[dict[str, float]]:
    """The rows of a run's ``metrics.csv`` as floats (empty cells are NaN)."""
    if not path.is_file():
        return []
    with path.open() as f:
        return [{k: float(v) if v else math.nan for k, v in row.items()} for row in csv.DictReader(f)]


def gan_history_figure(metrics_csv: Path, path: Path) -> Path | None:
    """Per epoch: both players' losses; D(x) and D(G(z)); and, when evaluated, FCD against its
    real-vs-real floor and the mode coverage (or the ring modes covered)."""
    rows = read_metrics(metrics_csv)
    if not rows:
        return None
    panels = [
        ([("train/discriminator/loss", "D loss"), ("train/generator/loss", "G loss")], "losses"),
        ([("train/discriminator/d_real", "D(x) train"), ("train/discriminator/d_fake", "D(G(z)) before D step"),
          ("train/generator/d_fake", "D(G(z)) after D step"), ("valid/d_real", "D(x) valid")], "discriminator outputs"),
    ]
    if "valid/fcd" in rows[-1]:
        panels.append(([("valid/fcd", "FCD"), ("valid/fcd_real_floor", "FCD real vs real")],
                       "Fréchet classifier distance"))
        panels.append(([("valid/mode_coverage", "samples"), ("valid/mode_coverage_real", "real")],
                       "mode coverage"))
    if "valid/modes_covered" in rows[-1]:
        panels.append(([("valid/modes_covered", "samples"), ("valid/modes_covered_real", "real")],
                       "ring modes covered"))
    fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 3.3), squeeze=False)
    for ax, (keys, title) in zip(axes[0], panels):
        _plot_keys(ax, rows, keys, title)
    return save_figure(fig, path)


def class_histogram_figure(fake: torch.Tensor, real: torch.Tensor, names: Sequence[str], path: Path) -> Path:
    """The share of each class among generated and real test items, as the judge classifies them."""
    k = len(fake)
    x = np.arange(k)
    fig, ax = plt.subplots(figsize=(0.5 * k + 2.5, 3.2))
    ax.bar(x - 0.2, real.numpy(), 0.4, label="real", color="0.6")
    ax.bar(x + 0.2, fake.numpy(), 0.4, label="generated", color="tab:blue")
    ax.axhline(0.5 / k, ls="--", c="k", lw=0.8, label="coverage threshold 1/(2K)")
    ax.set_xticks(x, list(names) or [str(i) for i in x])
    ax.set_ylabel("share")
    ax.set_title("class histogram (test)", fontsize=10)
    ax.legend(fontsize=7)
    return save_figure(fig, path)


def sr_comparison_figure(rows: Sequence[tuple[str, torch.Tensor]], path: Path, title: str) -> Path:
    """Columns of images in [0, 1] (LR, bicubic, SR, HR), one row per item."""
    n = len(rows[0][1])
    fig, axes = plt.subplots(n, len(rows), figsize=(2.0 * len(rows), 2.0 * n + 0.4), squeeze=False)
    for j, (label, images) in enumerate(rows):
        for i in range(n):
            image = images[i].detach().float().clamp(0, 1).permute(1, 2, 0).cpu().numpy()
            axes[i, j].imshow(image.squeeze(-1) if image.shape[-1] == 1 else image, cmap="gray",
                              interpolation="nearest")
            axes[i, j].axis("off")
            if i == 0:
                axes[i, j].set_title(label, fontsize=9)
    fig.suptitle(title, fontsize=10)
    return save_figure(fig, path)


def class_rows_figure(items: torch.Tensor, labels: torch.Tensor, names: Sequence[str], meta: DatasetMeta,
                      path: Path, title: str) -> Path:
    """Generated images (model units) as one grid, a row per class named on the left, the classes in the
    order they first appear in ``labels`` (each class holding the same number of items): a conditional
    GAN's samples."""
    from torchvision.utils import make_grid

    labels = labels.cpu()
    classes = list(dict.fromkeys(labels.tolist()))
    order = torch.cat([(labels == k).nonzero().flatten() for k in classes])
    columns = len(items) // len(classes)
    grid = make_grid(to_unit_range(items[order], meta), nrow=columns, padding=1, pad_value=1.0)
    height = items.shape[-2]
    fig, ax = plt.subplots(figsize=(0.55 * columns + 1.0, 0.55 * len(classes) + 0.6))
    ax.imshow(grid.permute(1, 2, 0).numpy(), interpolation="nearest")
    ax.set_yticks([1 + r * (height + 1) + (height - 1) / 2 for r in range(len(classes))],
                  [names[k] for k in classes], fontsize=8)
    ax.set_xticks([])
    ax.tick_params(length=0)
    for spine in ax.spines.values():
        spine.set_visible(False)
    ax.set_title(title, fontsize=10)
    return save_figure(fig, path)
