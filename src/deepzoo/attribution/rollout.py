"""Attention rollout for Vision Transformers (Abnar & Zuidema 2020, "Quantifying Attention Flow in
Transformers", §3), written here because Captum does not implement it.

Each layer's attention A_l (N, heads, T, T) is averaged over heads; the residual connection is accounted
for by adding the identity, Â_l = 0.5·A_l + 0.5·I, rows renormalised to sum to 1; the layers are
multiplied through, R = Â_L ··· Â_2 Â_1, and the class token's row of R over the patch tokens,
reshaped to the patch grid and upsampled to the image, is the map. Rollout explains the class token's
mixing of the input, not one class: the map is the same whatever class is asked for.

deepzoo's ViT computes attention with fused scaled-dot-product kernels that never form the weights
(torchvision's ViT likewise calls attention with ``need_weights=False``), so a forward pre-hook on each
:class:`~deepzoo.models.vit.SelfAttention` recomputes softmax(q kᵀ/√d) from the layer's own input and
projection.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import ConfigError
from ..models.vit import SelfAttention


def attention_weights(layer: SelfAttention, x: torch.Tensor) -> torch.Tensor:
    """The attention weights (N, heads, T, T) that ``layer`` applies to its input ``x`` (N, T, D):
    softmax(q kᵀ / √d_head) per head (Vaswani et al. 2017, Eq. 1)."""
    batch, tokens, width = x.shape
    qkv = F.linear(x, layer.in_proj_weight, layer.in_proj_bias)
    q, k, _ = qkv.view(batch, tokens, 3, layer.heads, width // layer.heads).permute(2, 0, 3, 1, 4)
    return torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(width // layer.heads), dim=-1)


def rollout(attentions: list[torch.Tensor]) -> torch.Tensor:
    """Rollout (N, T, T) of per-layer attentions (N, heads, T, T), first layer first: heads averaged,
    identity added with weight 0.5, rows renormalised, then multiplied through the layers."""
    result = None
    for weights in attentions:
        mixed = weights.mean(dim=1)
        mixed = 0.5 * mixed + 0.5 * torch.eye(mixed.shape[-1], dtype=mixed.dtype, device=mixed.device)
        mixed = mixed / mixed.sum(dim=-1, keepdim=True)
        result = mixed if result is None else mixed @ result
    return result


def attention_rollout(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Rollout maps (N, H, W) of a ViT for images ``x``: the class token's row over the patch grid,
    bilinearly upsampled to the image; a model without ViT attention layers is a one-line error."""
    layers = [m for m in model.modules() if isinstance(m, SelfAttention)]
    if not layers:
        raise ConfigError(f"rollout: {type(model).__name__} has no attention layers (rollout is for vision "
                          "transformers; use --method gradcam for a convnet)")
    attentions: list[torch.Tensor] = []

    def record(layer: SelfAttention, args: tuple) -> None:
        attentions.append(attention_weights(layer, args[0]))

    handles = [layer.register_forward_pre_hook(record) for layer in layers]
    try:
        with torch.no_grad():
            model(x)
    finally:
        for handle in handles:
            handle.remove()
    patches = rollout(attentions)[:, 0, 1:]
    side = math.isqrt(patches.shape[1])
    if side * side != patches.shape[1]:
        raise ConfigError(f"rollout: {patches.shape[1]} patch tokens do not form a square grid")
    grid = patches.reshape(len(x), 1, side, side)
    return F.interpolate(grid, size=tuple(x.shape[-2:]), mode="bilinear", align_corners=False)[:, 0]
