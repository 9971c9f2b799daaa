"""Pictures and files of attribution maps: one PNG and one ``.npy`` per image, one grid per folder.

Every file is written atomically (:mod:`deepzoo.files`), since it lands in a run folder that a report
reads. A signed map (Integrated Gradients) is drawn with a diverging colour scale centred on 0 (red
raises the score, blue lowers it); the others are drawn from their smallest to their largest value
(rollout's floor is far above 0).
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from ..files import atomic_path
from ..plots.autoencoder import GRID_COLUMNS, filters_figure
from ..plots.common import plt, save_figure

#: at most this many images go into a folder's grid picture
GRID_LIMIT = 64
#: at most this many channels are drawn by ``--method activations`` (the .npy keeps them all)
CHANNEL_LIMIT = 64


def save_array(values: torch.Tensor | np.ndarray, path: Path) -> Path:
    """``values`` as a ``.npy`` file, written atomically."""
    buffer = io.BytesIO()
    np.save(buffer, np.asarray(values.cpu() if torch.is_tensor(values) else values, dtype=np.float32))
    with atomic_path(path) as tmp:
        tmp.write_bytes(buffer.getvalue())
    return path


def _image(pixels: torch.Tensor) -> np.ndarray:
    """(C, H, W) in [0, 1] → what ``imshow`` draws (H, W) gray or (H, W, 3) colour."""
    array = pixels.detach().float().cpu().numpy()
    return array[0] if array.shape[0] != 3 else array.transpose(1, 2, 0)


def _draw_map(ax, pixels: torch.Tensor, values: torch.Tensor, signed: bool) -> None:
    """The input in gray with the map over it, half transparent."""
    values = values.detach().float().cpu().numpy()
    ax.imshow(_image(pixels).mean(axis=-1) if pixels.shape[0] == 3 else _image(pixels), cmap="gray",
              interpolation="nearest")
    if signed:
        bound = float(np.abs(values).max()) or 1.0
        ax.imshow(values, cmap="bwr", vmin=-bound, vmax=bound, alpha=0.6, interpolation="bilinear")
    else:
        low, high = float(values.min()), float(values.max())
        ax.imshow(values, cmap="jet", vmin=low, vmax=high if high > low else low + 1.0, alpha=0.5,
                  interpolation="bilinear")
    ax.set_xticks([])
    ax.set_yticks([])


def map_figure(pixels: torch.Tensor, values: torch.Tensor, title: str, path: Path, signed: bool = False) -> Path:
    """Two panels: the input (``pixels`` (C, H, W) in [0, 1]) and the map ``values`` (H, W) over it."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(5.6, 3.0))
    left.imshow(_image(pixels), cmap="gray", interpolation="nearest")
    left.set_xticks([])
    left.set_yticks([])
    _draw_map(right, pixels, values, signed)
    fig.suptitle(title, fontsize=9)
    return save_figure(fig, path)


def grid_figure(pixels: torch.Tensor, values: torch.Tensor, titles: Sequence[str], path: Path, title: str,
                signed: bool = False) -> Path:
    """The first :data:`GRID_LIMIT` images of a folder with their maps over them, each titled."""
    count = min(len(pixels), GRID_LIMIT)
    columns = min(GRID_COLUMNS, count)
    rows = math.ceil(count / columns)
    fig, axes = plt.subplots(rows, columns, figsize=(1.7 * columns, 1.9 * rows + 0.4), squeeze=False)
    for i, ax in enumerate(axes.flat):
        if i < count:
            _draw_map(ax, pixels[i], values[i], signed)
            ax.set_title(titles[i], fontsize=6)
        else:
            ax.axis("off")
    fig.suptitle(title, fontsize=10)
    return save_figure(fig, path)


def channels_figure(feature_map: torch.Tensor, title: str, path: Path) -> Path:
    """The channels (C, h, w) of one input's feature map as a grid of gray images, each scaled to its own
    range (the first :data:`CHANNEL_LIMIT`)."""
    return filters_figure(feature_map.detach().float().cpu()[:, None], path, title, limit=CHANNEL_LIMIT)
