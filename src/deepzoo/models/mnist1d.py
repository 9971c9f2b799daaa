"""The convolutional baseline of the MNIST-1D paper (Greydanus 2020, "Scaling down deep learning").

Three 1-D convolutions of 25 channels (kernel 5 then 3, 3; stride 2 each) with ReLU, then one linear
layer on the flattened feature map: about 5k parameters. The paper reports 94% test accuracy for its
CNN on MNIST-1D (versus 68% for an MLP and 32% for logistic regression). The flattened map keeps where
each feature fired — global pooling would discard the very position information MNIST-1D hides
its digits in.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from . import register_model
from ._base import Classifier


class MNIST1DCNN(Classifier):
    """conv 25@5/2 → ReLU → conv 25@3/2 → ReLU → conv 25@3/2 → ReLU → flatten → linear head.

    :meth:`forward_features` is the last conv's map (N, ``channels``, L') (L' = 5 for 40 samples);
    :meth:`forward_head` flattens it — the pre-logits vector of ``num_features`` = channels·L' — and
    applies the linear layer.
    """

    def __init__(self, in_chans: int = 1, num_classes: int = 10, input_shape: Sequence[int] = (1, 40),
                 channels: int = 25):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv1d(in_chans, channels, 5, stride=2, padding=1), nn.ReLU(),
            nn.Conv1d(channels, channels, 3, stride=2, padding=1), nn.ReLU(),
            nn.Conv1d(channels, channels, 3, stride=2, padding=1), nn.ReLU(),
        )
        with torch.no_grad():
            self.num_features = self.features(torch.zeros(1, in_chans, input_shape[-1])).flatten(1).shape[1]
        self.head = nn.Linear(self.num_features, num_classes)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """The last conv's map (N, channels, L'), before flattening."""
        return self.features(x)

    def forward_head(self, x: torch.Tensor, pre_logits: bool = False) -> torch.Tensor:
        """Flatten the map (no pooling: positions matter on MNIST-1D), then the linear layer."""
        x = torch.flatten(x, 1)
        return x if pre_logits else self.head(x)


@register_model("mnist1d_cnn", family="lenet", task="multiclass", input_size=(1, 40),
                paper="Greydanus 2020, Scaling down deep learning (MNIST-1D), the CNN baseline")
def mnist1d_cnn(in_chans: int = 1, num_classes: int = 10, input_shape: Sequence[int] = (1, 40),
                channels: int = 25) -> MNIST1DCNN:
    """The MNIST-1D paper's small 1-D CNN (94% test accuracy in the paper)."""
    return MNIST1DCNN(in_chans, num_classes, tuple(input_shape), channels)
