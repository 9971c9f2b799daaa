"""SRGAN (Ledig et al. 2017, "Photo-Realistic Single Image Super-Resolution Using a Generative
Adversarial Network"), Figure 4.

Generator (SRResNet): 9×9 conv 64 + PReLU; ``num_blocks`` residual blocks (3×3 conv → BN → PReLU →
3×3 conv → BN, plus the block's input); 3×3 conv → BN plus the long skip from the first layer;
log2(scale) upsampling stages (3×3 conv to 256 → PixelShuffle(2) → PReLU); 9×9 conv to the image
channels. Its input is the low-resolution image in [0, 1] and its output the high-resolution image in
[−1, 1] (§3.2); the output layer is linear, as in Figure 4 (no tanh).

Discriminator: eight 3×3 convs with 64, 64, 128, 128, 256, 256, 512, 512 channels, stride 2 on every
second one, batch norm on all but the first, LeakyReLU 0.2; then dense 1024 → LeakyReLU → dense 1
(a logit; the paper's final sigmoid lives in the loss). The dense layer reads the flattened
(hr_size/16)² × 512 map, so the discriminator is built for one high-resolution crop size (96 in the
paper).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ..errors import ConfigError
from . import register_model
from .gan import AdversarialPair

LEDIG_2017 = ("Ledig et al. 2017, Photo-Realistic Single Image Super-Resolution Using a Generative Adversarial "
              "Network (CVPR)")
DISCRIMINATOR_WIDTHS = (64, 64, 128, 128, 256, 256, 512, 512)
LEAK = 0.2


class ResidualBlock(nn.Module):
    """conv 3×3 → BN → PReLU → conv 3×3 → BN, added to the input (Ledig et al. Figure 4)."""

    def __init__(self, width: int):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(width, width, 3, padding=1), nn.BatchNorm2d(width), nn.PReLU(),
                                  nn.Conv2d(width, width, 3, padding=1), nn.BatchNorm2d(width))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class UpsampleBlock(nn.Sequential):
    """conv 3×3 to 4·width channels → PixelShuffle(2) → PReLU: doubles the resolution (Shi et al. 2016)."""

    def __init__(self, width: int):
        super().__init__(nn.Conv2d(width, width * 4, 3, padding=1), nn.PixelShuffle(2), nn.PReLU())


class SRResNet(nn.Module):
    """The SRGAN generator: LR image (N, C, h, w) in [0, 1] → HR image (N, C, scale·h, scale·w)."""

    def __init__(self, scale: int, channels: int, num_blocks: int, width: int):
        super().__init__()
        self.head = nn.Sequential(nn.Conv2d(channels, width, 9, padding=4), nn.PReLU())
        self.blocks = nn.Sequential(*(ResidualBlock(width) for _ in range(num_blocks)))
        self.fuse = nn.Sequential(nn.Conv2d(width, width, 3, padding=1), nn.BatchNorm2d(width))
        self.upsample = nn.Sequential(*(UpsampleBlock(width) for _ in range(int(math.log2(scale)))))
        self.tail = nn.Conv2d(width, channels, 9, padding=4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = self.head(x)
        return self.tail(self.upsample(features + self.fuse(self.blocks(features))))


class SRGANDiscriminator(nn.Module):
    """HR image (N, C, hr_size, hr_size) in [−1, 1] → one logit per image (Ledig et al. Figure 4)."""

    def __init__(self, channels: int, hr_size: int):
        super().__init__()
        layers: list[nn.Module] = []
        c = channels
        for i, width in enumerate(DISCRIMINATOR_WIDTHS):
            stride = 2 if i % 2 else 1
            layers.append(nn.Conv2d(c, width, 3, stride, 1, bias=i == 0))
            if i:
                layers.append(nn.BatchNorm2d(width))
            layers.append(nn.LeakyReLU(LEAK, True))
            c = width
        self.features = nn.Sequential(*layers)
        side = hr_size // 16
        self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(c * side * side, 1024), nn.LeakyReLU(LEAK, True),
                                        nn.Linear(1024, 1), nn.Flatten(0))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))


@register_model("srgan", family="gan", task="super_resolution", input_size=(3, 24, 24), paper=LEDIG_2017,
                summary="SRResNet generator + SRGAN discriminator, ×2/×4/×8 super-resolution")
def srgan(scale: int = 4, channels: int = 3, num_blocks: int = 16, hr_size: int = 96,
          width: int = 64) -> AdversarialPair:
    """SRGAN for ``scale``× super-resolution (a power of two) of ``hr_size``² crops (96 in the paper;
    a multiple of 16 and of ``scale``); 16 residual blocks of width 64 as in the paper."""
    if scale < 2 or scale & (scale - 1):
        raise ConfigError(f"srgan: scale={scale} must be a power of two (2, 4, 8)")
    if hr_size % 16 or hr_size % scale:
        raise ConfigError(f"srgan: hr_size={hr_size} must be a multiple of 16 (the discriminator halves it "
                          f"four times) and of scale={scale}")
    pair = AdversarialPair(SRResNet(scale, channels, num_blocks, width), SRGANDiscriminator(channels, hr_size),
                           (channels, hr_size, hr_size))
    pair.scale = scale
    return pair
