"""Image datasets by name: MNIST, Fashion-MNIST, CIFAR-10/100, SVHN and STL-10 (with its 100,000
unlabelled images), each fetched once into the folder torchvision downloads it to and read by deepzoo's
own loaders: the IDX reader, the restricted unpickler for CIFAR, ``scipy.io.loadmat`` for SVHN (MATLAB
v5 files, no pickle) and a byte reader for STL-10. Every set keeps its publisher's test split; the
validation split is ``valid_fraction`` (0.2) of the training images, as for any dataset.
"""

from __future__ import annotations

import dataclasses
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import DataError, one_line
from . import DATASETS
from .build import RawData, build_bundle
from .bundle import DataBundle
from .formats_cifar import CIFAR10, CIFAR100, cifar10_format, cifar100_format
from .formats_common import int_option
from .formats_images import MNIST_FILES, mnist_raw
from .named import Download, NamedSource, locate

# -- MNIST and Fashion-MNIST: the IDX files in torchvision's <Class>/raw/ ----------------------------------


def idx_downloads(dataset_class: str) -> list[Download]:
    """The four gzipped IDX files of torchvision's ``MNIST`` or ``FashionMNIST`` (first mirror, MD5s)."""
    import torchvision.datasets

    cls = getattr(torchvision.datasets, dataset_class)
    return [Download(f"{cls.mirrors[0]}{file}", f"{dataset_class}/raw", md5, unpack=True)
            for file, md5 in cls.resources]


IDX_FILES = tuple(name for pair in MNIST_FILES.values() for name in pair)
MNIST_SOURCE = NamedSource("MNIST", "MNIST/raw", IDX_FILES, lambda: idx_downloads("MNIST"))
FASHION_MNIST_SOURCE = NamedSource("Fashion-MNIST", "FashionMNIST/raw", IDX_FILES,
                                   lambda: idx_downloads("FashionMNIST"))
#: Xiao et al. 2017, Table 1 (torchvision's FashionMNIST.classes)
FASHION_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
                   "Ankle boot"]


@DATASETS.register("mnist", kind="image", source=MNIST_SOURCE,
                   summary="MNIST handwritten digits (LeCun et al. 1998): 60,000 train / 10,000 test, 28×28")
def mnist(**options: Any) -> DataBundle:
    """MNIST from torchvision's ``MNIST/raw/`` IDX files; the t10k files are the test split."""
    return build_bundle(mnist_raw(str(locate(MNIST_SOURCE))), **options)


@DATASETS.register("fashion-mnist", kind="image", source=FASHION_MNIST_SOURCE,
                   summary="Fashion-MNIST (Xiao et al. 2017): 10 garment classes, 60,000 / 10,000, 28×28")
def fashion_mnist(**options: Any) -> DataBundle:
    """Fashion-MNIST: MNIST's file format and sizes, Zalando's garment photos and class names."""
    raw = mnist_raw(str(locate(FASHION_MNIST_SOURCE)))
    return build_bundle(dataclasses.replace(raw, name="fashion-mnist", class_names=list(FASHION_CLASSES)), **options)


# -- CIFAR: the python batches, extracted where torchvision extracts them -----------------------------------


def cifar_downloads(dataset_class: str) -> list[Download]:
    """torchvision's CIFAR archive (URL, file name, MD5), unpacked into the data home."""
    import torchvision.datasets

    cls = getattr(torchvision.datasets, dataset_class)
    return [Download(cls.url, "", cls.tgz_md5, unpack=True)]


CIFAR10_SOURCE = NamedSource("CIFAR-10", CIFAR10.folder, (*CIFAR10.train, CIFAR10.test, CIFAR10.meta),
                             lambda: cifar_downloads("CIFAR10"))
CIFAR100_SOURCE = NamedSource("CIFAR-100", CIFAR100.folder, (*CIFAR100.train, CIFAR100.test, CIFAR100.meta),
                              lambda: cifar_downloads("CIFAR100"))


@DATASETS.register("cifar10", kind="image", source=CIFAR10_SOURCE,
                   summary="CIFAR-10 (Krizhevsky 2009): 10 classes, 50,000 train / 10,000 test, 32×32 RGB")
def cifar10(**options: Any) -> DataBundle:
    """CIFAR-10 read from ``cifar-10-batches-py/`` with the restricted unpickler."""
    return cifar10_format(str(locate(CIFAR10_SOURCE)), **options)


@DATASETS.register("cifar100", kind="image", source=CIFAR100_SOURCE,
                   summary="CIFAR-100: 100 classes (labels=coarse: 20), 50,000 / 10,000, 32×32 RGB")
def cifar100(**options: Any) -> DataBundle:
    """CIFAR-100 read from ``cifar-100-python/``; ``labels=fine`` (100, default) or ``coarse`` (20)."""
    return cifar100_format(str(locate(CIFAR100_SOURCE)), **options)


# -- SVHN: MATLAB files ----------------------------------------------------------------------------------


def read_mat(path: Path, keys: tuple[str, ...]) -> dict[str, np.ndarray]:
    """The arrays ``keys`` of a MATLAB (v5) file, read with ``scipy.io.loadmat``, which builds arrays
    only (no pickle); a :class:`DataError` naming the file if it cannot be read or lacks a key (what
    scipy raises on a cut or damaged file: OSError, IndexError, TypeError, zlib.error, MatReadError)."""
    from scipy.io import loadmat
    from scipy.io.matlab import MatReadError

    try:
        content = loadmat(path)
    except (MatReadError, OSError, ValueError, TypeError, IndexError, zlib.error, NotImplementedError) as err:
        raise DataError(f"{path}: cannot be read as a MATLAB file ({one_line(err)})") from None
    missing = [key for key in keys if key not in content]
    if missing:
        found = ", ".join(k for k in content if not k.startswith("__"))
        raise DataError(f"{path}: no {missing[0]!r} array (the file has {found or 'none'})")
    return {key: np.asarray(content[key]) for key in keys}


def integer_labels(values: np.ndarray, low: int, high: int, path: Path, what: str = "label") -> np.ndarray:
    """``values`` flattened to int64, each a whole number in ``low..high``, else a :class:`DataError`
    naming the item (``what`` says what the numbers are)."""
    flat = values.reshape(-1)
    if flat.dtype.kind not in "iuf":
        raise DataError(f"{path}: {what}s are {flat.dtype}, not numbers")
    bad = np.flatnonzero((flat < low) | (flat > high) | (flat != np.round(flat)))
    if len(bad):
        raise DataError(f"{path}: {what} {flat[bad[0]]} of item {bad[0]} is not a whole number in {low}..{high}")
    return flat.astype(np.int64)


SVHN_SPLITS = ("train", "test")


def svhn_downloads() -> list[Download]:
    """torchvision's SVHN ``train`` and ``test`` files (URL, MD5), saved in ``svhn/``."""
    from torchvision.datasets import SVHN

    return [Download(SVHN.split_list[split][0], "svhn", SVHN.split_list[split][2]) for split in SVHN_SPLITS]


SVHN_SOURCE = NamedSource("SVHN", "svhn", tuple(f"{split}_32x32.mat" for split in SVHN_SPLITS), svhn_downloads)


def read_svhn(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """One SVHN file: ``X`` (32, 32, 3, N) uint8 → images (N, 3, 32, 32) in [0, 1]; ``y`` (N, 1) holds
    1…10, where 10 is the digit 0 (Netzer et al. 2011), mapped to 0 so that label = digit."""
    arrays = read_mat(path, ("X", "y"))
    x = arrays["X"]
    if x.dtype != np.uint8 or x.ndim != 4 or x.shape[:3] != (32, 32, 3):
        raise DataError(f"{path}: 'X' is {x.dtype} {x.shape}; SVHN's is uint8 (32, 32, 3, N)")
    labels = integer_labels(arrays["y"], 1, 10, path)
    if len(labels) != x.shape[3]:
        raise DataError(f"{path}: {x.shape[3]} images but {len(labels)} labels")
    labels[labels == 10] = 0
    return np.divide(np.ascontiguousarray(x.transpose(3, 2, 0, 1)), 255, dtype=np.float32), labels


@DATASETS.register("svhn", kind="image", source=SVHN_SOURCE,
                   summary="SVHN house-number digits (Netzer et al. 2011): 73,257 train / 26,032 test, 32×32 RGB")
def svhn(**options: Any) -> DataBundle:
    """SVHN's cropped digits (format 2) from ``svhn/{train,test}_32x32.mat``; labels are the digits."""
    folder = locate(SVHN_SOURCE)
    (x, y), (x_test, y_test) = (read_svhn(folder / name) for name in SVHN_SOURCE.files)
    raw = RawData("svhn", x, y, x_test=x_test, y_test=y_test, class_names=[str(d) for d in range(10)],
                  source=str(folder))
    return build_bundle(raw, **options)


# -- STL-10: raw bytes, each channel stored column by column -----------------------------------------------

STL_SIDE = 96
STL_IMAGE_BYTES = 3 * STL_SIDE * STL_SIDE
STL_LABELLED = ("train_X.bin", "train_y.bin", "test_X.bin", "test_y.bin", "class_names.txt")


def stl10_downloads() -> list[Download]:
    """torchvision's STL-10 binary archive (URL, MD5), unpacked into the data home."""
    from torchvision.datasets import STL10

    return [Download(STL10.url, "", STL10.tgz_md5, unpack=True)]


STL10_SOURCE = NamedSource("STL-10", "stl10_binary", STL_LABELLED, stl10_downloads)
STL10_UNLABELED_SOURCE = NamedSource("STL-10 (unlabelled)", "stl10_binary", ("unlabeled_X.bin",), stl10_downloads)


def read_stl_images(path: Path, count: int | None = None) -> np.ndarray:
    """The first ``count`` (default all) images of an STL-10 ``*_X.bin`` file as (N, 3, 96, 96) floats
    in [0, 1]. Each image is 3 × 96 × 96 bytes, red then green then blue plane, each plane stored
    column by column (MATLAB's order, Coates et al. 2011), so a plane is transposed on reading."""
    size = path.stat().st_size
    if size == 0 or size % STL_IMAGE_BYTES:
        raise DataError(f"{path}: {size} bytes is not a whole number of 96×96 RGB images "
                        f"({STL_IMAGE_BYTES} bytes each)")
    n = size // STL_IMAGE_BYTES if count is None else min(count, size // STL_IMAGE_BYTES)
    planes = np.fromfile(path, np.uint8, count=n * STL_IMAGE_BYTES).reshape(n, 3, STL_SIDE, STL_SIDE)
    return np.divide(np.ascontiguousarray(planes.transpose(0, 1, 3, 2)), 255, dtype=np.float32)


def read_stl_labels(path: Path, count: int) -> np.ndarray:
    """An STL-10 ``*_y.bin`` file: one byte per image, classes 1…10, returned as 0…9."""
    labels = np.fromfile(path, np.uint8)
    if len(labels) != count:
        raise DataError(f"{path}: {len(labels)} labels for {count} images")
    return integer_labels(labels, 1, 10, path) - 1


def read_class_names(path: Path, count: int) -> list[str]:
    """One class name per line, exactly ``count`` of them."""
    try:
        names = [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    except (OSError, UnicodeDecodeError) as err:
        raise DataError(f"{path}: cannot be read ({one_line(err)})") from None
    if len(names) != count:
        raise DataError(f"{path}: {len(names)} class names, expected {count} (one per line)")
    return names


@DATASETS.register("stl10", kind="image", source=STL10_SOURCE,
                   summary="STL-10 (Coates et al. 2011): 10 classes, 5,000 train / 8,000 test, 96×96 RGB")
def stl10(**options: Any) -> DataBundle:
    """STL-10's labelled images from ``stl10_binary/``: the 5,000 training images (the union of the
    ten predefined folds) and the 8,000 test images; class names from ``class_names.txt``."""
    folder = locate(STL10_SOURCE)
    splits = []
    for part in ("train", "test"):
        x = read_stl_images(folder / f"{part}_X.bin")
        splits.append((x, read_stl_labels(folder / f"{part}_y.bin", len(x))))
    (x, y), (x_test, y_test) = splits
    raw = RawData("stl10", x, y, x_test=x_test, y_test=y_test,
                  class_names=read_class_names(folder / "class_names.txt", 10), source=str(folder))
    return build_bundle(raw, **options)


@DATASETS.register("stl10-unlabeled", kind="image", source=STL10_UNLABELED_SOURCE,
                   summary="STL-10's 100,000 unlabelled 96×96 images, for self-supervised pre-training")
def stl10_unlabeled(count: Any = None, **options: Any) -> DataBundle:
    """The unlabelled images of STL-10 (``unlabeled_X.bin``; the first ``count`` of them when given),
    an unsupervised set for the self-supervised tasks: ``valid_fraction`` (0.05) of them are held out
    for the validation loss, no test split (``test_fraction`` 0). All 100,000 need 11 GB as float32."""
    folder = locate(STL10_UNLABELED_SOURCE)
    limit = None if count is None else int_option(count, "count", "stl10-unlabeled", 1)
    x = read_stl_images(folder / "unlabeled_X.bin", limit)
    options.setdefault("valid_fraction", 0.05)
    options.setdefault("test_fraction", 0.0)
    return build_bundle(RawData("stl10-unlabeled", x, None, source=str(folder / "unlabeled_X.bin")), **options)
