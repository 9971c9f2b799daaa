"""Vision Transformer (Dosovitskiy et al. 2021, "An Image is Worth 16x16 Words: Transformers for Image
Recognition at Scale").

§3.1 and Eq. 1-4 of the paper: the image is cut into P×P patches, each flattened and linearly projected
to the model width D (one P×P stride-P conv, ``conv_proj``); a learned class token is prepended and
learned position embeddings are added (Eq. 1); L pre-norm encoder blocks follow, each
x = x + MSA(LN(x)) then x = x + MLP(LN(x)) with a GELU MLP of width ``mlp_dim`` (Eq. 2-3); the class
token's final layer-normed state (Eq. 4) goes through a linear head. Attention is
:func:`torch.nn.functional.scaled_dot_product_attention` (fused kernels where the device has them).

Variants (Table 1): ViT-B/16 (12 layers, width 768, MLP 3072, 12 heads), ViT-L/16 (24, 1024, 4096, 16),
ViT-H/14 (32, 1280, 5120, 16). Module and parameter names are torchvision's (``conv_proj``,
``class_token``, ``encoder.pos_embedding``, ``encoder.layers.encoder_layer_{i}`` with ``ln_1``,
``self_attention.in_proj_weight`` …, ``mlp.0``/``mlp.3``, ``encoder.ln``) except the head, ``heads.head``
there and ``head`` here, so torchvision weight files load (:meth:`VisionTransformer.convert_state_dict`).

Small inputs: ``image_size`` (alias of ``input_size``) sets the number of position embeddings. With
``patch_size`` left at None, images up to 64 px use the divisor of the image size closest to size/8
(:func:`small_input_patch`: 32 → 4, 28 → 4, 8 → 1), giving a grid of about 8×8 tokens; larger images use
the name's patch (16 or 14). Two small named models: ``vit_tiny_patch4_32`` for 32×32 images and
``vit_tiny_patch2_8`` for 8×8 digits, both with DeiT-Ti's encoder (Touvron et al. 2021: 12 layers,
width 192, MLP 768, 3 heads).

Hybrid (§3.1 "Hybrid Architecture"): ``vit_hybrid_r50`` takes its tokens from a ResNet-50 feature map
instead of image patches — the stem and stages 1-3 with stage 3 lengthened to 9 blocks (the paper moves
stage 4's blocks there; layers (3, 4, 9)), stride 16, then a 1×1 conv ("patches of size 1×1") to the
width of ViT-B. The paper's ResNet uses group norm and weight standardisation (BiT); this one uses batch
norm as the zoo's ResNets do.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import ConfigError
from . import register_model
from ._base import Classifier
from .resnet import SMALL_INPUT_MAX, Bottleneck, ResNet

DOSOVITSKIY_2021 = ("Dosovitskiy et al. 2021, An Image is Worth 16x16 Words: Transformers for Image "
                    "Recognition at Scale")


def small_input_patch(image_size: int) -> int:
    """The patch size for an image of at most 64 px when none is given: the divisor of ``image_size``
    closest to ``image_size / 8`` (ties to the smaller), so the token grid is about 8×8."""
    divisors = [p for p in range(1, image_size + 1) if image_size % p == 0]
    return min(divisors, key=lambda p: (abs(p - image_size / 8), p))


class SelfAttention(nn.Module):
    """Multi-head self-attention (Vaswani et al. 2017; ViT Eq. 2): one packed q/k/v projection
    (``in_proj_weight``/``in_proj_bias``, as in :class:`torch.nn.MultiheadAttention`), fused scaled
    dot-product attention per head, output projection ``out_proj``."""

    def __init__(self, width: int, heads: int, dropout: float = 0.0):
        super().__init__()
        if width % heads:
            raise ConfigError(f"vit: width {width} is not divisible by heads {heads}")
        self.heads, self.dropout = heads, dropout
        self.in_proj_weight = nn.Parameter(torch.empty(3 * width, width))
        self.in_proj_bias = nn.Parameter(torch.zeros(3 * width))
        self.out_proj = nn.Linear(width, width)
        nn.init.xavier_uniform_(self.in_proj_weight)
        nn.init.zeros_(self.out_proj.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, tokens, width = x.shape
        qkv = F.linear(x, self.in_proj_weight, self.in_proj_bias)
        q, k, v = qkv.view(batch, tokens, 3, self.heads, width // self.heads).permute(2, 0, 3, 1, 4)
        out = F.scaled_dot_product_attention(q, k, v, dropout_p=self.dropout if self.training else 0.0)
        return self.out_proj(out.transpose(1, 2).reshape(batch, tokens, width))


class EncoderBlock(nn.Module):
    """Pre-norm transformer block (ViT Eq. 2-3): x + MSA(LN(x)), then x + MLP(LN(x)) with
    MLP = Linear(D, mlp_dim) → GELU → Linear(mlp_dim, D), dropout after each linear layer."""

    def __init__(self, width: int, mlp_dim: int, heads: int, dropout: float = 0.0,
                 attention_dropout: float = 0.0):
        super().__init__()
        self.ln_1 = nn.LayerNorm(width, eps=1e-6)
        self.self_attention = SelfAttention(width, heads, attention_dropout)
        self.dropout = nn.Dropout(dropout)
        self.ln_2 = nn.LayerNorm(width, eps=1e-6)
        self.mlp = nn.Sequential(nn.Linear(width, mlp_dim), nn.GELU(), nn.Dropout(dropout),
                                 nn.Linear(mlp_dim, width), nn.Dropout(dropout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.dropout(self.self_attention(self.ln_1(x)))
        return x + self.mlp(self.ln_2(x))


class Encoder(nn.Module):
    """Learned position embeddings (Eq. 1), ``depth`` encoder blocks and the final layer norm (Eq. 4)."""

    def __init__(self, tokens: int, depth: int, width: int, mlp_dim: int, heads: int, dropout: float = 0.0,
                 attention_dropout: float = 0.0):
        super().__init__()
        self.pos_embedding = nn.Parameter(torch.empty(1, tokens, width))
        nn.init.normal_(self.pos_embedding, std=0.02)
        self.dropout = nn.Dropout(dropout)
        self.layers = nn.Sequential(OrderedDict(
            (f"encoder_layer_{i}", EncoderBlock(width, mlp_dim, heads, dropout, attention_dropout))
            for i in range(depth)
        ))
        self.ln = nn.LayerNorm(width, eps=1e-6)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.ln(self.layers(self.dropout(x + self.pos_embedding)))


class VisionTransformer(Classifier):
    """ViT classifier over the tokens of ``conv_proj``: any module mapping images (N, C, H, W) to a grid
    (N, width, h, w) with h·w = ``grid_tokens`` — a P×P stride-P conv (patch embedding) or a
    :class:`HybridEmbedding`."""

    def __init__(self, conv_proj: nn.Module, grid_tokens: int, num_classes: int = 1000, depth: int = 12,
                 width: int = 768, mlp_dim: int = 3072, heads: int = 12, dropout: float = 0.0,
                 attention_dropout: float = 0.0):
        super().__init__()
        self.conv_proj = conv_proj
        self.class_token = nn.Parameter(torch.zeros(1, 1, width))
        self.encoder = Encoder(grid_tokens + 1, depth, width, mlp_dim, heads, dropout, attention_dropout)
        self.num_features = width
        self.head = nn.Linear(width, num_classes)
        nn.init.zeros_(self.head.weight)  # zero-initialised head, as the paper does for fine-tuning (§3.2)
        nn.init.zeros_(self.head.bias)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """The encoder's output tokens (N, 1 + grid_tokens, width) after the final layer norm, the class
        token first (as timm's VisionTransformer returns them)."""
        tokens = self.conv_proj(x).flatten(2).transpose(1, 2)
        tokens = torch.cat([self.class_token.expand(tokens.shape[0], -1, -1), tokens], dim=1)
        return self.encoder(tokens)

    def forward_head(self, x: torch.Tensor, pre_logits: bool = False) -> torch.Tensor:
        """The class token's state (Eq. 4: the pre-logits vector), then the linear head."""
        x = x[:, 0]
        return x if pre_logits else self.head(x)

    def convert_state_dict(self, state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Map a torchvision ViT state dict: ``heads.head.*`` becomes ``head.*``."""
        return {("head." + k[len("heads.head."):] if k.startswith("heads.head.") else k): v
                for k, v in state.items()}


def patch_embedding(in_chans: int, width: int, patch_size: int) -> nn.Conv2d:
    """The linear projection of flattened P×P patches (Eq. 1) as a P×P stride-P conv, initialised with
    a truncated normal of std √(1/fan-in) and zero bias."""
    conv = nn.Conv2d(in_chans, width, patch_size, stride=patch_size)
    nn.init.trunc_normal_(conv.weight, std=math.sqrt(1 / (in_chans * patch_size * patch_size)))
    nn.init.zeros_(conv.bias)
    return conv


def _vit(name_patch: int, num_classes: int, in_chans: int, input_size: int, image_size: int | None,
         patch_size: int | None, depth: int, width: int, mlp_dim: int, heads: int, dropout: float,
         attention_dropout: float) -> VisionTransformer:
    """A patch-embedding ViT; ``patch_size=None`` picks ``name_patch`` or, up to 64 px, the small-input
    patch."""
    size = image_size or input_size
    if patch_size is None:
        patch_size = small_input_patch(size) if size <= SMALL_INPUT_MAX else name_patch
    if size % patch_size:
        raise ConfigError(f"vit: image size {size} is not divisible by patch size {patch_size}")
    tokens = (size // patch_size) ** 2
    return VisionTransformer(patch_embedding(in_chans, width, patch_size), tokens, num_classes, depth, width,
                             mlp_dim, heads, dropout, attention_dropout)


def _meta(params: int | None = None, input_px: int = 224, **extra) -> dict:
    meta = dict(family="vit", paper=DOSOVITSKIY_2021, task="multiclass", input_size=(3, input_px, input_px),
                **extra)
    if params is not None:
        meta.update(params=params, reference="params: torchvision (paper Table 1: 86M / 307M / 632M)")
    return meta


@register_model("vit_b_16", **_meta(86_567_656))
def vit_b_16(num_classes: int = 1000, in_chans: int = 3, input_size: int = 224, image_size: int | None = None,
             patch_size: int | None = None, depth: int = 12, width: int = 768, mlp_dim: int = 3072,
             heads: int = 12, dropout: float = 0.0, attention_dropout: float = 0.0) -> VisionTransformer:
    """ViT-B/16 (Dosovitskiy et al. Table 1: 12 layers, width 768, MLP 3072, 12 heads, 16×16 patches)."""
    return _vit(16, num_classes, in_chans, input_size, image_size, patch_size, depth, width, mlp_dim, heads,
                dropout, attention_dropout)


@register_model("vit_l_16", **_meta(304_326_632))
def vit_l_16(num_classes: int = 1000, in_chans: int = 3, input_size: int = 224, image_size: int | None = None,
             patch_size: int | None = None, depth: int = 24, width: int = 1024, mlp_dim: int = 4096,
             heads: int = 16, dropout: float = 0.0, attention_dropout: float = 0.0) -> VisionTransformer:
    """ViT-L/16 (Dosovitskiy et al. Table 1: 24 layers, width 1024, MLP 4096, 16 heads, 16×16 patches)."""
    return _vit(16, num_classes, in_chans, input_size, image_size, patch_size, depth, width, mlp_dim, heads,
                dropout, attention_dropout)


@register_model("vit_h_14", **_meta(632_045_800))
def vit_h_14(num_classes: int = 1000, in_chans: int = 3, input_size: int = 224, image_size: int | None = None,
             patch_size: int | None = None, depth: int = 32, width: int = 1280, mlp_dim: int = 5120,
             heads: int = 16, dropout: float = 0.0, attention_dropout: float = 0.0) -> VisionTransformer:
    """ViT-H/14 (Dosovitskiy et al. Table 1: 32 layers, width 1280, MLP 5120, 16 heads, 14×14 patches);
    632,045,800 parameters at 224 px (torchvision's count at that size)."""
    return _vit(14, num_classes, in_chans, input_size, image_size, patch_size, depth, width, mlp_dim, heads,
                dropout, attention_dropout)


@register_model("vit_tiny_patch4_32", **_meta(input_px=32, summary="DeiT-Ti encoder, 4×4 patches, 32×32"))
def vit_tiny_patch4_32(num_classes: int = 1000, in_chans: int = 3, input_size: int = 32,
                       image_size: int | None = None, patch_size: int = 4, depth: int = 12, width: int = 192,
                       mlp_dim: int = 768, heads: int = 3, dropout: float = 0.0,
                       attention_dropout: float = 0.0) -> VisionTransformer:
    """A ViT for 32×32 images: 4×4 patches (64 tokens) and DeiT-Ti's encoder (Touvron et al. 2021:
    12 layers, width 192, MLP 768, 3 heads)."""
    return _vit(4, num_classes, in_chans, input_size, image_size, patch_size, depth, width, mlp_dim, heads,
                dropout, attention_dropout)


@register_model("vit_tiny_patch2_8", **_meta(input_px=8, summary="DeiT-Ti encoder, 2×2 patches, 8×8"))
def vit_tiny_patch2_8(num_classes: int = 1000, in_chans: int = 3, input_size: int = 8,
                      image_size: int | None = None, patch_size: int = 2, depth: int = 12, width: int = 192,
                      mlp_dim: int = 768, heads: int = 3, dropout: float = 0.0,
                      attention_dropout: float = 0.0) -> VisionTransformer:
    """A ViT for 8×8 images (the digits): 2×2 patches (16 tokens) and DeiT-Ti's encoder."""
    return _vit(2, num_classes, in_chans, input_size, image_size, patch_size, depth, width, mlp_dim, heads,
                dropout, attention_dropout)


class HybridEmbedding(nn.Module):
    """Tokens from a CNN feature map (ViT §3.1, "Hybrid Architecture"): the stages of ``backbone``, then
    a 1×1 conv to the transformer width (the patch embedding applied to 1×1 patches of the map)."""

    def __init__(self, backbone: ResNet, width: int):
        super().__init__()
        self.backbone = backbone
        self.proj = nn.Conv2d(backbone.num_features, width, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(self.backbone.forward_features(x))


@register_model("vit_hybrid_r50", **_meta(summary="ResNet-50 stages 1-3 (3, 4, 9 blocks) + ViT-B encoder"))
def vit_hybrid_r50(num_classes: int = 1000, in_chans: int = 3, input_size: int = 224,
                   image_size: int | None = None, resnet_layers: Sequence[int] = (3, 4, 9), depth: int = 12,
                   width: int = 768, mlp_dim: int = 3072, heads: int = 12, dropout: float = 0.0,
                   attention_dropout: float = 0.0) -> VisionTransformer:
    """R50+ViT-B/16 hybrid (Dosovitskiy et al. §3.1, §4.1): ResNet-50 stem and stages with
    ``resnet_layers`` blocks (stride 16 with three stages; the ResNet small-input stem up to 64 px gives
    stride 4), 1×1-patch tokens projected to ``width``, and a ViT-B encoder."""
    size = image_size or input_size
    backbone = ResNet(Bottleneck, tuple(resnet_layers), num_classes=0, in_chans=in_chans, input_size=size)
    grid = -(-size // backbone.reduction)  # every stride-2 step rounds up: ceil(size / reduction)
    return VisionTransformer(HybridEmbedding(backbone, width), grid * grid, num_classes, depth, width,
                             mlp_dim, heads, dropout, attention_dropout)
