"""Small convolutional networks: the tutorial's LeNet and the demo's compact CNN.

Both adapt to the input: 2-D convolutions for images (C, H, W), 1-D for signals (C, L), with
'same' padding on inputs too small for the original valid convolutions.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from . import register_model
from ._base import Classifier


def _ops(ndim: int):
    """(Conv, MaxPool, BatchNorm, AdaptiveAvgPool) for 1-D signals or 2-D images."""
    if ndim == 2:
        return nn.Conv1d, nn.MaxPool1d, nn.BatchNorm1d, nn.AdaptiveAvgPool1d
    return nn.Conv2d, nn.MaxPool2d, nn.BatchNorm2d, nn.AdaptiveAvgPool2d


class LeNet(Classifier):
    """The course tutorial's CNN (after LeCun et al. 1998): conv 6@5×5 → max-pool → conv 16@5×5 →
    max-pool → fc 120 → fc 84 → head.

    At 32×32 it is the tutorial's network exactly (valid convolutions). Images smaller than 28
    pixels are first resized to 32×32 (bilinear), the size LeNet was designed for — on 8×8 digits this
    reaches 97–98% test accuracy, where padding the convolutions instead stalls near 95%. 1-D signals
    use the same layout with 1-D convolutions.

    :meth:`forward_features` is the second conv block's pooled map, (N, 16, 5, 5) at 32×32 ((N, 16, L') for
    signals); :meth:`forward_head` flattens it through fc 120 → fc 84, the pre-logits vector
    (``num_features`` = 84), then the linear layer.
    """

    def __init__(self, in_chans: int = 1, num_classes: int = 10, input_shape: Sequence[int] = (1, 32, 32)):
        super().__init__()
        conv, pool, _, _ = _ops(len(input_shape))
        small_image = len(input_shape) == 3 and min(input_shape[1:]) < 28
        self.resize = nn.Upsample(size=(32, 32), mode="bilinear", align_corners=False) if small_image \
            else nn.Identity()
        self.features = nn.Sequential(
            conv(in_chans, 6, 5), nn.ReLU(), pool(2),
            conv(6, 16, 5), nn.ReLU(), pool(2),
        )
        with torch.no_grad():
            flat = self.features(self.resize(torch.zeros(1, in_chans, *input_shape[1:]))).flatten(1).shape[1]
        self.fc = nn.Sequential(nn.Linear(flat, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU())
        self.num_features = 84
        self.head = nn.Linear(84, num_classes)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """The conv stack's map (N, 16, H', W') — (N, 16, L') for signals — before the fc layers."""
        return self.features(self.resize(x))

    def forward_head(self, x: torch.Tensor, pre_logits: bool = False) -> torch.Tensor:
        """Flatten, fc 120 → fc 84 (the pre-logits vector), then the linear layer."""
        x = self.fc(torch.flatten(x, 1))
        return x if pre_logits else self.head(x)


class SmallCNN(Classifier):
    """A compact CNN for small inputs: ``depth`` blocks of conv 3×3 → batch norm → ReLU (→ max-pool
    while the input is larger than 2), widths doubling from ``width``, global average pool, linear head.
    The demo's model: on 8×8 digits it reaches ≥ 0.97 test accuracy in a few seconds on a CPU.

    :meth:`forward_features` is the last block's map (N, ``num_features``, H', W') ((N, C, L') for
    signals); :meth:`forward_head` averages it globally (then dropout) and applies the linear layer."""

    def __init__(self, in_chans: int = 1, num_classes: int = 10, input_shape: Sequence[int] = (1, 8, 8),
                 width: int = 32, depth: int = 2, dropout: float = 0.0):
        super().__init__()
        conv, pool, norm, gap = _ops(len(input_shape))
        layers: list[nn.Module] = []
        channels, size = in_chans, input_shape[-1]
        for i in range(depth):
            out = width * 2**i
            layers += [conv(channels, out, 3, padding=1, bias=False), norm(out), nn.ReLU(inplace=True)]
            if size > 2:
                layers.append(pool(2))
                size //= 2
            channels = out
        self.features = nn.Sequential(*layers)
        self.pool = gap(1)
        self.dropout = nn.Dropout(dropout) if dropout else nn.Identity()
        self.num_features = channels
        self.head = nn.Linear(channels, num_classes)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """The last block's map (N, num_features, H', W') (or (N, num_features, L')), before pooling."""
        return self.features(x)

    def forward_head(self, x: torch.Tensor, pre_logits: bool = False) -> torch.Tensor:
        """Global average pooling and dropout (the pre-logits vector), then the linear layer."""
        x = self.dropout(torch.flatten(self.pool(x), 1))
        return x if pre_logits else self.head(x)


@register_model("lenet", family="lenet", task="multiclass", input_size=(1, 32, 32), params=61_706,
                paper="LeCun et al. 1998, Gradient-based learning applied to document recognition")
def lenet(in_chans: int = 1, num_classes: int = 10, input_shape: Sequence[int] = (1, 32, 32)) -> LeNet:
    """The tutorial's LeNet-style CNN (6@5×5, 16@5×5, 120, 84), adapting to the input size."""
    return LeNet(in_chans, num_classes, tuple(input_shape))


@register_model("cnn", family="lenet", task="multiclass", input_size=(1, 8, 8), paper="—",
                summary="the demo's compact CNN for small inputs")
def cnn(in_chans: int = 1, num_classes: int = 10, input_shape: Sequence[int] = (1, 8, 8), width: int = 32,
        depth: int = 2, dropout: float = 0.0) -> SmallCNN:
    """A compact conv → BN → ReLU → pool CNN for small images and signals (the demo model)."""
    return SmallCNN(in_chans, num_classes, tuple(input_shape), width, depth, dropout)
