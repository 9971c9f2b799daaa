"""Synthetic mixtures for generative models: ``ring``, eight Gaussians on a circle.

The ring is the standard mode-collapse probe of GAN papers (Metz et al. 2017, "Unrolled Generative
Adversarial Networks", §3.1; Srivastava et al. 2017, VEEGAN): a generator that covers all eight modes
has learned the whole distribution, one that hops between a few has collapsed. Points are labelled by
their mode, so a classifier can be trained on them too.

Coordinates live in the unit square like pixel values (centre (0.5, 0.5), radius 0.4), so the GAN
recipe's symmetric normalisation maps the ring to radius 0.8 inside [−1, 1]², within reach of the
generator's tanh output. The mode centres and the standard deviation (in these raw units) are kept
in ``meta.extra`` (``mode_centers``, ``mode_std``) for the geometric mode-coverage metrics.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..errors import DataError
from . import DATASETS
from .build import RawData, build_bundle
from .embedded import DATA_SEED

RING_CENTRE = 0.5


def ring_centers(modes: int, radius: float) -> np.ndarray:
    """(modes, 2) centres evenly spaced on a circle of ``radius`` around (0.5, 0.5), the first at angle 0."""
    angles = 2 * math.pi * np.arange(modes) / modes
    return RING_CENTRE + radius * np.stack([np.cos(angles), np.sin(angles)], 1)


@DATASETS.register("ring", kind="table", summary="8 Gaussians on a ring (2-D points labelled by mode), for GANs")
def ring(modes: int | str = 8, radius: float | str = 0.4, std: float | str = 0.05, count: int | str = 8000,
         **options: Any):
    """``count`` points from an equal mixture of ``modes`` isotropic Gaussians (standard deviation
    ``std``) centred on a circle of ``radius`` in the unit square; labels are the mode indices.

    The default σ/r = 1/8 leaves the modes clearly apart (neighbouring centres are 6σ apart) while a
    plain GAN can still learn all of them; Metz et al.'s ring (r = 2, σ = 0.02) is ``std=0.004``, where
    the plain GAN of the course drops modes (see docs/gans.md)."""
    modes, radius, std, count = int(modes), float(radius), float(std), int(count)
    if modes < 2 or count < modes:
        raise DataError(f"ring: need modes ≥ 2 and count ≥ modes (got modes={modes}, count={count})")
    if not 0 < radius <= 0.5 or std <= 0:
        raise DataError(f"ring: radius={radius} must be in (0, 0.5] and std={std} positive")
    rng = np.random.default_rng(DATA_SEED)
    centers = ring_centers(modes, radius)
    labels = np.arange(count) % modes
    points = centers[labels] + std * rng.standard_normal((count, 2))
    raw = RawData("ring", points.astype(np.float32), labels.astype(np.int64),
                  class_names=[str(k) for k in range(modes)],
                  extra={"mode_centers": centers.tolist(), "mode_std": std})
    return build_bundle(raw, **options)
