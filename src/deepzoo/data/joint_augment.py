"""Augmentation that moves an image and its mask together, on the device, a whole batch at a time.

A segmentation's label belongs to a pixel, so every geometric change of the image must happen to the
mask too — and a mask is never interpolated: a pixel between a circle (1) and a triangle (3) is not a
square (2). Each image gets one random affine map composed of

- ``flip``: a horizontal mirror with probability ``p`` (0.5);
- ``scale``: a zoom by a factor drawn uniformly from ``factor`` (0.75..1.25; above 1 zooms in);
- ``crop``: a random place for the output window — anywhere inside the zoomed image (or, zoomed out,
  anywhere the image stays inside the window), ``padding`` pixels (4) beyond — the random crop of the
  semantic-segmentation recipes (scale, then crop to a fixed size).

The image is resampled through that map with bilinear interpolation (``interpolation``) and the mask
with **nearest neighbour**, both by one ``grid_sample`` over the same grid, so they stay aligned pixel
for pixel. What falls outside the source becomes 0 in the image (the normalised mean) and the ignore
index in the mask, so padding never counts as background. Every random number comes from the generator
passed in (the recipe's own, saved in its checkpoints), so a resumed run draws the same maps.

The spec uses the syntax of ``data.augment`` (:func:`~deepzoo.data.augment.parse_augmentation`):
``flip,scale,crop`` or ``flip:p=0.5,scale:factor=0.5..2,crop:padding=8``.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from ..errors import ConfigError
from .augment import _affine_sample, parse_augmentation

#: each joint transform's options and defaults
JOINT_TRANSFORMS: dict[str, dict[str, Any]] = {"flip": {"p": 0.5}, "scale": {"factor": (0.75, 1.25)},
                                               "crop": {"padding": 4}}


@dataclass(frozen=True)
class JointAugmentation:
    """A random flip, zoom and crop window per image, applied to images (N, C, H, W) and masks (N, H, W)
    alike (see the module docstring); the identity where an option leaves its transform out."""

    flip: float = 0.0
    scale: tuple[float, float] = (1.0, 1.0)
    padding: int = 0
    crop: bool = False
    interpolation: str = "bilinear"
    ignore_index: int = 255

    @classmethod
    def from_spec(cls, spec: Any, ignore_index: int = 255) -> JointAugmentation:
        """The augmentation a ``data.augment`` spec names (a string, or a list of names or dicts); an unknown
        transform or option is a one-line :class:`ConfigError` with the close matches."""
        entries = parse_augmentation(spec) if isinstance(spec, str) else list(spec)
        chosen: dict[str, dict[str, Any]] = {}
        for entry in entries:
            options = dict({"name": entry} if isinstance(entry, str) else entry)
            name = str(options.pop("name", ""))
            if name not in JOINT_TRANSFORMS:
                close = difflib.get_close_matches(name, JOINT_TRANSFORMS, n=1)
                hint = f" (did you mean {close[0]}?)" if close else ""
                raise ConfigError(f"data.augment: {name!r} is not a transform that moves a mask with its image"
                                  f"{hint}; segmentation takes {', '.join(JOINT_TRANSFORMS)}")
            unknown = sorted(set(options) - set(JOINT_TRANSFORMS[name]))
            if unknown:
                raise ConfigError(f"data.augment: {name} takes {', '.join(JOINT_TRANSFORMS[name])}, not "
                                  f"{', '.join(unknown)}")
            chosen[name] = {**JOINT_TRANSFORMS[name], **options}
        flip = chosen.get("flip", {"p": 0.0})["p"]
        factor = chosen.get("scale", {"factor": (1.0, 1.0)})["factor"]
        padding = chosen.get("crop", {"padding": 0})["padding"]
        try:
            low, high = (float(v) for v in (factor if isinstance(factor, (tuple, list)) else (factor, factor)))
            flip, padding = float(flip), int(padding)
        except (TypeError, ValueError):
            low = high = -1.0
        if not (0 < low <= high and 0 <= flip <= 1 and padding >= 0):
            raise ConfigError(f"data.augment={spec!r}: flip takes p in [0, 1], scale a factor low..high > 0, crop "
                              "a padding ≥ 0 in pixels")
        return cls(flip, (low, high), padding, "crop" in chosen, ignore_index=ignore_index)

    def __call__(self, x: Tensor, mask: Tensor, generator: torch.Generator | None = None) -> tuple[Tensor, Tensor]:
        """``(images, masks)`` moved by one random map per item (masks keep their dtype)."""
        n, device = len(x), x.device
        flips = torch.rand(n, generator=generator, device=device) < self.flip
        low, high = self.scale
        zoom = low + (high - low) * torch.rand(n, generator=generator, device=device)
        # the window's centre may move (normalised units, the image spans −1…1) as far as keeps the zoomed
        # image covering it (zoomed in) or inside it (zoomed out), plus the padding
        reach = (1 - 1 / zoom).abs()[:, None] * self.crop + torch.tensor(
            [2 * self.padding / x.shape[-1], 2 * self.padding / x.shape[-2]], device=device) * self.crop
        shift = (torch.rand((n, 2), generator=generator, device=device) * 2 - 1) * reach
        theta = torch.zeros((n, 2, 3), device=device)
        theta[:, 0, 0] = torch.where(flips, -1.0, 1.0) / zoom
        theta[:, 1, 1] = 1 / zoom
        theta[:, :, 2] = shift
        images = _affine_sample(x, theta, self.interpolation)
        labels = _affine_sample(mask[:, None].float(), theta, "nearest", fill=float(self.ignore_index))
        return images, labels[:, 0].round().to(mask.dtype)
