"""MobileNet v1 (Howard et al. 2017, "MobileNets: Efficient Convolutional Neural Networks for Mobile
Vision Applications").

Table 1 of the paper: a full 3×3 conv with 32 filters and stride 2, then 13 depthwise-separable blocks
(a 3×3 depthwise conv followed by a 1×1 pointwise conv, §3.1) with the strides and widths of
:data:`BLOCKS`, global average pool and one linear layer. Every conv is bias-free and followed by batch
norm and ReLU (plain ReLU as in the paper, not the ReLU6 of later versions).

Knobs (§3.2-3.3): the width multiplier α (``width_mult``) gives every layer int(α·c) channels — no
rounding to multiples of 8, which public implementations often add but the paper does not; the
resolution multiplier ρ is the input size (224·ρ: 224, 192, 160, 128 in Table 7), set with
``input_size`` / the data.

Small-input stem: with ``input_size`` ≤ 64 the first conv has stride 1, and a block whose stride 2 would
take the map below 2×2 keeps stride 1: 32×32 images end on 2×2 maps as with the four strides of the
paper's later blocks, 8×8 digits stop halving at 2×2. (A plain 27-layer stack of conv-BN-ReLU trained on
1×1 maps learns several times slower on the digits.)
"""

from __future__ import annotations

import torch
from torch import nn

from ..errors import ConfigError
from . import register_model
from ._base import Classifier
from .resnet import SMALL_INPUT_MAX

HOWARD_2017 = ("Howard et al. 2017, MobileNets: Efficient Convolutional Neural Networks for Mobile Vision "
               "Applications")

BLOCKS = ((64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2),
          (512, 1), (512, 1), (512, 1), (512, 1), (512, 1), (1024, 2), (1024, 1))
"""(pointwise output channels, depthwise stride) of the 13 separable blocks (Howard et al. Table 1; the
last block's "s2" in the table is a typo: at 7×7 it keeps stride 1)."""


def _conv_bn_relu(in_ch: int, out_ch: int, kernel: int, stride: int = 1, groups: int = 1) -> list[nn.Module]:
    return [nn.Conv2d(in_ch, out_ch, kernel, stride, kernel // 2, groups=groups, bias=False),
            nn.BatchNorm2d(out_ch), nn.ReLU(inplace=True)]


class DepthwiseSeparable(nn.Sequential):
    """3×3 depthwise conv-BN-ReLU then 1×1 pointwise conv-BN-ReLU (Howard et al. 2017, Fig. 3 right):
    the cost of a 3×3 conv drops from 9·M·N to 9·M + M·N multiply-adds per pixel (Eq. 5)."""

    def __init__(self, in_ch: int, out_ch: int, stride: int):
        depthwise = _conv_bn_relu(in_ch, in_ch, 3, stride, groups=in_ch)
        super().__init__(*depthwise, *_conv_bn_relu(in_ch, out_ch, 1))


class MobileNetV1(Classifier):
    """MobileNet v1 with width multiplier ``width_mult`` (α ∈ (0, 1], Howard et al. §3.3)."""

    def __init__(self, num_classes: int = 1000, in_chans: int = 3, input_size: int = 224,
                 width_mult: float = 1.0):
        super().__init__()
        if width_mult <= 0:
            raise ConfigError(f"mobilenet_v1: width_mult must be positive, got {width_mult}")

        def width(c: int) -> int:
            return max(1, int(width_mult * c))

        small = input_size <= SMALL_INPUT_MAX
        self.stem = nn.Sequential(*_conv_bn_relu(in_chans, width(32), 3, stride=1 if small else 2))
        blocks, channels, size = [], width(32), input_size
        for out, stride in BLOCKS:
            if small and -(-size // stride) < 2:
                stride = 1
            blocks.append(DepthwiseSeparable(channels, width(out), stride))
            channels, size = width(out), -(-size // stride)  # a 3×3 stride-2 conv with padding 1: ceil(size / 2)
        self.blocks = nn.Sequential(*blocks)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.num_features = channels
        self.head = nn.Linear(channels, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """The last separable block's map (N, num_features, h, w), 7×7 at 224 px, before pooling."""
        return self.blocks(self.stem(x))

    def forward_head(self, x: torch.Tensor, pre_logits: bool = False) -> torch.Tensor:
        """Global average pooling (the pre-logits vector), then the linear layer (Howard et al. Table 1)."""
        x = torch.flatten(self.pool(x), 1)
        return x if pre_logits else self.head(x)


@register_model("mobilenet_v1", family="mobilenet", paper=HOWARD_2017, task="multiclass",
                input_size=(3, 224, 224), params=4_231_976, macs=569e6,
                reference="params: exact count at α=1, 1000 classes (paper: 4.2M); macs: Table 6/7 (569M)")
def mobilenet_v1(num_classes: int = 1000, in_chans: int = 3, input_size: int = 224,
                 width_mult: float = 1.0) -> MobileNetV1:
    """MobileNet v1 (Howard et al. 2017 Table 1) with width multiplier α = ``width_mult``; Table 6:
    α 1.0/0.75/0.5/0.25 → 4.2/2.6/1.3/0.5M parameters, 569/325/149/41M multiply-adds at 224 px."""
    return MobileNetV1(num_classes, in_chans, input_size, width_mult)
