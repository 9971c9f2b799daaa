"""What every image of a set becomes: its channel count and, at ``size=``, the ImageNet recipe's crops.

Training (Szegedy et al. 2015, "Going deeper with convolutions", §6; timm's defaults): a random-resized
crop covering 8–100% of the area with aspect ratio 3/4–4/3, resized to ``size``, then a horizontal flip
with probability 0.5. Evaluation and prediction: the shorter side resized to ``size / 0.875`` (256 for
224 — timm's ``crop_pct``) or to ``resize``, then the centre ``size`` crop. Both use
``torchvision.transforms.v2`` on uint8 tensors with antialiasing, so a pretrained weight's own
preprocessing (``weights.transforms()``: resize 232 or 256, crop 224) gives the same pixels when its
numbers are passed as ``size``/``resize``/``interpolation``. Without ``size`` an image is used as it is
(every image of the set must then have the same size).

The random crop of item ``i`` in epoch ``e`` is drawn from a generator seeded by ``(seed, e, i)``, so it
does not depend on which worker reads the item, and a resumed run draws the same crops.
"""

from __future__ import annotations

import functools
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch

from ..errors import DataError

#: timm's ImageNet evaluation crop: the centre 87.5% of the resized image (224 of 256)
CROP_FRACTION = 0.875
#: the random-resized crop's area fraction and aspect-ratio range, and the flip probability
CROP_SCALE = (0.08, 1.0)
CROP_RATIO = (3 / 4, 4 / 3)
FLIP_PROBABILITY = 0.5
INTERPOLATIONS = ("bilinear", "bicubic", "nearest")


def parse_size(value: str | int, source: str) -> tuple[int, int]:
    """``size=H`` (square) or ``size=HxW`` as ``(height, width)``."""
    try:
        dims = [int(part) for part in str(value).lower().split("x")]
    except ValueError:
        dims = []
    if len(dims) == 1:
        dims *= 2
    if len(dims) != 2 or min(dims) < 1:
        raise DataError(f"{source}: option size={value!r} should be H or HxW with positive integers")
    return dims[0], dims[1]


def default_resize(size: tuple[int, int]) -> int:
    """The evaluation resize of the shorter side: ``floor(max(size) / 0.875)`` (256 for 224)."""
    return int(max(size) / CROP_FRACTION)


@dataclass(frozen=True)
class ImageGeometry:
    """The shape every image takes and how it gets there.

    ``size`` (H, W) is the crop of the ImageNet recipe, ``resize`` the shorter side before the centre
    crop at evaluation; with ``size`` None, ``native`` (H, W) is the one size every image has.
    """

    channels: int
    size: tuple[int, int] | None = None
    resize: int | None = None
    interpolation: str = "bilinear"
    native: tuple[int, int] | None = None

    @property
    def shape(self) -> tuple[int, int, int]:
        """(C, H, W) of every item."""
        return (self.channels, *(self.size or self.native))

    def evaluate(self, pixels: torch.Tensor) -> torch.Tensor:
        """The evaluation view of uint8 (C, H, W) pixels: resize of the shorter side and centre crop, or
        without ``size`` a resize to ``native`` for an image of another size (a new input to predict)."""
        from torchvision.transforms.v2 import functional as F

        if self.size is None:
            if tuple(pixels.shape[1:]) == tuple(self.native):
                return pixels
            return F.resize(pixels, list(self.native), interpolation=self._mode(), antialias=True)

        pixels = F.resize(pixels, [self.resize], interpolation=self._mode(), antialias=True)
        return F.center_crop(pixels, list(self.size))

    def train(self, pixels: torch.Tensor, seed: int) -> torch.Tensor:
        """A random-resized crop and flip of uint8 (C, H, W) pixels, drawn from ``seed`` alone (torch's
        global generator is left as it was)."""
        if self.size is None:
            return pixels
        with torch.random.fork_rng(devices=[]):
            # the CPU generator alone: torch.manual_seed would also queue a seed for every accelerator
            # backend, recording a stack trace each time (0.4 ms an item, a third of the crop's cost)
            torch.random.default_generator.manual_seed(seed)
            return self._random_crop_and_flip(pixels)

    @functools.cached_property
    def _random_crop_and_flip(self):
        from torchvision.transforms import v2

        crop = v2.RandomResizedCrop(list(self.size), CROP_SCALE, CROP_RATIO, self._mode(), antialias=True)
        return v2.Compose([crop, v2.RandomHorizontalFlip(FLIP_PROBABILITY)])

    def _mode(self):
        from torchvision.transforms.v2 import InterpolationMode

        return InterpolationMode(self.interpolation)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly copy (the run's ``meta.json`` keeps it for ``predict``)."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> ImageGeometry:
        """The geometry :meth:`to_dict` wrote."""
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in values.items()})


def sample_seed(seed: int, epoch: int, index: int) -> int:
    """A 63-bit seed for one item in one epoch, mixed by numpy's SeedSequence (nearby inputs give
    unrelated seeds)."""
    return int(np.random.SeedSequence((seed, epoch, index)).generate_state(1, np.uint64)[0] >> 1)
