"""New inputs for prediction, read and normalised exactly as the training data was.

Files go through the same validating readers as training data (``csv:``, ``npz:`` and ``imagefolder:``),
so a corrupt image, a decompression bomb, an object array or a NaN is one :class:`DataError` line here
too, never a traceback.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch

from ..errors import DataError
from .build import check_finite, normalize_like
from .bundle import DatasetMeta
from .formats_images import image_files_under
from .formats_table import check_npz_array, read_csv_table, read_features, read_npz_arrays
from .image_decode import IMAGE_SUFFIXES
from .image_files import ImageFiles, Normalization, file_array, run_geometry, run_normalization
from .table_encoding import describe_unseen


def _read_csv(path: Path, meta: DatasetMeta) -> np.ndarray:
    """The training feature columns of a CSV file, by name (the file may hold more columns), encoded as
    the run's table encoding says; categories not seen in training are counted on stderr."""
    table = read_csv_table(path, meta.extra.get("delimiter"))
    x, unseen = read_features(table, meta, table.header)
    if unseen:
        print(f"{path}: categories not seen in training, encoded as unknown: {describe_unseen(unseen)}",
              file=sys.stderr)
    return x


def input_ids(source: str | Path | torch.Tensor, meta: DatasetMeta) -> list | None:
    """The id of each row :func:`read_inputs` reads from a CSV file, for prediction files: the run's id
    column (``?id=``) when the file has it, else the row's line number in the file (the header is line
    1, blank lines count: what an editor shows and what errors name). None for other inputs."""
    if torch.is_tensor(source) or Path(source).suffix.lower() != ".csv":
        return None
    table = read_csv_table(source, meta.extra.get("delimiter"))
    column = meta.extra.get("id_column")
    return table.column(column) if column in table.header else table.lines


def _read_npz(path: Path) -> np.ndarray:
    """Array ``x`` of an .npz archive (no pickles), checked as the ``npz:`` format checks it."""
    arrays = read_npz_arrays(str(path))
    return check_npz_array(str(path), "x", arrays["x"], "biuf").astype(np.float32)


def image_inputs(path: Path, meta: DatasetMeta, skip_bad: bool = False) -> ImageFiles | None:
    """An image, or a folder of images searched recursively (sorted by path; a folder of class
    subfolders works), as a streaming evaluation split in the run's geometry and normalisation; each
    item's target is its position, so a batch names its files (``.path(i)``). None for other files."""
    if path.is_dir():
        files = image_files_under(path)
        if not files:
            raise DataError(f"{path}: no {'/'.join(IMAGE_SUFFIXES)} images in the folder or below it")
    elif path.suffix.lower() in IMAGE_SUFFIXES:
        files = [path]
    else:
        return None
    return ImageFiles(file_array(files), torch.arange(len(files)), run_geometry(meta), run_normalization(meta),
                      skip_bad=skip_bad)


def _read_images(images: ImageFiles) -> np.ndarray:
    """Every image in the run's evaluation view and channel count, scaled to [0, 1] as the streaming
    reader scales it."""
    return np.stack([Normalization()(images.pixels(i)).numpy() for i in range(len(images))])


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
        images = image_inputs(path, meta)
        if images is not None:
            x = _read_images(images)
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
    return torch.from_numpy(np.ascontiguousarray(normalize_like(x, meta), dtype=np.float32))
