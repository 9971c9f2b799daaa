"""The three losses of neural style transfer (Gatys, Ecker & Bethge 2016, "Image Style Transfer Using
Convolutional Neural Networks", CVPR), written for batched feature maps ``(B, C, H, W)``.

Normalisation: the Gram matrix is divided by ``C·H·W`` and the content and style errors are means, as in
the PyTorch tutorial, so its weights (content 1, style 10⁶) carry over. Gatys et al. sum instead:
their eq. 1 is ``½ Σ (F − P)²`` and eq. 4 is ``E_l = 1/(4 N_l² M_l²) Σ (G − A)²`` with the unnormalised
``G = F Fᵀ``; that equals ``N_l²/4`` times :func:`style_loss` here, a per-layer constant that the layer
weights absorb.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def gram_matrix(features: torch.Tensor) -> torch.Tensor:
    """Channel correlations ``G = F Fᵀ / (C·H·W)`` of feature maps ``(B, C, H, W)`` → ``(B, C, C)``.

    ``F`` is the ``C × (H·W)`` matrix of one image's maps (Gatys et al. eq. 3, normalised by the
    number of entries of ``F`` so that layers of different sizes give comparable values).
    """
    b, c, h, w = features.shape
    flat = features.reshape(b, c, h * w)
    return torch.bmm(flat, flat.transpose(1, 2)) / (c * h * w)


def content_loss(features: torch.Tensor, target: torch.Tensor, weight: float = 1.0) -> torch.Tensor:
    """``weight · mean((F − P)²)``: the squared error between the generated image's feature maps ``F``
    and the content image's ``P`` at one layer (Gatys et al. eq. 1, as a mean instead of ``½ Σ``)."""
    return weight * F.mse_loss(features, target)


def style_loss(features: torch.Tensor, target_gram: torch.Tensor, weight: float = 1.0) -> torch.Tensor:
    """``weight · mean((G − A)²)``: the squared error between the Gram matrix ``G`` of the generated
    image's feature maps and the style image's ``A`` (:func:`gram_matrix`) at one layer (Gatys et al.
    eq. 4 up to the per-layer constant ``N_l²/4``, see the module docstring).

    A Gram matrix sums over positions, so the loss ignores where things are: shuffling the positions
    of the feature map leaves it unchanged.
    """
    return weight * F.mse_loss(gram_matrix(features), target_gram.expand(features.shape[0], -1, -1))


def total_variation_loss(image: torch.Tensor, weight: float = 1.0) -> torch.Tensor:
    """``weight · Σ ((x[i+1, j] − x[i, j])² + (x[i, j+1] − x[i, j])²) / (B·C·H·W)``: the squared
    differences of vertically and horizontally neighbouring pixels, per channel, summed and divided by
    the number of values so that a weight suits every image size. It is the total variation of
    Mahendran & Vedaldi 2015 (their ``R_V^β`` with β = 2) and smooths the pixel-level noise that
    matching deep features leaves behind."""
    vertical = (image[..., 1:, :] - image[..., :-1, :]).square().sum()
    horizontal = (image[..., :, 1:] - image[..., :, :-1]).square().sum()
    return weight * (vertical + horizontal) / image.numel()


def range_loss(image: torch.Tensor, weight: float = 1.0) -> torch.Tensor:
    """``weight · mean(d²)`` with ``d`` how far each pixel value lies outside [0, 1] (0 inside): the
    bounded-range penalty of Mahendran & Vedaldi 2015. Matching random features pushes pixels out of
    range, and clamping them afterwards undoes part of the match; penalising them keeps the optimum
    close to a real image while the optimiser stays unconstrained (clamping inside L-BFGS breaks its
    curvature pairs)."""
    return weight * ((-image).clamp(min=0).square() + (image - 1).clamp(min=0).square()).mean()
