"""Multilayer perceptrons for tables, flattened signals and small images."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from ..errors import ConfigError
from . import register_model
from ._base import Classifier

ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid, "gelu": nn.GELU,
               "leaky_relu": nn.LeakyReLU, "elu": nn.ELU, "silu": nn.SiLU}


def activation_layer(name: str) -> nn.Module:
    """A hidden-layer activation by name (relu, tanh, sigmoid, gelu, leaky_relu, elu, silu)."""
    if name not in ACTIVATIONS:
        raise ConfigError(f"activation {name!r} is not one of {', '.join(ACTIVATIONS)}")
    return ACTIVATIONS[name]()


class MLP(Classifier):
    """Flatten → [Linear → (BatchNorm) → activation → (Dropout)] × len(hidden) → Linear head.

    The hidden stack is the feature extractor (``num_features`` = last hidden width), so the MLP
    shares the zoo's classifier interface and transfer-learning path.
    """

    def __init__(self, input_shape: Sequence[int] = (2,), num_classes: int = 2, hidden: Sequence[int] = (64, 64),
                 activation: str = "relu", dropout: float = 0.0, batch_norm: bool = False):
        super().__init__()
        if isinstance(hidden, int):
            hidden = (hidden,)
        layers: list[nn.Module] = [nn.Flatten()]
        width = math.prod(input_shape)
        for size in hidden:
            layers.append(nn.Linear(width, size))
            if batch_norm:
                layers.append(nn.BatchNorm1d(size))
            layers.append(activation_layer(activation))
            if dropout:
                layers.append(nn.Dropout(dropout))
            width = size
        self.features = nn.Sequential(*layers)
        self.num_features = width
        self.head = nn.Linear(width, num_classes) if num_classes else nn.Identity()

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x)


@register_model("mlp", family="mlp", task="multiclass", paper="Rumelhart, Hinton & Williams 1986 (backpropagation)")
def mlp(input_shape: Sequence[int] = (2,), num_classes: int = 2, hidden: Sequence[int] = (64, 64),
        activation: str = "relu", dropout: float = 0.0, batch_norm: bool = False) -> MLP:
    """An MLP with hidden sizes ``hidden``, an activation, optional dropout and batch norm."""
    return MLP(tuple(input_shape), num_classes, tuple(hidden) if not isinstance(hidden, int) else (hidden,),
               activation, dropout, batch_norm)
