"""CIFAR-10 and CIFAR-100 (Krizhevsky 2009), "python version": pickled batches of 32×32 RGB images.

The batches are pickles; they are read with :func:`~deepzoo.data.formats_pickle.load_pickled_dict`,
which never runs what a file names and builds only dicts, lists, bytes, numbers and numeric arrays.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import DataError
from . import FORMATS
from .build import RawData, build_bundle
from .bundle import DataBundle
from .formats_common import choice_option, existing_dir
from .formats_pickle import load_pickled_dict

CIFAR_SIDE = 32
CIFAR_ROW_BYTES = 3 * CIFAR_SIDE * CIFAR_SIDE  # the R plane, then G, then B, each 32×32 row-major


@dataclass(frozen=True)
class CifarLayout:
    """The file names of one CIFAR version and the number of classes per label kind."""

    folder: str
    train: tuple[str, ...]
    test: str
    meta: str
    classes: dict[str, int]


CIFAR10 = CifarLayout("cifar-10-batches-py", tuple(f"data_batch_{i}" for i in range(1, 6)), "test_batch",
                      "batches.meta", {"": 10})
CIFAR100 = CifarLayout("cifar-100-python", ("train",), "test", "meta", {"fine": 100, "coarse": 20})


def _batch_file(root: Path, name: str) -> Path:
    path = root / name
    if not path.is_file():
        raise DataError(f"{root}: missing batch file {name}")
    return path


def read_cifar_batch(path: Path, labels_key: str, classes: int) -> tuple[np.ndarray, np.ndarray]:
    """One batch as images (N, 3, 32, 32) in [0, 1] and labels (N,) int64, checked."""
    batch = load_pickled_dict(path)
    for key in ("data", labels_key):
        if key not in batch:
            raise DataError(f"{path}: no {key!r} entry (the batch has {', '.join(sorted(batch))})")
    data = batch["data"]
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2:
        raise DataError(f"{path}: 'data' must be a 2-D uint8 array, one image per row")
    if data.shape[1] != CIFAR_ROW_BYTES:
        raise DataError(f"{path}: rows have {data.shape[1]} bytes; a CIFAR row has {CIFAR_ROW_BYTES} "
                        "(32×32 pixels × R, G, B planes)")
    labels = np.asarray(batch[labels_key])
    if labels.ndim != 1 or labels.dtype.kind not in "iu":
        raise DataError(f"{path}: {labels_key!r} must be a list of integers")
    if len(labels) != len(data):
        raise DataError(f"{path}: {len(data)} images but {len(labels)} {labels_key!r}")
    bad = np.flatnonzero((labels < 0) | (labels >= classes))
    if len(bad):
        raise DataError(f"{path}: label {labels[bad[0]]} of item {bad[0]} is outside 0..{classes - 1}")
    images = data.reshape(-1, 3, CIFAR_SIDE, CIFAR_SIDE).astype(np.float32) / 255.0
    return images, labels.astype(np.int64)


def _class_names(path: Path, key: str, classes: int) -> list[str]:
    meta = load_pickled_dict(path)
    names = meta.get(key)
    if not isinstance(names, list) or len(names) != classes:
        raise DataError(f"{path}: {key!r} must be a list of {classes} class names")
    return [n.decode("utf-8", "replace") if isinstance(n, bytes) else str(n) for n in names]


def cifar_raw(path: str, layout: CifarLayout, label_kind: str, name: str) -> RawData:
    """Read a CIFAR folder (or its parent holding the extracted ``cifar-10-batches-py`` or
    ``cifar-100-python`` folder); the test batch becomes the test split."""
    root = existing_dir(path)
    if not (root / layout.test).exists() and (root / layout.folder).is_dir():
        root = root / layout.folder
    classes = layout.classes[label_kind]
    labels_key = f"{label_kind}_labels" if label_kind else "labels"
    names_key = f"{label_kind}_label_names" if label_kind else "label_names"
    train_files = [_batch_file(root, f) for f in layout.train]
    test_file, meta_file = _batch_file(root, layout.test), _batch_file(root, layout.meta)
    train = [read_cifar_batch(f, labels_key, classes) for f in train_files]
    x_test, y_test = read_cifar_batch(test_file, labels_key, classes)
    return RawData(name, np.concatenate([x for x, _ in train]), np.concatenate([y for _, y in train]),
                   x_test=x_test, y_test=y_test, class_names=_class_names(meta_file, names_key, classes),
                   source=str(path))


@FORMATS.register("cifar10", summary="CIFAR-10 python batches (data_batch_1..5, test_batch, batches.meta)")
def cifar10_format(path: str, **options: Any) -> DataBundle:
    """CIFAR-10 (10 classes, 50,000 train / 10,000 test images of 32×32), read without unsafe pickles."""
    return build_bundle(cifar_raw(path, CIFAR10, "", "cifar10"), **options)


@FORMATS.register("cifar100", summary="CIFAR-100 python files (train, test, meta); ?labels=fine|coarse")
def cifar100_format(path: str, labels: str = "fine", **options: Any) -> DataBundle:
    """CIFAR-100 with its 100 fine classes or, with ``labels=coarse``, its 20 superclasses."""
    choice_option(labels, ("fine", "coarse"), "labels", path)
    return build_bundle(cifar_raw(path, CIFAR100, labels, f"cifar100-{labels}"), **options)
