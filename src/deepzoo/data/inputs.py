"""New inputs for prediction, read and normalised exactly as the training data was."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import torch

from ..errors import DataError
from .build import check_finite
from .bundle import DatasetMeta

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp")


def _read_csv(path: Path, meta: DatasetMeta) -> np.ndarray:
    with path.open(newline="") as f:
        rows = list(csv.reader(f))
    if not rows:
        raise DataError(f"{path}: the file is empty")
    header, body = rows[0], rows[1:]
    wanted = meta.extra.get("feature_names") or header
    missing = [c for c in wanted if c not in header]
    if missing:
        raise DataError(f"{path}: missing feature column(s) {', '.join(missing)}")
    cols = [header.index(c) for c in wanted]
    out = np.empty((len(body), len(cols)), dtype=np.float32)
    for r, row in enumerate(body, start=2):
        for j, c in enumerate(cols):
            try:
                out[r - 2, j] = float(row[c])
            except (ValueError, IndexError):
                raise DataError(f"{path}: line {r}, column {header[c]!r}: not a number") from None
    return out


def _read_images(paths: list[Path], meta: DatasetMeta) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    channels, height, width = meta.input_shape
    out = np.empty((len(paths), channels, height, width), dtype=np.float32)
    for i, p in enumerate(paths):
        try:
            with Image.open(p) as img:
                img = img.convert("L" if channels == 1 else "RGB").resize((width, height))
                arr = np.asarray(img, dtype=np.float32) / 255.0
        except (OSError, UnidentifiedImageError) as err:
            raise DataError(f"{p}: unreadable image ({err})") from None
        out[i] = arr[None] if channels == 1 else arr.transpose(2, 0, 1)
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
            images = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
            if not images:
                raise DataError(f"{path}: no images in the folder")
            x = _read_images(images, meta)
        elif path.suffix.lower() in IMAGE_SUFFIXES:
            x = _read_images([path], meta)
        elif path.suffix.lower() == ".npz":
            with np.load(path, allow_pickle=False) as arrays:
                if "x" not in arrays:
                    raise DataError(f"{path}: no array named 'x'")
                x = arrays["x"].astype(np.float32)
        elif path.suffix.lower() == ".csv":
            x = _read_csv(path, meta)
        else:
            raise DataError(f"{path}: unsupported input format (use .csv, .npz or images)")
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
