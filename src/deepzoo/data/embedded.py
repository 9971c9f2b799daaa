"""Embedded datasets: generated or shipped inside scikit-learn and mnist1d, never downloaded.

Each returns a :class:`DataBundle` through :func:`build_bundle`; the data itself is fixed (its own
generator seed), while ``seed`` chooses the train/valid/test split.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import DataError
from . import DATASETS
from .build import RawData, build_bundle

DATA_SEED = 0  # the embedded data never changes; the run's seed only picks the split


@DATASETS.register("digits", kind="image", summary="scikit-learn's 8×8 handwritten digits: 1797 images, 10 classes")
def digits(**options: Any):
    """scikit-learn's 8×8 digits (UCI optical recognition), pixels scaled from 0..16 to [0, 1]."""
    from sklearn.datasets import load_digits

    d = load_digits()
    x = (d.images.astype(np.float32) / 16.0)[:, None]
    return build_bundle(RawData("digits", x, d.target.astype(np.int64), class_names=[str(c) for c in range(10)]),
                        **options)


@DATASETS.register("moons", kind="table", summary="make_moons: 1000 points, noise 0.3, 2 classes")
def moons(n_samples: int | str = 1000, noise: float | str = 0.3, **options: Any):
    """Two interleaving half circles (scikit-learn ``make_moons``), the tutorial's binary problem."""
    from sklearn.datasets import make_moons

    x, y = make_moons(n_samples=int(n_samples), noise=float(noise), random_state=DATA_SEED)
    return build_bundle(RawData("moons", x.astype(np.float32), y.astype(np.int64)), **options)


HOUSE_PRICES = np.arange(30, 150, 10, dtype=np.float32)
HOUSE_SIZES = np.array([7.5, 7, 6.5, 6.0, 5.5, 5.0, 4.5, 3.5, 3.2, 2.8, 3.0, 2.5], dtype=np.float32)


@DATASETS.register("house-prices", kind="table", summary="the PyTorch tutorial's 12-point price → size toy")
def house_prices(**options: Any):
    """The course tutorial's toy regression: house price (30…140) → size (7.5 … 2.5)."""
    options.setdefault("test_fraction", 0.0)
    options.setdefault("valid_fraction", 0.0)
    return build_bundle(RawData("house-prices", HOUSE_PRICES[:, None], HOUSE_SIZES[:, None].copy()), **options)


@DATASETS.register("regression", kind="table", summary="make_regression: 1000 rows, 10 features, 1 target")
def regression(n_samples: int | str = 1000, n_features: int | str = 10, noise: float | str = 10.0, **options: Any):
    """A linear regression problem with Gaussian noise (scikit-learn ``make_regression``)."""
    from sklearn.datasets import make_regression

    x, y = make_regression(n_samples=int(n_samples), n_features=int(n_features), noise=float(noise),
                           random_state=DATA_SEED)
    return build_bundle(RawData("regression", x.astype(np.float32), y.astype(np.float32)), **options)


@DATASETS.register("mnist1d", kind="signal", summary="MNIST-1D generated offline: 4000 train / 1000 test, length 40")
def mnist1d(**options: Any):
    """MNIST-1D (Greydanus 2020) from the reference generator with its default arguments.

    ``make_dataset(get_dataset_args())`` runs offline (about a second); ``get_dataset()`` would
    download and is never called. Signals are (1, 40); the source's own 1000-item test split is kept.
    """
    from mnist1d.data import get_dataset_args, make_dataset

    d = make_dataset(get_dataset_args())
    raw = RawData(
        "mnist1d",
        d["x"].astype(np.float32)[:, None],
        d["y"].astype(np.int64),
        x_test=d["x_test"].astype(np.float32)[:, None],
        y_test=d["y_test"].astype(np.int64),
        class_names=[str(c) for c in range(10)],
    )
    return build_bundle(raw, **options)


@DATASETS.register("sample-images", kind="image", summary="scikit-learn's two photos, cut into random RGB crops")
def sample_images(crop: int | str = 64, count: int | str = 512, **options: Any):
    """Random ``crop``×``crop`` RGB crops (``count`` of them) of scikit-learn's two bundled photos
    (china.jpg and flower.jpg, 427×640), pixels in [0, 1]; no labels. Used by super-resolution and
    colourisation."""
    from sklearn.datasets import load_sample_images

    crop, count = int(crop), int(count)
    photos = [img.astype(np.float32) / 255.0 for img in load_sample_images().images]
    height, width = photos[0].shape[:2]
    if not 1 <= crop <= min(height, width):
        raise DataError(f"sample-images: crop={crop} must be between 1 and {min(height, width)}")
    rng = np.random.default_rng(DATA_SEED)
    crops = np.empty((count, 3, crop, crop), dtype=np.float32)
    for i in range(count):
        photo = photos[i % len(photos)]
        top = rng.integers(0, height - crop + 1)
        left = rng.integers(0, width - crop + 1)
        crops[i] = photo[top:top + crop, left:left + crop].transpose(2, 0, 1)
    options.setdefault("normalize", "none")
    return build_bundle(RawData("sample-images", crops, None), **options)


@DATASETS.register("digits-multilabel", kind="image",
                   summary="2×2 mosaics of digits (16×16); labels = the set of digits present")
def digits_multilabel(count: int | str = 3000, **options: Any):
    """Multi-label digits: each 16×16 image is a 2×2 mosaic of four random 8×8 digits, and its
    labels are the set of digits that appear (a 0/1 vector of 10). Built from scikit-learn's digits
    with a fixed seed; the run's seed only picks the split."""
    from sklearn.datasets import load_digits

    d = load_digits()
    images = d.images.astype(np.float32) / 16.0
    rng = np.random.default_rng(DATA_SEED)
    picks = rng.integers(0, len(images), size=(int(count), 4))
    x = np.empty((int(count), 1, 16, 16), dtype=np.float32)
    y = np.zeros((int(count), 10), dtype=np.int64)
    for i, (a, b, c, e) in enumerate(picks):
        x[i, 0] = np.block([[images[a], images[b]], [images[c], images[e]]])
        y[i, d.target[[a, b, c, e]]] = 1
    return build_bundle(RawData("digits-multilabel", x, y, class_names=[str(k) for k in range(10)]), **options)


#: the ``patches`` classes and the colour of their square (RGB in [0, 1])
PATCH_COLOURS = {"red": (1.0, 0.0, 0.0), "green": (0.0, 1.0, 0.0), "blue": (0.0, 0.0, 1.0), "yellow": (1.0, 1.0, 0.0)}


def patch_images(count: int, size: int = 32, patch: int = 8, seed: int = DATA_SEED
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``count`` RGB images (N, 3, size, size) of uniform noise, each with one solid ``patch``×``patch``
    square of a class colour (:data:`PATCH_COLOURS`) at a random spot; the class is the colour, so the only
    evidence for it is the square. Returns the images, the labels and the squares' boxes (top, left,
    bottom, right; bottom and right exclusive) — what the pointing check of attribution maps needs."""
    if not 1 <= patch <= size:
        raise DataError(f"patches: patch={patch} must be between 1 and size={size}")
    rng = np.random.default_rng(seed)
    x = rng.random((count, 3, size, size), dtype=np.float32)
    y = rng.integers(0, len(PATCH_COLOURS), size=count)
    corners = rng.integers(0, size - patch + 1, size=(count, 2))
    colours = np.asarray(list(PATCH_COLOURS.values()), dtype=np.float32)
    for i, (top, left) in enumerate(corners):
        x[i, :, top:top + patch, left:left + patch] = colours[y[i]][:, None, None]
    boxes = np.concatenate([corners, corners + patch], axis=1)
    return x, y.astype(np.int64), boxes


@DATASETS.register("patches", kind="image",
                   summary="noise images with one coloured square: the class is its colour (attribution checks)")
def patches(count: int | str = 2000, size: int | str = 32, patch: int | str = 8, **options: Any):
    """:func:`patch_images` as a dataset: 4 classes (red, green, blue, yellow), 32×32 by default. A map
    that explains a trained model should point at the square (chance: its share of the image, 1/16)."""
    x, y, _ = patch_images(int(count), int(size), int(patch))
    return build_bundle(RawData("patches", x, y, class_names=list(PATCH_COLOURS)), **options)
