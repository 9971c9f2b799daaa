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
    shares the zoo's classifier interface and transfer-learning path. There is no spatial map to pool:
    :meth:`forward_features` returns the last hidden layer (N, num_features), which is also the
    pre-logits vector.
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
        """The last hidden layer's activations (N, num_features) of flattened inputs."""
        return self.features(x)


@register_model("mlp", family="mlp", task="multiclass", paper="Rumelhart, Hinton & Williams 1986 (backpropagation)")
def mlp(input_shape: Sequence[int] = (2,), num_classes: int = 2, hidden: Sequence[int] = (64, 64),
        activation: str = "relu", dropout: float = 0.0, batch_norm: bool = False) -> MLP:
    """An MLP with hidden sizes ``hidden``, an activation, optional dropout and batch norm."""
    return MLP(tuple(input_shape), num_classes, tuple(hidden) if not isinstance(hidden, int) else (hidden,),
               activation, dropout, batch_norm)


class Linear(Classifier):
    """y = W·x + b on flattened inputs: the tutorial's one-layer model, with optional constant
    initial values (the tutorial fits the house prices from w = −0.01, b = 8)."""

    def __init__(self, input_shape: Sequence[int] = (1,), num_classes: int = 1, weight_init: float | None = None,
                 bias_init: float | None = None):
        super().__init__()
        self.flatten = nn.Flatten()
        self.num_features = math.prod(input_shape)
        self.head = nn.Linear(self.num_features, num_classes)
        with torch.no_grad():
            if weight_init is not None:
                self.head.weight.fill_(weight_init)
            if bias_init is not None:
                self.head.bias.fill_(bias_init)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """The flattened inputs (N, num_features): a linear model has no hidden features."""
        return self.flatten(x)


@register_model("linear", family="mlp", task="multiclass", paper="least squares / logistic regression")
def linear(input_shape: Sequence[int] = (1,), num_classes: int = 1, weight_init: float | None = None,
           bias_init: float | None = None) -> Linear:
    """A single linear layer (linear or logistic regression, depending on the task's loss)."""
    return Linear(tuple(input_shape), num_classes, weight_init, bias_init)
