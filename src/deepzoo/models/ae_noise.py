"""Input corruption for denoising autoencoders (Vincent et al. 2008 and 2010).

A denoising autoencoder reconstructs the clean input from a corrupted copy. Each function here takes a
batch ``x`` of shape (N, ...) and returns a corrupted copy of the same shape; every example is corrupted
independently, over all its components (pixels of every channel, or table columns). Pass a
``torch.Generator`` on ``x``'s device for reproducible noise.

- :func:`masking_noise` — Vincent et al. 2008, §2.3: "a fixed number νd of components are chosen at
  random, and their value is forced to 0". The count is exact per example: round(ν·d) components.
- :func:`gaussian_noise` — additive isotropic Gaussian noise, x̃ = x + σ·ε (Vincent et al. 2010).
- :func:`salt_and_pepper_noise` — the same exact fraction ν of components, each set to the minimum or
  maximum value with probability ½ (Vincent et al. 2010).
"""

from __future__ import annotations

import torch

from ..errors import ConfigError

NOISE_KINDS = ("none", "mask", "gaussian", "salt_pepper")


def _chosen_components(x: torch.Tensor, fraction: float, generator: torch.Generator | None) -> torch.Tensor:
    """A boolean mask of x's shape marking exactly round(fraction·d) random components of each example."""
    if not 0.0 <= fraction <= 1.0:
        raise ConfigError(f"noise_level={fraction} must be a fraction between 0 and 1 for this noise")
    n, d = x.shape[0], x[0].numel()
    count = round(fraction * d)
    scores = torch.rand(n, d, generator=generator, device=x.device)
    chosen = torch.zeros(n, d, dtype=torch.bool, device=x.device)
    chosen.scatter_(1, scores.argsort(dim=1)[:, :count], True)
    return chosen.view_as(x)


def masking_noise(x: torch.Tensor, q: float, generator: torch.Generator | None = None) -> torch.Tensor:
    """Zero exactly round(q·d) randomly chosen components of every example (Vincent et al. 2008, §2.3)."""
    return x.masked_fill(_chosen_components(x, q, generator), 0.0)


def gaussian_noise(x: torch.Tensor, sigma: float, generator: torch.Generator | None = None) -> torch.Tensor:
    """Add N(0, σ²) noise to every component, without clipping (Vincent et al. 2010)."""
    if sigma < 0:
        raise ConfigError(f"noise_level={sigma} must be a non-negative standard deviation for gaussian noise")
    noise = torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)
    return x + sigma * noise


def salt_and_pepper_noise(x: torch.Tensor, q: float, low: float | torch.Tensor = 0.0,
                          high: float | torch.Tensor = 1.0,
                          generator: torch.Generator | None = None) -> torch.Tensor:
    """Set exactly round(q·d) random components of every example to ``low`` or ``high`` (coin flip each).

    Vincent et al. 2010 (JMLR): salt-and-pepper noise sets a fraction of the components to their minimum
    or maximum possible value (typically 0 or 1).
    """
    chosen = _chosen_components(x, q, generator)
    salt = torch.rand(x.shape, generator=generator, device=x.device) < 0.5
    high_t, low_t = (torch.as_tensor(v, dtype=x.dtype, device=x.device) for v in (high, low))
    return torch.where(chosen, torch.where(salt, high_t, low_t), x)


def apply_noise(x: torch.Tensor, kind: str, level: float, *, value_range: tuple[float, float] | None = None,
                generator: torch.Generator | None = None) -> torch.Tensor:
    """Corrupt ``x`` with the named noise: ``level`` is ν for mask/salt_pepper and σ for gaussian.

    Salt-and-pepper uses ``value_range`` as its minimum and maximum; when the range is unknown
    (standardised data) it uses the batch's own minimum and maximum (kept on the device: no sync).
    """
    if kind == "none":
        return x
    if kind == "mask":
        return masking_noise(x, level, generator)
    if kind == "gaussian":
        return gaussian_noise(x, level, generator)
    if kind == "salt_pepper":
        if value_range is not None:
            return salt_and_pepper_noise(x, level, value_range[0], value_range[1], generator)
        return salt_and_pepper_noise(x, level, x.amin(), x.amax(), generator)
    raise ConfigError(f"noise={kind!r} is not one of {', '.join(NOISE_KINDS)}")
