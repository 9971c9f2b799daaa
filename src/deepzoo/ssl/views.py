"""SimCLR's random views, adapted to the shape of the data (Chen et al. 2020, §3 and Appendix A).

Every view is made on the device for a whole batch with :mod:`deepzoo.data.augment`:

- **RGB images**: random resized crop (area 0.08–1, aspect 3/4–4/3), horizontal flip, colour jitter
  with strength s (brightness, contrast, saturation 0.8·s, hue 0.2·s) applied with p = 0.8, random
  grayscale p = 0.2 — the paper's CIFAR-10 recipe (s = 0.5, no blur on small images). Gaussian blur
  (p = 0.5, σ ∈ [0.1, 2.0], kernel 10% of the side; Appendix A, ImageNet) is optional.
- **One-channel images** (digits): the same crop with a larger smallest area (``crop_scale``, default
  0.3–1 on images under 16 pixels, where 8% of an 8×8 digit is a single pixel), no flip (a mirrored
  digit is another symbol) and no colour distortion (no colour to distort).
- **Signals** (N, C, L; MNIST-1D): SimCLR's crop-and-resize becomes a random translation (circular
  shift), plus amplitude scaling and additive Gaussian noise (Um et al. 2017) — the kinds of change
  the MNIST-1D generator itself applies to its templates (Greydanus 2020).

``data.augment`` replaces these defaults with any spec of :func:`deepzoo.data.augment.build_augmentation`.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from ..data import DatasetMeta
from ..data.augment import BatchTransform, Compose, build_augmentation

# Images below this side get the larger smallest crop area (0.3 instead of SimCLR's 0.08).
SMALL_IMAGE = 16
SMALL_IMAGE_CROP_SCALE = (0.3, 1.0)
SIMCLR_CROP_SCALE = (0.08, 1.0)


class RandomGaussianBlur(BatchTransform):
    """Blur each selected image with a Gaussian of σ uniform in ``sigma`` (SimCLR Appendix A: p = 0.5,
    σ ∈ [0.1, 2.0], kernel side 10% of the image side). One depthwise convolution per axis for the
    whole batch; each sample's kernel is built from its own σ (reflect padding)."""

    ndims = (4,)
    name = "gaussian_blur"

    def __init__(self, sigma: tuple[float, float] = (0.1, 2.0), kernel_fraction: float = 0.1, p: float = 0.5):
        super().__init__(p)
        self.sigma = self._range("sigma", sigma, 1e-3)
        self.kernel_fraction = self._number("kernel_fraction", kernel_fraction, 0.0, 1.0)

    def transform(self, x: Tensor, generator) -> Tensor:
        n, c, height, width = x.shape
        radius = max(1, int(self.kernel_fraction * min(height, width)) // 2)
        radius = min(radius, min(height, width) - 1)
        sigma = self.sigma[0] + (self.sigma[1] - self.sigma[0]) * torch.rand(n, generator=generator, device=x.device)
        offsets = torch.arange(-radius, radius + 1, device=x.device, dtype=torch.float32)
        kernel = torch.exp(-0.5 * (offsets[None] / sigma[:, None]) ** 2)
        kernel = (kernel / kernel.sum(1, keepdim=True)).to(x.dtype)  # (N, K)
        weights = kernel.repeat_interleave(c, 0)  # one kernel per (sample, channel) plane
        planes = x.reshape(1, n * c, height, width)
        planes = F.conv2d(F.pad(planes, (radius, radius, 0, 0), mode="reflect"), weights[:, None, None, :],
                          groups=n * c)
        planes = F.conv2d(F.pad(planes, (0, 0, radius, radius), mode="reflect"), weights[:, None, :, None],
                          groups=n * c)
        return planes.reshape(n, c, height, width)


def default_view_spec(meta: DatasetMeta, strength: float = 0.5, crop_scale: Any = None,
                      blur: bool = False) -> list[Any]:
    """The augmentation spec (a list for :func:`build_augmentation`) of one SimCLR view for data
    shaped like ``meta.input_shape``; see the module docstring."""
    shape = tuple(meta.input_shape)
    if len(shape) == 2:  # signals (C, L)
        length = shape[1]
        return [
            {"name": "shift", "max_shift": max(1, length // 10), "mode": "circular"},
            {"name": "scale", "factor": (0.7, 1.3)},
            {"name": "gaussian_noise", "std": 0.1},
        ]
    if len(shape) != 3:
        from ..errors import ConfigError

        raise ConfigError(f"simclr needs images (C, H, W) or signals (C, L), got inputs shaped {shape}")
    channels, side = shape[0], min(shape[1:])
    if crop_scale is None:
        crop_scale = SMALL_IMAGE_CROP_SCALE if side < SMALL_IMAGE else SIMCLR_CROP_SCALE
    spec: list[Any] = [{"name": "resized_crop", "scale": tuple(crop_scale)}]
    if channels == 3:
        s = float(strength)
        spec += [
            {"name": "flip"},
            {"name": "color_jitter", "brightness": 0.8 * s, "contrast": 0.8 * s, "saturation": 0.8 * s,
             "hue": min(0.5, 0.2 * s), "p": 0.8,
             "value_range": None if meta.value_range is None else tuple(meta.value_range)},
            {"name": "grayscale", "p": 0.2},
        ]
    if blur:
        spec.append(RandomGaussianBlur())
    return spec


def build_views(meta: DatasetMeta, augment: Any = None, **options: Any) -> Compose:
    """The view transform: ``augment`` (a user spec) when given, else :func:`default_view_spec`."""
    return build_augmentation(augment if augment else default_view_spec(meta, **options))


def describe(views: Compose) -> str:
    """One line naming the transforms of a view, for the run log."""
    return ", ".join(repr(t) for t in views) or "none"

