"""New inputs for prediction, read and normalised exactly as the training data was.

Files go through the same validating readers as training data (``csv:``, ``npz:`` and ``imagefolder:``),
so a corrupt image, a decompression bomb, an object array or a NaN is one :class:`DataError` line here
too, never a traceback.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ..errors import DataError
from .build import check_finite
from .bundle import DatasetMeta
from .formats_images import IMAGE_SUFFIXES, read_image
from .formats_table import check_npz_array, numeric_column, read_csv_table, read_npz_arrays


def _read_csv(path: Path, meta: DatasetMeta) -> np.ndarray:
    """The training feature columns of a CSV file, by name (the file may hold more columns)."""
    table = read_csv_table(path)
    wanted = meta.extra.get("feature_names") or table.header
    missing = [c for c in wanted if c not in table.header]
    if missing:
        raise DataError(f"{path}: missing feature column(s) {', '.join(missing)}")
    return np.stack([numeric_column(table, c, "feature") for c in wanted], axis=1).astype(np.float32)


def _read_npz(path: Path) -> np.ndarray:
    """Array ``x`` of an .npz archive (no pickles), checked as the ``npz:`` format checks it."""
    arrays = read_npz_arrays(str(path))
    return check_npz_array(str(path), "x", arrays["x"], "biuf").astype(np.float32)


def _read_images(paths: list[Path], meta: DatasetMeta) -> np.ndarray:
    """Images resized to the training size, in the training channel count, scaled to [0, 1]."""
    channels, height, width = meta.input_shape
    out = np.empty((len(paths), channels, height, width), dtype=np.float32)
    for i, p in enumerate(paths):
        pixels = read_image(p, (height, width), mode="L" if channels == 1 else "RGB")
        out[i] = (pixels[None] if channels == 1 else pixels.transpose(2, 0, 1)) / 255.0
    return out


def read_inputs(source: str | Path | torch.Tensor, meta: DatasetMeta) -> torch.Tensor:
    """Inputs from a tensor, ``.npz`` (key ``x``), ``.csv`` (the training feature columns), an image or
    a folder of images, checked against the training input shape and normalised with its statistics."""
    if torch.is_tensor(source):
        x = source.detach().cpu().float().numpy()
        name = "input tensor"
    else:
        path = Path(source)
        name = str(path)
        if not path.exists():
            raise DataError(f"{path}: file not found")
        if path.is_dir():
            images = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
            if not images:
                raise DataError(f"{path}: no {'/'.join(IMAGE_SUFFIXES)} images in the folder")
            x = _read_images(images, meta)
        elif path.suffix.lower() in IMAGE_SUFFIXES:
            x = _read_images([path], meta)
        elif path.suffix.lower() == ".npz":
            x = _read_npz(path)
        elif path.suffix.lower() == ".csv":
            x = _read_csv(path, meta)
        else:
            raise DataError(f"{path}: unsupported input format (use .csv, .npz or {'/'.join(IMAGE_SUFFIXES)} "
                            "images)")
    if x.ndim == len(meta.input_shape):
        x = x[None]
    if tuple(x.shape[1:]) != tuple(meta.input_shape):
        raise DataError(f"{name}: inputs of shape {tuple(x.shape[1:])}, the model expects {tuple(meta.input_shape)}")
    check_finite(x, name)
    if meta.mean is not None:
        shape = (1, -1) + (1,) * (x.ndim - 2)
        x = (x - np.asarray(meta.mean, dtype=np.float32).reshape(shape)) / np.asarray(
            meta.std, dtype=np.float32).reshape(shape)
    return torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
