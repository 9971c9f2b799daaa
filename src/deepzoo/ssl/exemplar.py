"""Exemplar CNN's surrogate classes (Dosovitskiy, Springenberg, Riedmiller & Brox 2014, §2).

N seed patches are taken from the unlabelled images, each from a region with strong gradients
(sampled with probability proportional to the mean squared gradient magnitude inside the patch), and
each seed becomes a class of its own. Training images of class i are random transformations of seed i:
translation by up to 0.2 of the patch side, scaling by 0.7–1.4, rotation by up to ±20° and changes of
contrast and colour (§2.1). Each transformed patch is resampled from the source image around the seed,
so translations and zoom-outs bring in the real surroundings instead of an empty border.

The paper draws a fixed set of K transformed copies per seed before training; here fresh ones are drawn
for every batch, the limit of large K (the paper's accuracy grew with K up to 100 and then levelled off).
Signals (N, C, L) get the 1-D analogue: shift, time scaling and amplitude scaling, no rotation.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from ..data.augment import Compose, build_augmentation

# Dosovitskiy et al. §2.1 (Table 1 of the supplement): the ranges of the transformations.
TRANSLATION = 0.2
SCALE = (0.7, 1.4)
ROTATION_DEGREES = 20.0


def gradient_energy(x: Tensor) -> Tensor:
    """Squared gradient magnitude per position (N, *spatial), summed over channels (forward
    differences, zero at the last row and column)."""
    energy = torch.zeros(x.shape[0], *x.shape[2:], device=x.device, dtype=x.dtype)
    for axis in range(2, x.dim()):
        diff = torch.diff(x, dim=axis, append=x.narrow(axis, x.shape[axis] - 1, 1))
        energy = energy + diff.pow(2).sum(1)
    return energy


def choose_seeds(x: Tensor, count: int, patch: int, generator: torch.Generator) -> tuple[Tensor, Tensor]:
    """``count`` seeds from the images ``x`` (N, C, *spatial): distinct images chosen at random and in
    each a patch position drawn with probability proportional to the mean squared gradient magnitude
    inside the patch. Returns the image indices (count,) and the patch centres (count, D) in pixels
    (continuous coordinates, 0 at the image's first edge)."""
    images = torch.randperm(x.shape[0], generator=generator)[:count]
    energy = gradient_energy(x[images]).unsqueeze(1)
    pool = F.avg_pool2d if x.dim() == 4 else F.avg_pool1d
    window = pool(energy, patch, stride=1).flatten(1) + 1e-12  # mean energy of every patch position
    flat = torch.multinomial(window, 1, generator=generator)[:, 0]
    valid = [s - patch + 1 for s in x.shape[2:]]
    corner = torch.stack(torch.unravel_index(flat, valid), dim=1) if len(valid) > 1 else flat[:, None]
    return images, corner.float() + patch / 2


def _uniform(n: int, low: float, high: float, generator, device) -> Tensor:
    return low + (high - low) * torch.rand(n, generator=generator, device=device)


def transformed_patches(images: Tensor, centres: Tensor, patch: int, generator,
                        rotation: float = ROTATION_DEGREES) -> Tensor:
    """One random transformation of each seed: a patch of side ``patch`` resampled (bilinear, zeros
    outside the image) from ``images`` (N, C, *spatial) around ``centres`` (N, D), translated by up to
    0.2·patch, scaled by 0.7–1.4 and, for images, rotated by up to ±``rotation`` degrees."""
    n, device = images.shape[0], images.device
    signal = images.dim() == 3
    planes = images.unsqueeze(2) if signal else images  # signals as (N, C, 1, L)
    height, width = planes.shape[-2:]
    scale = _uniform(n, *SCALE, generator, device)
    angle = torch.deg2rad(_uniform(n, -rotation, rotation, generator, device))
    if signal:
        angle = torch.zeros_like(angle)
    shift = _uniform(n * 2, -TRANSLATION * patch, TRANSLATION * patch, generator, device).view(n, 2)
    centre = centres.flip(-1) if not signal else torch.cat([centres, torch.full_like(centres, 0.5)], 1)
    if signal:
        shift[:, 1] = 0
    # Output pixel (u, v), relative to the patch centre, reads the input at centre + shift + R·(u, v)/scale.
    offsets = torch.arange(patch, device=device, dtype=torch.float32) + 0.5 - patch / 2
    rows = offsets if not signal else torch.zeros(1, device=device)
    u, v = offsets.view(1, 1, -1), rows.view(1, -1, 1)
    cos, sin = (angle.cos() / scale).view(n, 1, 1), (angle.sin() / scale).view(n, 1, 1)
    px = centre[:, 0].view(n, 1, 1) + shift[:, 0].view(n, 1, 1) + cos * u - sin * v
    py = centre[:, 1].view(n, 1, 1) + shift[:, 1].view(n, 1, 1) + sin * u + cos * v
    grid = torch.stack([2 * px / width - 1, 2 * py / height - 1], dim=-1).to(images.dtype)
    out = F.grid_sample(planes, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    return out.squeeze(2) if signal else out


def photometric_transform(channels: int, signal: bool, value_range) -> Compose:
    """The paper's contrast and colour changes: brightness and contrast (saturation and hue for RGB)
    jitter on images; amplitude scaling by 0.7–1.4 on signals."""
    if signal:
        return build_augmentation([{"name": "scale", "factor": SCALE}])
    colour = channels == 3
    return build_augmentation([{"name": "color_jitter", "brightness": 0.4, "contrast": 0.4,
                                "saturation": 0.4 if colour else 0.0, "hue": 0.1 if colour else 0.0, "p": 1.0,
                                "value_range": None if value_range is None else tuple(value_range)}])


def default_patch(spatial: tuple[int, ...]) -> int:
    """The paper's 32-pixel patches, or the whole input when it is smaller (signals: up to 64)."""
    return min(min(spatial), 32 if len(spatial) == 2 else 64)
