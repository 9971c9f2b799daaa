"""Building blocks shared by the autoencoder family: one implementation each.

- :func:`make_activation` — activation modules by name (``relu``, ``sigmoid``, ``tanh`` ...).
- :func:`resolve_input_shape` — the (C, H, W) or (D,) shape of one example from the data-derived
  keywords ``input_shape``, ``in_chans`` and ``input_size``.
- :class:`TiedLinear` — a decoder layer that reuses an encoder layer's weight transposed, W* = Wᵀ.
- :func:`mlp_hourglass` — fully connected encoder and mirrored decoder (optionally tied).
- :func:`conv_hourglass` — convolutional encoder that halves the resolution per stage and a decoder that
  doubles it back, with an optional fully connected code vector in the middle.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import ConfigError

_ACTIVATIONS = {
    "relu": nn.ReLU,
    "leaky_relu": lambda: nn.LeakyReLU(0.2),
    "elu": nn.ELU,
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
    "linear": nn.Identity,
}
MNIST_SHAPE = (1, 28, 28)  # the input of the autoencoder papers, used when the data gives no shape


def make_activation(name: str) -> nn.Module:
    """A fresh activation module by name; ``linear`` is the identity."""
    try:
        return _ACTIVATIONS[name]()
    except KeyError:
        raise ConfigError(f"activation {name!r} is not one of {', '.join(_ACTIVATIONS)}") from None


def resolve_input_shape(input_shape: Sequence[int] | None, in_chans: int | None,
                        input_size: int | Sequence[int] | None) -> tuple[int, ...]:
    """The shape of one example.

    ``input_shape`` (the data's own shape, e.g. (1, 8, 8) or (13,)) gives the layout; ``in_chans``, when
    given, overrides its channel count (a colourisation model reads one channel from colour data).
    Without ``input_shape``: ``(in_chans,)`` for tables, ``(in_chans, s, s)`` for an ``input_size`` s (or
    ``(in_chans, h, w)`` for a pair), and MNIST's (1, 28, 28), the papers' input, when nothing is given.
    """
    if input_shape is not None:
        shape = tuple(int(s) for s in input_shape)
        if not shape:
            raise ConfigError("input_shape must have at least one dimension")
        return shape if in_chans is None else (int(in_chans), *shape[1:])
    if in_chans is None and input_size is None:
        return MNIST_SHAPE
    chans = 1 if in_chans is None else int(in_chans)
    if input_size is None:
        return (chans,)
    size = (input_size, input_size) if isinstance(input_size, int) else tuple(input_size)
    return (chans, *(int(s) for s in size))


class TiedLinear(nn.Module):
    """y = Wᵀx + b for the weight W of another linear layer: the decoder half of tied weights.

    The weight is the encoder layer's own ``Parameter`` (the same storage, so one gradient step moves
    both mappings); this module owns only its bias. The encoder layer is kept in a tuple so that it is
    not registered twice: the state dict and the parameter count see W once.
    """

    def __init__(self, source: nn.Linear):
        super().__init__()
        self._source = (source,)
        self.bias = nn.Parameter(torch.zeros(source.in_features))

    @property
    def weight(self) -> nn.Parameter:
        """The encoder layer's weight W (out × in); this layer applies Wᵀ."""
        return self._source[0].weight

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.weight.t(), self.bias)

    def extra_repr(self) -> str:
        source = self._source[0]
        return f"in_features={source.out_features}, out_features={source.in_features}, tied=True"


def _stack(layers: Sequence[nn.Module], activation: str, last_activation: str) -> nn.Sequential:
    """Interleave ``layers`` with activations; the last layer gets ``last_activation``."""
    modules: list[nn.Module] = []
    for i, layer in enumerate(layers):
        modules.append(layer)
        name = last_activation if i == len(layers) - 1 else activation
        if name != "linear":
            modules.append(make_activation(name))
    return nn.Sequential(*modules)


def mlp_hourglass(in_features: int, hidden: Sequence[int], code_size: int, *, activation: str,
                  code_activation: str = "linear", encoder_outputs: int | None = None,
                  tied: bool = False) -> tuple[nn.Sequential, nn.Sequential]:
    """A fully connected encoder in_features → hidden… → code and its mirror code → …hidden → in_features.

    ``encoder_outputs`` (default ``code_size``) lets the encoder emit more numbers than the decoder
    reads: a VAE's encoder emits μ and log σ² (2 × code_size). ``tied`` builds the decoder from
    :class:`TiedLinear` views of the encoder's layers (Vincent et al. 2008 use W' = Wᵀ). The decoder
    ends without activation: it returns logits or values, as the model's output setting decides.
    """
    sizes = [in_features, *hidden, encoder_outputs or code_size]
    encoder_layers = [nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:], strict=True)]
    encoder = _stack(encoder_layers, activation, code_activation)
    if tied:
        if encoder_outputs not in (None, code_size):
            raise ConfigError("tied weights need an encoder that emits exactly the code")
        decoder_layers: list[nn.Module] = [TiedLinear(layer) for layer in reversed(encoder_layers)]
    else:
        back = [code_size, *reversed(hidden), in_features]
        decoder_layers = [nn.Linear(a, b) for a, b in zip(back[:-1], back[1:], strict=True)]
    return encoder, _stack(decoder_layers, activation, "linear")


def _norm_and_activation(norm: str, channels: int, activation: str) -> list[nn.Module]:
    """The layers after a convolution: batch norm (or none), then the activation (none for linear)."""
    if norm not in ("batch", "none"):
        raise ConfigError(f"norm={norm!r} is not one of batch, none")
    layers: list[nn.Module] = [nn.BatchNorm2d(channels)] if norm == "batch" else []
    return layers if activation == "linear" else [*layers, make_activation(activation)]


def _down_stage(c_in: int, c_out: int, down: str, norm: str, activation: str) -> nn.Sequential:
    """Halve the resolution: a 3×3 convolution of stride 2, or a 3×3 convolution then 2×2 max pooling."""
    bias = norm == "none"
    if down == "stride":
        layers: list[nn.Module] = [nn.Conv2d(c_in, c_out, 3, stride=2, padding=1, bias=bias)]
    elif down == "pool":
        layers = [nn.Conv2d(c_in, c_out, 3, padding=1, bias=bias), nn.MaxPool2d(2)]
    else:
        raise ConfigError(f"down={down!r} is not one of stride, pool")
    return nn.Sequential(*layers, *_norm_and_activation(norm, c_out, activation))


def _up_stage(c_in: int, c_out: int, up: str, norm: str, activation: str) -> nn.Sequential:
    """Double the resolution: a 4×4 transposed convolution of stride 2, or nearest upsampling + 3×3 conv."""
    bias = norm == "none"
    if up == "transpose":
        layers: list[nn.Module] = [nn.ConvTranspose2d(c_in, c_out, 4, stride=2, padding=1, bias=bias)]
    elif up == "upsample":
        layers = [nn.Upsample(scale_factor=2, mode="nearest"),
                  nn.Conv2d(c_in, c_out, 3, padding=1, bias=bias)]
    else:
        raise ConfigError(f"up={up!r} is not one of transpose, upsample")
    return nn.Sequential(*layers, *_norm_and_activation(norm, c_out, activation))


def conv_hourglass(in_chans: int, out_chans: int, size: tuple[int, int], widths: Sequence[int], *,
                   code_size: int | None, down: str, up: str, norm: str, activation: str,
                   code_activation: str = "linear", encoder_outputs: int | None = None,
                   ) -> tuple[nn.Sequential, nn.Sequential]:
    """A convolutional encoder (one resolution-halving stage per width) and its mirrored decoder.

    Masci et al. 2011: convolutions share weights across the image and keep its layout. The code is
    the last feature map (widths[-1] × H/2^k × W/2^k) when ``code_size`` is None, otherwise a vector:
    the map is flattened and mapped linearly to ``encoder_outputs`` (default ``code_size``) numbers,
    and the decoder maps ``code_size`` numbers back to the map. The decoder mirrors the encoder: its
    stages go back through the widths in reverse, and its last stage gives ``out_chans`` channels at
    the input resolution, without normalisation or activation.
    """
    if not widths:
        raise ConfigError("widths must list at least one stage")
    factor = 2 ** len(widths)
    if any(s % factor for s in size):
        raise ConfigError(f"an input of {size[0]}×{size[1]} cannot be halved {len(widths)} times; "
                          f"use sizes divisible by {factor} or fewer widths")
    chans = [in_chans, *widths]
    encoder = nn.Sequential(*(_down_stage(a, b, down, norm, activation)
                              for a, b in zip(chans[:-1], chans[1:], strict=True)))
    back = list(reversed(widths))
    decoder = nn.Sequential(*(_up_stage(a, b, up, norm, activation)
                              for a, b in zip(back[:-1], back[1:], strict=True)),
                            _up_stage(widths[0], out_chans, up, "none", "linear"))
    if code_size is not None:
        map_shape = (widths[-1], size[0] // factor, size[1] // factor)
        features = map_shape[0] * map_shape[1] * map_shape[2]
        encoder.append(nn.Flatten())
        encoder.append(nn.Linear(features, encoder_outputs or code_size))
        decoder = nn.Sequential(nn.Linear(code_size, features), make_activation(activation),
                                nn.Unflatten(1, map_shape), *decoder)
    if code_activation != "linear":
        encoder.append(make_activation(code_activation))
    return encoder, decoder
