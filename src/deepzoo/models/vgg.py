"""VGG networks (Simonyan & Zisserman 2015, "Very Deep Convolutional Networks for Large-Scale Image
Recognition").

Table 1 of the paper: stacks of 3×3 stride-1 convs (padding 1) with ReLU, five 2×2 max-pools, then three
fully connected layers 4096-4096-classes with dropout 0.5 on the first two. Configurations A (11 weight
layers), B (13), D (16) and E (19) are :data:`CONFIGS`; the ``_bn`` models put batch norm after every
conv (Ioffe & Szegedy 2015; not in the paper, torchvision's addition). As in torchvision, a 7×7 adaptive
average pool sits before the classifier so other input sizes work; module names are torchvision's except
the last linear layer, ``classifier.6`` there and ``head`` here (see :meth:`VGG.convert_state_dict`).

Small-input stem: VGG's first conv is already 3×3 stride 1. With ``input_size`` ≤ 64 the pools that
would shrink a 1×1 map are left out (an 8×8 input keeps three of the five) and features are averaged to
1×1 instead of 7×7, so the classifier reads 512 numbers instead of 49 copies of the same few pixels.
"""

from __future__ import annotations

import torch
from torch import nn

from . import register_model
from ._base import Classifier
from .resnet import SMALL_INPUT_MAX

SIMONYAN_2015 = ("Simonyan & Zisserman 2015, Very Deep Convolutional Networks for Large-Scale Image "
                 "Recognition")

CONFIGS: dict[int, tuple[int | str, ...]] = {
    11: (64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"),
    13: (64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"),
    16: (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"),
    19: (64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M",
         512, 512, 512, 512, "M", 512, 512, 512, 512, "M"),
}
"""Conv widths and max-pools ("M") of configurations A, B, D, E (Simonyan & Zisserman Table 1), by depth."""


def conv_stack(config: tuple[int | str, ...], in_chans: int, batch_norm: bool,
               input_size: int | None) -> nn.Sequential:
    """The convolutional part of a VGG configuration: 3×3 convs (+ batch norm) + ReLU, 2×2 max-pools.

    With ``input_size`` given, a pool that would act on a 1×1 map becomes an identity (the small-input
    stem); identities keep torchvision's layer indices, so its weights still load.
    """
    layers: list[nn.Module] = []
    channels, size = in_chans, input_size
    for item in config:
        if item == "M":
            shrink = size is None or size > 1
            layers.append(nn.MaxPool2d(2, 2) if shrink else nn.Identity())
            size = size // 2 if size is not None and shrink else size
        else:
            channels, conv = int(item), nn.Conv2d(channels, int(item), 3, padding=1)
            layers += [conv, nn.BatchNorm2d(channels)] if batch_norm else [conv]
            layers.append(nn.ReLU(inplace=True))
    return nn.Sequential(*layers)


class VGG(Classifier):
    """VGG-``depth`` (11, 13, 16 or 19 weight layers), optionally with batch norm."""

    def __init__(self, depth: int, batch_norm: bool = False, num_classes: int = 1000, in_chans: int = 3,
                 input_size: int = 224, dropout: float = 0.5):
        super().__init__()
        small = input_size <= SMALL_INPUT_MAX
        self.features = conv_stack(CONFIGS[depth], in_chans, batch_norm, input_size if small else None)
        pooled = 1 if small else 7
        self.avgpool = nn.AdaptiveAvgPool2d(pooled)
        self.classifier = nn.Sequential(
            nn.Linear(512 * pooled * pooled, 4096), nn.ReLU(inplace=True), nn.Dropout(dropout),
            nn.Linear(4096, 4096), nn.ReLU(inplace=True), nn.Dropout(dropout),
        )
        self.num_features = 4096
        self.head = nn.Linear(4096, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0, 0.01)  # the paper's N(0, 10⁻²) for its initial net (§3.1)
                nn.init.zeros_(m.bias)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """The last conv block's map (N, 512, H', W'), before the adaptive pool."""
        return self.features(x)

    def forward_head(self, x: torch.Tensor, pre_logits: bool = False) -> torch.Tensor:
        """Adaptive average pool, flatten, the two hidden fully connected layers (their 4096 outputs are
        the pre-logits vector of ``num_features`` = 4096), then the last linear layer."""
        x = self.classifier(torch.flatten(self.avgpool(x), 1))
        return x if pre_logits else self.head(x)

    def convert_state_dict(self, state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Map a torchvision VGG state dict: its last linear layer ``classifier.6.*`` is ``head.*`` here."""
        return {("head." + k[len("classifier.6."):] if k.startswith("classifier.6.") else k): v
                for k, v in state.items()}


def _meta(params: int) -> dict:
    return dict(family="vgg", paper=SIMONYAN_2015, task="multiclass", input_size=(3, 224, 224), params=params,
                reference="params: torchvision (paper Table 2: 133/133/138/144M); no paper multiply-adds")


@register_model("vgg11", **_meta(132_863_336))
def vgg11(num_classes: int = 1000, in_chans: int = 3, input_size: int = 224, dropout: float = 0.5) -> VGG:
    """VGG-11, configuration A (Simonyan & Zisserman 2015, Table 1)."""
    return VGG(11, False, num_classes, in_chans, input_size, dropout)


@register_model("vgg11_bn", **_meta(132_868_840))
def vgg11_bn(num_classes: int = 1000, in_chans: int = 3, input_size: int = 224, dropout: float = 0.5) -> VGG:
    """VGG-11 (configuration A) with batch norm after every conv."""
    return VGG(11, True, num_classes, in_chans, input_size, dropout)


@register_model("vgg13", **_meta(133_047_848))
def vgg13(num_classes: int = 1000, in_chans: int = 3, input_size: int = 224, dropout: float = 0.5) -> VGG:
    """VGG-13, configuration B (Simonyan & Zisserman 2015, Table 1)."""
    return VGG(13, False, num_classes, in_chans, input_size, dropout)


@register_model("vgg13_bn", **_meta(133_053_736))
def vgg13_bn(num_classes: int = 1000, in_chans: int = 3, input_size: int = 224, dropout: float = 0.5) -> VGG:
    """VGG-13 (configuration B) with batch norm after every conv."""
    return VGG(13, True, num_classes, in_chans, input_size, dropout)


@register_model("vgg16", **_meta(138_357_544))
def vgg16(num_classes: int = 1000, in_chans: int = 3, input_size: int = 224, dropout: float = 0.5) -> VGG:
    """VGG-16, configuration D (Simonyan & Zisserman 2015, Table 1)."""
    return VGG(16, False, num_classes, in_chans, input_size, dropout)


@register_model("vgg16_bn", **_meta(138_365_992))
def vgg16_bn(num_classes: int = 1000, in_chans: int = 3, input_size: int = 224, dropout: float = 0.5) -> VGG:
    """VGG-16 (configuration D) with batch norm after every conv."""
    return VGG(16, True, num_classes, in_chans, input_size, dropout)


@register_model("vgg19", **_meta(143_667_240))
def vgg19(num_classes: int = 1000, in_chans: int = 3, input_size: int = 224, dropout: float = 0.5) -> VGG:
    """VGG-19, configuration E (Simonyan & Zisserman 2015, Table 1)."""
    return VGG(19, False, num_classes, in_chans, input_size, dropout)


@register_model("vgg19_bn", **_meta(143_678_248))
def vgg19_bn(num_classes: int = 1000, in_chans: int = 3, input_size: int = 224, dropout: float = 0.5) -> VGG:
    """VGG-19 (configuration E) with batch norm after every conv."""
    return VGG(19, True, num_classes, in_chans, input_size, dropout)
