"""The module a self-supervised run trains: a zoo encoder, a pretext head and the input normalisation.

The encoder is any registered classifier with its final layer removed (``reset_classifier(0)``), so it
maps an input to its pooled pre-logits vector of ``num_features`` — the representation that is
evaluated. The head (SimCLR's projection MLP, a rotation or jigsaw classifier) is used by the pretext
task only and thrown away afterwards (SimCLR §2.1: the representation *before* the projection head is the better one).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..config import RunConfig
from ..errors import ConfigError
from ..models import accepted_kwargs, create_model
from .evaluation import frozen


def build_encoder(config: RunConfig, input_shape: Sequence[int]) -> nn.Module:
    """The zoo model ``config.model.name`` for inputs shaped ``input_shape``, without its head.

    Its weights are drawn from a generator seeded with ``config.seed`` (the global RNG is left alone),
    so calling this again gives the identical random encoder — the "random init" baseline.
    """
    name = config.model.name
    shape = tuple(int(s) for s in input_shape)
    data = {"num_classes": 1, "in_chans": shape[0], "input_size": shape[-1], "input_shape": shape}
    kwargs = {**accepted_kwargs(name, data), **config.model.args}
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)
        encoder = create_model(name, **kwargs)
    if not all(hasattr(encoder, a) for a in ("forward_features", "num_features", "reset_classifier")):
        raise ConfigError(f"model {name!r} has no forward_features/num_features/reset_classifier to serve "
                          "as an encoder; use a classifier of the zoo such as cnn, lenet, mlp or resnet20")
    encoder.reset_classifier(0)  # forward now returns the pre-logits (N, num_features)
    return encoder


def projection_head(num_features: int, hidden: int, out: int) -> nn.Sequential:
    """SimCLR's g(h) = W₂·ReLU(W₁·h) (§2.1): an MLP with one hidden layer."""
    return nn.Sequential(nn.Linear(num_features, hidden), nn.ReLU(inplace=True), nn.Linear(hidden, out))


class SSLModel(nn.Module):
    """``head(encoder(x))`` for a batch (N, C, ...), or for a batch of tile sets (N, T, C, ...) the
    shared encoder applied to every tile and the T feature vectors concatenated before the head (the
    jigsaw's context-free network, the relative-patch siamese pair).

    Every input is first normalised (:meth:`normalise`): each channel with the training split's mean
    and std (buffers, saved with the weights), then optionally each input on its own (the jigsaw's
    per-tile normalisation). :meth:`features` — the representation that is evaluated — takes whole
    inputs and first resizes them to ``feature_size`` when one is given: encoders trained on tiles or
    patches see whole images at the scale they were trained at (the upsampled size), or at their tile
    size when they only accept that (an MLP's fixed input).
    """

    def __init__(self, encoder: nn.Module, head: nn.Module, mean: Tensor, std: Tensor, spatial_dims: int,
                 feature_size: Sequence[int] | None = None, standardize_inputs: bool = False):
        super().__init__()
        self.spatial_dims = spatial_dims  # 2 for images, 1 for signals
        self.encoder = encoder
        self.head = head
        self.register_buffer("mean", mean.float().clone())
        self.register_buffer("std", std.float().clone())
        self.feature_size = None if feature_size is None else tuple(int(s) for s in feature_size)
        self.standardize_inputs = standardize_inputs

    @property
    def num_features(self) -> int:
        return self.encoder.num_features

    def normalise(self, x: Tensor) -> Tensor:
        """Channel normalisation, then (``standardize_inputs``) zero mean and unit std per input."""
        shape = (1, -1) + (1,) * (x.dim() - 2)
        x = (x - self.mean.view(shape).to(x.dtype)) / self.std.view(shape).to(x.dtype)
        if self.standardize_inputs:
            dims = tuple(range(1, x.dim()))
            x = (x - x.mean(dims, keepdim=True)) / x.std(dims, keepdim=True).clamp_min(1e-6)
        return x

    def features(self, x: Tensor) -> Tensor:
        """The representation (N, num_features) of whole raw inputs (N, C, ...)."""
        if self.feature_size is not None and tuple(x.shape[2:]) != self.feature_size:
            x = resize(x, self.feature_size)
        return self.encoder(self.normalise(x))

    def forward(self, x: Tensor) -> Tensor:
        if x.dim() == self.spatial_dims + 3:  # (N, T, C, ...): T tiles per item, one encoder
            n, t = x.shape[:2]
            return self.head(self.encoder(self.normalise(x.flatten(0, 1))).reshape(n, t * self.num_features))
        return self.head(self.features(x))


def resize(x: Tensor, size: Sequence[int]) -> Tensor:
    """Bilinear (antialiased) resizing of images, linear of signals, to the spatial ``size``."""
    two_d = len(size) == 2
    return F.interpolate(x, size=tuple(size), mode="bilinear" if two_d else "linear", align_corners=False,
                         antialias=two_d)


def accepts_size(encoder: nn.Module, shape: Sequence[int]) -> bool:
    """Whether ``encoder`` maps inputs shaped ``shape`` (C, ...) to its ``num_features`` features (a
    convnet with global pooling does at any size; an MLP or a flattening LeNet only at one)."""
    try:
        with frozen(encoder):
            out = encoder(torch.zeros(2, *shape))
    except RuntimeError:
        return False
    return tuple(out.shape) == (2, encoder.num_features)


def channel_statistics(x: Tensor) -> tuple[Tensor, Tensor]:
    """Per-channel mean and std (C,) of a batch (N, C, ...); a std below 1e-6 counts as 1."""
    flat = x.transpose(0, 1).flatten(1).double()
    std = flat.std(1)
    return flat.mean(1).float(), torch.where(std < 1e-6, torch.ones_like(std), std).float()
