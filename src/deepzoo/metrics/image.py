"""Image-quality metrics: deepzoo's one PSNR, and PSNR and SSIM on the luma channel as the
super-resolution papers measure them, computed by torchmetrics; this module adds only the conventions.

**PSNR** (:func:`psnr`): per image, 10·log10(range² / MSE), an exact copy capped so that means stay
finite; the autoencoder uses average it over the test images (the image-restoration convention).

**Super-resolution.** PSNR and SSIM on the luma (Y) channel with a border of ``scale`` pixels cropped,
the convention of Ledig et al. 2017 and the SR literature: RGB in [0, 1] is quantised to 8 bits, Y is
ITU-R BT.601's 16 + 65.481·R + 128.553·G + 24.966·B (range 16–235 of 255), PSNR uses a peak of 255, and
SSIM is Wang et al. 2004 (Gaussian window 11, σ = 1.5, K1 = 0.01, K2 = 0.03, valid filtering).
"""

from __future__ import annotations

import math

import torch
from torchmetrics.functional.image import peak_signal_noise_ratio, structural_similarity_index_measure

from ..errors import ConfigError


def psnr(output: torch.Tensor, target: torch.Tensor, data_range: float, max_db: float = 100.0) -> torch.Tensor:
    """Peak signal-to-noise ratio of each item, 10·log10(range² / MSE) in dB: (N,).

    deepzoo's one PSNR: torchmetrics' ``peak_signal_noise_ratio`` with the MSE taken over each item's
    components (float32). Outputs are not clamped to the range, so a noisy input outside it counts
    fully. An exact copy (MSE 0, +∞ dB) is capped at ``max_db``, so that means stay finite.
    The autoencoder uses report the mean over the test images with the default 100 dB cap, the usual
    image-restoration convention (per image, then averaged); the super-resolution PSNR on Y
    (:func:`psnr_y`) wraps it with its own cap.
    """
    per_image = peak_signal_noise_ratio(output.float(), target.float(), data_range=data_range,
                                        reduction="none", dim=tuple(range(1, target.dim())))
    return per_image.clamp(max=max_db)



BT601_Y = (65.481, 128.553, 24.966)  # ITU-R BT.601 luma weights for RGB in [0, 1], Y in [16, 235]
#: the PSNR on Y of an exact copy (MSE 0, +∞ dB): that of an MSE of 1e-10 in 8-bit units, so a split's
#: mean stays finite (a one-level error in one pixel of a 96×96 crop still scores ~108 dB, below it)
Y_PSNR_CAP_DB = 10 * math.log10(255.0**2 / 1e-10)  # 148.1 dB
SSIM_WINDOW = 11  # Wang et al. 2004's Gaussian window (σ = 1.5); torchmetrics derives the same size from σ


def luma(images: torch.Tensor) -> torch.Tensor:
    """(N, 3, H, W) RGB in [0, 1] → (N, 1, H, W) Y in [16, 235] after 8-bit quantisation of the RGB
    values; one-channel images are taken as grey levels (×255).

    The SR literature measures on the Y of ITU-R BT.601 studio swing (16 + 65.481·R + 128.553·G +
    24.966·B, MATLAB's ``rgb2ycbcr``) of 8-bit images (Ledig et al. 2017, "Data and similarity
    measures"), so RGB is rounded to 8 bits first.
    """
    x = (images.float().clamp(0, 1) * 255).round() / 255
    if x.shape[1] == 1:
        return x * 255
    weights = torch.tensor(BT601_Y, device=x.device).view(1, 3, 1, 1)
    return 16.0 + (x * weights).sum(1, keepdim=True)


def _crop(x: torch.Tensor, border: int) -> torch.Tensor:
    return x[..., border:-border, border:-border] if border else x


def psnr_y(output: torch.Tensor, target: torch.Tensor, border: int = 0) -> torch.Tensor:
    """Per-image PSNR (dB) on Y with ``border`` pixels cropped: 10·log10(255² / MSE), the SR papers'
    convention (Ledig et al. 2017, "Data and similarity measures": Y channel, a border as wide as the
    scale removed).

    A thin wrapper: :func:`luma` and the crop, then deepzoo's one PSNR
    (:func:`psnr`, torchmetrics underneath) with a peak of 255 and an exact
    copy capped at :data:`Y_PSNR_CAP_DB`.
    """
    return psnr(_crop(luma(output), border), _crop(luma(target), border), 255.0, max_db=Y_PSNR_CAP_DB)


def ssim(x: torch.Tensor, y: torch.Tensor, data_range: float = 255.0) -> torch.Tensor:
    """Per-image mean SSIM of one-channel images with valid filtering (Wang et al. 2004, Eq. 13;
    Gaussian window 11, σ 1.5, C1 = (0.01 L)², C2 = (0.03 L)²), computed in float64.

    torchmetrics' ``structural_similarity_index_measure`` gives the SSIM map of the whole image, with the
    image reflected into the windows along its border; the SR convention (Wang et al.'s reference code,
    and the SR papers after it) averages only the windows that lie inside the image, so the map's border
    of half a window is dropped before the mean. Images need at least 11×11 pixels.
    """
    half = SSIM_WINDOW // 2
    if min(x.shape[-2:]) < SSIM_WINDOW:
        raise ConfigError(f"SSIM with an {SSIM_WINDOW}×{SSIM_WINDOW} window needs images of at least that size "
                          f"after the border crop, got {tuple(x.shape[-2:])}: use larger crops")
    _, ssim_map = structural_similarity_index_measure(x.double(), y.double(), sigma=1.5, k1=0.01, k2=0.03,
                                                      data_range=data_range, reduction="none",
                                                      return_full_image=True)
    return ssim_map[..., half:-half, half:-half].flatten(1).mean(1)


def ssim_y(output: torch.Tensor, target: torch.Tensor, border: int = 0) -> torch.Tensor:
    """Per-image SSIM on Y (range 255) with ``border`` pixels cropped, the SR papers' convention
    (Ledig et al. 2017): :func:`luma`, the crop, then :func:`ssim`."""
    return ssim(_crop(luma(output), border), _crop(luma(target), border))
