"""Feature extractors for style transfer: the zoo's VGG-19 with pretrained weights (Gatys et al. 2016)
or with random weights (He, Wang & Hopcroft 2016), returning every wanted layer from ONE forward pass.

The PyTorch tutorial inserts loss modules into a copy of the network and reads the losses back from
module attributes; here the convolutional stack is walked once, the wanted activations are collected on
the way and the walk stops at the deepest wanted layer, so the losses stay plain functions
(:mod:`deepzoo.style.losses`).

Layer names follow Gatys et al.: ``convB_I`` is the I-th convolution of block B, taken after its ReLU
(their Caffe network rectified in place, so the blob named conv4_2 held the rectified responses);
``poolB`` is the block's pooling. The PyTorch tutorial counts convolutions across blocks, so its
``conv_4`` is conv2_2, not the paper's content layer conv4_2 (a known mistake).
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from ..errors import ConfigError
from ..models._weights import read_state_dict
from ..models.pretrained import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    describe_weights,
    is_named_weights,
    load_pretrained_state,
    resolve_weights,
)
from ..models.vgg import CONFIGS, conv_stack

GATYS_CONTENT_LAYERS = ("conv4_2",)
GATYS_STYLE_LAYERS = ("conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1")
RANDOM_CONTENT_LAYERS = ("conv2_1", "conv4_1")
RANDOM_STYLE_LAYERS = ("conv1_1", "conv2_1", "conv3_1", "conv4_1")
POOLINGS = ("max", "avg")


@dataclass(frozen=True)
class StyleDefaults:
    """The settings that suit one kind of weights; :func:`deepzoo.style.stylize` uses them for every
    option left as None."""

    content_layers: tuple[str, ...]
    style_layers: tuple[str, ...]
    content_weight: float
    style_weight: float
    tv_weight: float
    scales: int
    range_weight: float = 0.0


PRETRAINED_DEFAULTS = StyleDefaults(GATYS_CONTENT_LAYERS, GATYS_STYLE_LAYERS, content_weight=1.0, style_weight=5e6,
                                    tv_weight=0.0, scales=1)
"""Gatys et al.'s layers with the PyTorch tutorial's weights: its style weight 10⁶ on the sum over five
layers is 5·10⁶ with Gatys's w_l = 1/5 (:class:`deepzoo.style.transfer.StyleObjective`)."""

RANDOM_DEFAULTS = StyleDefaults(RANDOM_CONTENT_LAYERS, RANDOM_STYLE_LAYERS, content_weight=0.3, style_weight=0.5,
                                tv_weight=0.2, scales=2, range_weight=10.0)
"""Chosen by looking at the outputs on scikit-learn's photos (docs/style_transfer.md): content at conv2_1
and conv4_1 (conv4_2 alone leaves the fine scale unconstrained and random features fill it with noise),
style up to conv4_1 (conv5_1 of a random network only added blotches), total variation against the
remaining speckle, and two scales (coarse to fine) so that the style's large patches form."""


def vgg_layer_names(stack: nn.Sequential) -> dict[str, int]:
    """Gatys et al.'s names (``conv1_1`` … ``conv5_4`` after their ReLU, ``pool1`` … ``pool5``) → index in
    a VGG convolutional stack (:func:`deepzoo.models.vgg.conv_stack`)."""
    names, block, conv = {}, 1, 0
    for index, module in enumerate(stack):
        if isinstance(module, nn.Conv2d):
            conv += 1
        elif isinstance(module, nn.ReLU):
            names[f"conv{block}_{conv}"] = index
        elif isinstance(module, (nn.MaxPool2d, nn.AvgPool2d, nn.Identity)):
            names[f"pool{block}"] = index
            block, conv = block + 1, 0
    return names


class FeatureExtractor(nn.Module):
    """A frozen convolutional stack that returns the activations of named layers in one forward pass.

    It also carries what suits its weights: the input normalisation (ImageNet's), the default settings
    (:class:`StyleDefaults`), whether each layer's loss is divided by the size of its target (the
    per-layer normalisation that random weights need, :class:`deepzoo.style.transfer.StyleObjective`),
    and a one-line ``description`` of the mode that the command prints.
    """

    def __init__(self, stack: nn.Sequential, *, description: str, defaults: StyleDefaults,
                 per_layer_normalisation: bool):
        super().__init__()
        self.stack = stack.eval().requires_grad_(False)
        self.names = vgg_layer_names(stack)
        self.description = description
        self.defaults = defaults
        self.per_layer_normalisation = per_layer_normalisation
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1))

    def check_layers(self, layers: Sequence[str], role: str) -> None:
        """Raise :class:`ConfigError` naming the first unknown layer and the closest known names."""
        for name in layers:
            if name not in self.names:
                close = difflib.get_close_matches(name, list(self.names), n=3) or list(self.names)[:6]
                raise ConfigError(f"unknown {role} layer {name!r}; did you mean {', '.join(close)}?")

    def forward(self, image: torch.Tensor, layers: Sequence[str]) -> dict[str, torch.Tensor]:
        """The activations of ``layers`` for images ``(B, 3, H, W)`` in [0, 1], from one pass that stops
        at the deepest of them."""
        wanted = {self.names[name]: name for name in layers}
        x = (image - self.mean) / self.std
        out: dict[str, torch.Tensor] = {}
        for index, module in enumerate(self.stack[:max(wanted) + 1]):
            x = module(x)
            if index in wanted:
                out[wanted[index]] = x
        return out


def _empty_vgg19_stack() -> nn.Sequential:
    """The zoo's VGG-19 convolutional part (configuration E), allocated but not initialised."""
    with torch.device("meta"):
        stack = conv_stack(CONFIGS[19], 3, batch_norm=False, input_size=None)
    return stack.to_empty(device="cpu")


def load_vgg19_features(source: str | Path) -> nn.Sequential:
    """The VGG-19 convolutional stack with the weights of ``source``: torchvision's ``imagenet`` /
    ``torchvision:ENUM`` weights (:mod:`deepzoo.models.pretrained`: torch.hub's cache, downloaded once
    when missing and online) or a local file.

    The file is torchvision's VGG-19 state dict (``torch.save(vgg19().state_dict())``, read with
    ``weights_only=True``) or a ``.safetensors`` / deepzoo checkpoint of the zoo's ``vgg19``; only the
    ``features.*`` tensors are used (style transfer needs no classifier), so a file holding just those —
    ``{"features." + k: v for k, v in vgg19().features.state_dict().items()}`` — works too. Anything
    else (another depth, batch norm, another network) is one :class:`ConfigError` line.
    """
    if is_named_weights(str(source)):
        weights = resolve_weights("vgg19", str(source))
        state, path = load_pretrained_state(weights), weights.describe()
    else:
        state, path = read_state_dict(source), source
    features = {k[len("features."):]: v for k, v in state.items() if k.startswith("features.")}
    stack = _empty_vgg19_stack()
    own = stack.state_dict()
    if not features:
        first = next(iter(state), None)
        raise ConfigError(f"{path}: not a VGG-19 state dict (no 'features.*' tensors; first key {first!r})")
    extra = sorted(set(features) - set(own))
    if extra:
        raise ConfigError(f"{path}: not a VGG-19 state dict (unexpected features.{extra[0]}: batch norm or "
                          "another network?)")
    for key, tensor in own.items():
        if key not in features:
            raise ConfigError(f"{path}: not a VGG-19 state dict (features.{key} is missing)")
        if features[key].shape != tensor.shape:
            raise ConfigError(f"{path}: not a VGG-19 state dict (features.{key} has shape "
                              f"{tuple(features[key].shape)}, VGG-19 has {tuple(tensor.shape)})")
    stack.load_state_dict({k: v.float() for k, v in features.items()})
    return stack


def random_vgg19_features(seed: int = 0) -> nn.Sequential:
    """The VGG-19 convolutional stack with random weights drawn from a fixed ``seed``: He-normal filters
    (fan-in, so activations keep their scale through the 16 layers) and zero biases."""
    stack = _empty_vgg19_stack()
    generator = torch.Generator().manual_seed(seed)
    for module in stack:
        if isinstance(module, nn.Conv2d):
            nn.init.kaiming_normal_(module.weight, mode="fan_in", nonlinearity="relu", generator=generator)
            nn.init.zeros_(module.bias)
    return stack


def with_average_pooling(stack: nn.Sequential) -> nn.Sequential:
    """``stack`` with its 2×2 max-pools replaced by 2×2 average pools, as Gatys et al. (2016, §2) do:
    it "improves the gradient flow" (every pixel of a window gets gradient, not only the maximum)."""
    return nn.Sequential(*(nn.AvgPool2d(2, 2) if isinstance(m, nn.MaxPool2d) else m for m in stack))


def build_extractor(weights: str | Path | None = None, seed: int = 0, pooling: str | None = None) -> FeatureExtractor:
    """Pretrained VGG-19 from ``weights`` (``imagenet``, ``torchvision:ENUM`` or a local file;
    :data:`PRETRAINED_DEFAULTS`, the tutorial's max pooling),
    or, without a file, the random-weight VGG-19 of He, Wang & Hopcroft (2016) with per-layer loss
    normalisation, average pooling (max pooling of random features left the output noisier) and
    :data:`RANDOM_DEFAULTS`. Both read ImageNet-normalised input (for random weights this just
    centres the pixels). ``pooling`` (max or avg) overrides the mode's choice.
    """
    if pooling is not None and pooling not in POOLINGS:
        raise ConfigError(f"pooling={pooling!r}: use one of {', '.join(POOLINGS)}")
    if weights is not None:
        stack, pooling = load_vgg19_features(weights), pooling or "max"
        mode = dict(description=f"pretrained VGG-19 from {describe_weights('vgg19', weights)}",
                    defaults=PRETRAINED_DEFAULTS,
                    per_layer_normalisation=False)
    else:
        stack, pooling = random_vgg19_features(seed), pooling or "avg"
        mode = dict(description=f"random-weight VGG-19 (seed {seed}; no pretrained weights: He, Wang & Hopcroft "
                                "2016, per-layer loss normalisation)",
                    defaults=RANDOM_DEFAULTS, per_layer_normalisation=True)
    if pooling == "avg":
        stack = with_average_pooling(stack)
    return FeatureExtractor(stack, **mode)
