"""Generative adversarial networks (Goodfellow et al. 2014, "Generative Adversarial Nets").

Every GAN of the zoo is one :class:`AdversarialPair` holding both players as ``.generator`` and
``.discriminator``, so weights, layer tables and checkpoints handle the pair as one module. Calling the
pair runs the generator (``pair(z)``); ``pair(x, player="discriminator")`` runs the discriminator, so a
compiled pair compiles both players. Discriminators return **logits** of shape (N,): the recipes apply
``binary_cross_entropy_with_logits``, never a Sigmoid followed by BCELoss (numerically unsafe).

This module also holds the course notes' MLP pair (``gan``): one hidden layer of 128 units with
LeakyReLU(0.01) in both players, a tanh output (data scaled to [−1, 1]) and 100-dimensional noise.
Goodfellow et al. used maxout discriminators with dropout; the notes' LeakyReLU MLP is the simpler
network taught in the course and trains the same minimax game (Eq. 1).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import torch
from torch import nn

from ..errors import ConfigError
from . import register_model

GOODFELLOW_2014 = "Goodfellow et al. 2014, Generative Adversarial Nets (NeurIPS)"


class AdversarialPair(nn.Module):
    """The two players of a GAN in one module.

    ``latent_dim`` is the noise width of an unconditional generator (None for a conditional one such as
    SRGAN's, which reads a low-resolution image); ``sample_shape`` is the shape of one generated item.
    """

    def __init__(self, generator: nn.Module, discriminator: nn.Module, sample_shape: Sequence[int],
                 latent_dim: int | None = None):
        super().__init__()
        self.generator = generator
        self.discriminator = discriminator
        self.sample_shape = tuple(int(s) for s in sample_shape)
        self.latent_dim = latent_dim

    def forward(self, x: torch.Tensor, player: str = "generator") -> torch.Tensor:
        """The generator's output for noise (or a condition) ``x``, or the discriminator's logits."""
        if player == "generator":
            return self.generator(x)
        if player == "discriminator":
            return self.discriminator(x)
        raise ValueError(f"player must be 'generator' or 'discriminator', not {player!r}")

    def source_logits(self, x: torch.Tensor) -> torch.Tensor:
        """D's real-versus-fake logits (N,) for ``x``: what evaluation and the precision timing read. A
        conditional pair (:mod:`deepzoo.models.conditional_gan`) also takes the labels."""
        return self.discriminator(x)


class MLPGenerator(nn.Module):
    """z → [Linear → LeakyReLU] × len(hidden) → Linear → tanh, reshaped to ``sample_shape``."""

    def __init__(self, latent_dim: int, sample_shape: Sequence[int], hidden: Sequence[int], leak: float):
        super().__init__()
        layers: list[nn.Module] = []
        width = latent_dim
        for size in hidden:
            layers += [nn.Linear(width, size), nn.LeakyReLU(leak)]
            width = size
        layers += [nn.Linear(width, math.prod(sample_shape)), nn.Tanh()]
        self.net = nn.Sequential(*layers)
        self.sample_shape = tuple(sample_shape)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z).view(z.shape[0], *self.sample_shape)  # not len(z): torch.export keeps shape[0] symbolic


class MLPDiscriminator(nn.Module):
    """x → flatten → [Linear → LeakyReLU (→ Dropout)] × len(hidden) → Linear → one logit per item."""

    def __init__(self, sample_shape: Sequence[int], hidden: Sequence[int], leak: float, dropout: float = 0.0):
        super().__init__()
        layers: list[nn.Module] = [nn.Flatten()]
        width = math.prod(sample_shape)
        for size in hidden:
            layers += [nn.Linear(width, size), nn.LeakyReLU(leak)]
            if dropout:
                layers.append(nn.Dropout(dropout))
            width = size
        layers.append(nn.Linear(width, 1))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).view(-1)


@register_model("gan", family="gan", task="gan", input_size=(100,), paper=GOODFELLOW_2014,
                summary="the course notes' MLP GAN (128 hidden, LeakyReLU 0.01, tanh output)")
def gan(data_shape: Sequence[int] = (1, 28, 28), latent_dim: int = 100, hidden: int | Sequence[int] = (128,),
        leak: float = 0.01, dropout: float = 0.0) -> AdversarialPair:
    """MLP generator and discriminator for flattened images or points of shape ``data_shape``
    (MNIST's 1×28×28 by default; the recipe passes the data's shape). ``hidden`` lists the hidden
    widths of both players; ``dropout`` applies to the discriminator's hidden layers."""
    hidden = (hidden,) if isinstance(hidden, int) else tuple(hidden)
    shape = tuple(int(s) for s in data_shape)
    return AdversarialPair(MLPGenerator(latent_dim, shape, hidden, leak),
                           MLPDiscriminator(shape, hidden, leak, dropout), shape, latent_dim)


def load_pair_weights(pair: AdversarialPair, path: str | Path) -> str:
    """Load a weights file into ``pair``: a whole pair (keys ``generator.*`` and ``discriminator.*``,
    e.g. a run's ``model.safetensors``) or a generator alone (a run's ``generator.safetensors``).
    Returns what was loaded, for the run log."""
    from ._weights import read_state_dict

    state = read_state_dict(path)
    target = pair if any(k.startswith("generator.") for k in state) else pair.generator
    own = target.state_dict()
    for key, value in state.items():
        if key not in own:
            raise ConfigError(f"{path}: {key} is not a weight of this model")
        if own[key].shape != value.shape:
            raise ConfigError(f"{path}: {key} has shape {tuple(value.shape)}, "
                              f"the model expects {tuple(own[key].shape)}")
    missing = [k for k in own if k not in state]
    if missing and not all(k.startswith("discriminator.") for k in missing):
        raise ConfigError(f"{path}: the generator weights are incomplete (missing {missing[0]})")
    target.load_state_dict(state, strict=False)
    if target is pair and not missing:
        return "both players"
    return "the generator (the discriminator starts fresh)"
