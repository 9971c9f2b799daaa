"""Plots of a segmentation run: each image beside its true and its predicted mask, laid over it."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from ..data import DatasetMeta
from ..data.segmentation import IGNORE_INDEX
from .autoencoder import to_unit_range
from .common import plt, save_figure

#: how much of a class's colour covers the image where the class is
OVERLAY_ALPHA = 0.7
#: a class of this name is shown as the image itself, so that the other classes stand out
BACKGROUND = "background"


def overlay(image: np.ndarray, mask: np.ndarray, palette: Sequence[Sequence[int]], alpha: float = OVERLAY_ALPHA,
            untinted: Sequence[int] = (), ignore_index: int = IGNORE_INDEX) -> np.ndarray:
    """An (H, W, 3) image in [0, 1] with each labelled pixel blended with its class's colour; ignored
    pixels and those of the ``untinted`` classes show the image alone."""
    colours = np.asarray(palette, dtype=np.float64) / 255
    labelled = (mask != ignore_index) & ~np.isin(mask, list(untinted))
    tinted = image.copy()
    tinted[labelled] = (1 - alpha) * image[labelled] + alpha * colours[mask[labelled]]
    return tinted


def overlay_figure(images: torch.Tensor, columns: Sequence[tuple[str, torch.Tensor]], meta: DatasetMeta,
                   palette: Sequence[Sequence[int]], path: Path, title: str = "") -> Path:
    """One row per item: the image (data units, shown through the data's normalisation), then each of
    ``columns`` — (title, class maps (N, H, W)), the truth and one or more predictions — laid over it, and
    a legend of the class colours (a class named ``background`` is left untinted)."""
    untinted = [k for k, name in enumerate(meta.class_names) if name == BACKGROUND]
    pictures = to_unit_range(images, meta)
    pictures = pictures.expand(-1, 3, -1, -1) if pictures.shape[1] == 1 else pictures
    n, width = len(pictures), 1 + len(columns)
    fig, axes = plt.subplots(n, width, figsize=(2.1 * width, 2.1 * n + 0.5), squeeze=False)
    for i in range(n):
        image = pictures[i].permute(1, 2, 0).numpy().astype(np.float64)
        panels = [("image", image)]
        for label, masks in columns:
            mask = masks[i].cpu().numpy().astype(np.int64)
            top, left = (image.shape[0] - mask.shape[0]) // 2, (image.shape[1] - mask.shape[1]) // 2
            centre = image[top:top + mask.shape[0], left:left + mask.shape[1]]  # the paper U-Net's smaller output
            panels.append((label, overlay(centre, mask, palette, untinted=untinted)))
        for ax, (label, picture) in zip(axes[i], panels):
            ax.imshow(picture, interpolation="nearest")
            ax.axis("off")
            if i == 0:
                ax.set_title(label, fontsize=9)
    shown = [k for k in range(len(meta.class_names)) if k not in untinted]
    handles = [plt.Rectangle((0, 0), 1, 1, color=np.asarray(palette[k]) / 255) for k in shown]
    fig.legend(handles, [meta.class_names[k] for k in shown], loc="lower center", ncol=min(len(handles), 6),
               fontsize=8, frameon=False)
    if title:
        fig.suptitle(title, fontsize=10)
    return save_figure(fig, path)
