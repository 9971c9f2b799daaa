"""pix2pix (Isola, Zhu, Zhou & Efros 2017, "Image-to-Image Translation with Conditional Adversarial
Networks"): the U-Net generator and the PatchGAN discriminator, as the paper's appendix 6.1 and the
authors' official PyTorch code (``networks.py``: ``UnetGenerator``, ``NLayerDiscriminator``) build them.

**Generator** (:class:`UNetGenerator`, the official ``unet_256`` at 256×256): an encoder of
``num_downs`` 4×4 stride-2 convolutions C64-C128-C256-C512-C512-C512-C512-C512 (widths
``width · min(2^i, 8)``), LeakyReLU 0.2 before each but the first, normalisation after each but the
first and the innermost; a mirrored decoder of 4×4 stride-2 transposed convolutions, ReLU before each,
normalisation after each but the last, whose input at every level is the encoder's activation of that
level concatenated with the decoder's output below (the skips), and a tanh output. ``num_downs`` halves
the image that many times: log2(size) brings it to 1×1 (8 for 256, 6 for 64, 5 for 32), the official
``--netG unet_256``/``unet_128`` choice made for any size. There is no noise input: dropout 0.5 in the
first three decoder layers is the noise (§2.1), the paper's CD512-CD1024-CD1024. The official code puts
its dropout one layer later, in its ``num_downs − 5`` intermediate 512-wide blocks — three at 256×256,
one at 64×64, none at 32×32 — so a small image would get no noise at all; the paper's placement keeps
three layers at every size. The parameters are the same either way.

**Discriminator** (:class:`PatchGAN`, the official ``basic`` ``NLayerDiscriminator``): C64-C128-C256-C512,
4×4 convolutions, the first ``n_layers`` with stride 2 and the C512 with stride 1, then a stride-1 4×4
convolution to one channel: one logit per overlapping patch, and D's loss averages them (§3.2.2). With
``n_layers = 3`` each logit sees a 70×70 patch of the input (:func:`patch_receptive_field`; 1 → 16×16,
5 → 286×286, the paper's Table 3 sizes). pix2pix's discriminator judges the pair: its input is the
condition and the image concatenated on channels. CycleGAN and the segmentation GAN use this class too.

**Normalisation.** ``norm="batch"`` (pix2pix) or ``"instance"`` (CycleGAN, Ulyanov et al. 2016: affine-free,
no running statistics, as the official code). pix2pix trains at batch size 1 with batch norm and runs
the generator at test time exactly as in training — dropout on, the test batch's statistics — which at
batch 1 is instance normalisation (§3.3); the recipe (:mod:`deepzoo.recipes.pix2pix`) does the same.
Convolutions followed by batch norm have no bias (the norm's shift replaces it); with instance norm they
keep it, as in the official code. Weights start from N(0, 0.02), batch-norm scales from N(1, 0.02).

Reference counts (the official code prints them): the 256×256 RGB generator has 54,413,955 parameters
("54.414 M") and the 70×70 discriminator on six channels 2,768,705 ("2.769 M").
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import ConfigError
from . import register_model
from .dcgan import dcgan_init_
from .gan import AdversarialPair

ISOLA_2017 = ("Isola, Zhu, Zhou & Efros 2017, Image-to-Image Translation with Conditional Adversarial Networks "
              "(CVPR)")
NORMS = ("batch", "instance")
KERNEL = 4  # every convolution of both networks is 4×4 (appendix 6.1)
LEAK = 0.2  # LeakyReLU slope in the encoder and the discriminator
WIDEST = 8  # widths grow as width · 2^i up to width · 8 (512 for width 64)
DROPOUT_LAYERS = 3  # CD512-CD1024-CD1024: the first three decoder layers (appendix 6.1.1)


def norm_layer(norm: str, channels: int) -> nn.Module:
    """Batch norm, or instance norm without affine parameters or running statistics (the official code's
    ``get_norm_layer``)."""
    if norm == "batch":
        return nn.BatchNorm2d(channels)
    if norm == "instance":
        return nn.InstanceNorm2d(channels)
    raise ConfigError(f"norm={norm!r} is not one of {', '.join(NORMS)}")


def level_widths(width: int, levels: int) -> list[int]:
    """The channels of each encoder level: ``width · min(2^i, 8)`` (64, 128, 256, 512, 512 ...)."""
    return [width * min(2**i, WIDEST) for i in range(levels)]


class UNetGenerator(nn.Module):
    """Image (N, in_channels, H, W) → image (N, out_channels, H, W) in [−1, 1], through ``num_downs``
    down- and up-sampling levels with skips (Isola et al. appendix 6.1.1; Ronneberger et al. 2015's
    skips). H and W must divide by 2^num_downs."""

    def __init__(self, in_channels: int, out_channels: int, num_downs: int, width: int = 64,
                 norm: str = "batch", dropout: float = 0.5):
        super().__init__()
        if num_downs < 2:
            raise ConfigError(f"pix2pix: num_downs={num_downs} must be at least 2")
        bias = norm == "instance"
        widths = level_widths(width, num_downs)
        down: list[nn.Module] = [nn.Conv2d(in_channels, widths[0], KERNEL, 2, 1, bias=bias)]
        for i in range(1, num_downs):
            layers = [nn.Conv2d(widths[i - 1], widths[i], KERNEL, 2, 1, bias=bias)]
            if i < num_downs - 1:  # the innermost 1×1 code is not normalised (a single value per channel)
                layers.append(norm_layer(norm, widths[i]))
            down.append(nn.Sequential(*layers))
        up: list[nn.Module] = []
        for i in reversed(range(1, num_downs)):  # from the innermost level outwards
            reads = widths[i] if i == num_downs - 1 else 2 * widths[i]  # the innermost reads no skip
            layers = [nn.ReLU(True), nn.ConvTranspose2d(reads, widths[i - 1], KERNEL, 2, 1, bias=bias),
                      norm_layer(norm, widths[i - 1])]
            if num_downs - 1 - i < DROPOUT_LAYERS and dropout:
                layers.append(nn.Dropout(dropout))
            up.append(nn.Sequential(*layers))
        up.append(nn.Sequential(nn.ReLU(True), nn.ConvTranspose2d(2 * widths[0], out_channels, KERNEL, 2, 1),
                                nn.Tanh()))
        self.down = nn.ModuleList(down)
        self.up = nn.ModuleList(up)
        self.num_downs = num_downs

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.down[0](x)
        skips = []
        for block in self.down[1:]:
            # LeakyReLU then the next level; the skip carries the activated map, as in the official code
            # (whose in-place LeakyReLU changes the tensor its skip concatenates)
            x = F.leaky_relu(x, LEAK)
            skips.append(x)
            x = block(x)
        x = self.up[0](x)
        for block in self.up[1:]:
            x = block(torch.cat([skips.pop(), x], 1))  # [skip, decoder], the official order
        return x


class PatchGAN(nn.Module):
    """The PatchGAN discriminator: (N, in_channels, H, W) → a map of logits (N, 1, H', W'), one per
    overlapping patch of :attr:`receptive_field` pixels (70 with ``n_layers = 3``; Isola et al. §3.2.2 and
    appendix 6.1.2). ``in_channels`` is what it judges: for pix2pix the condition and the image
    concatenated; for CycleGAN one image."""

    def __init__(self, in_channels: int, width: int = 64, n_layers: int = 3, norm: str = "batch"):
        super().__init__()
        if n_layers < 1:
            raise ConfigError(f"PatchGAN: n_layers={n_layers} must be at least 1")
        bias = norm == "instance"
        widths = [width * min(2**i, WIDEST) for i in range(n_layers + 1)]
        layers: list[nn.Module] = [nn.Conv2d(in_channels, widths[0], KERNEL, 2, 1), nn.LeakyReLU(LEAK, True)]
        for i in range(1, n_layers + 1):
            stride = 2 if i < n_layers else 1  # the last hidden layer keeps the resolution
            layers += [nn.Conv2d(widths[i - 1], widths[i], KERNEL, stride, 1, bias=bias), norm_layer(norm, widths[i]),
                       nn.LeakyReLU(LEAK, True)]
        layers.append(nn.Conv2d(widths[-1], 1, KERNEL, 1, 1))
        self.net = nn.Sequential(*layers)
        self.n_layers = n_layers

    @property
    def receptive_field(self) -> int:
        """The side of the input patch each output logit sees (:func:`patch_receptive_field`)."""
        return patch_receptive_field(self.n_layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def patch_receptive_field(n_layers: int) -> int:
    """The receptive field of a PatchGAN: walking back from one output, a k×k convolution of stride s
    turns a field of r pixels into (r − 1)·s + k. Strides 2 (``n_layers`` times), 1, 1, all 4×4:
    1 → 4 → 7 → 16 → 34 → 70 for three layers."""
    field = 1
    for stride in reversed([2] * n_layers + [1, 1]):
        field = (field - 1) * stride + KERNEL
    return field


def patch_grid(size: int, n_layers: int) -> int:
    """The side of a PatchGAN's logit map for ``size``² inputs: ⌊size/2⌋ per stride-2 layer (4×4,
    padding 1), then −1 for each of the two stride-1 layers (30 for 256, 6 for 64, 2 for 32)."""
    for _ in range(n_layers):
        size //= 2
    return size - 2


def default_downs(image_size: int) -> int:
    """log2 of the image size: the encoder brings the image down to 1×1 (8 for 256, as ``unet_256``)."""
    if image_size < 4 or image_size & (image_size - 1):
        raise ConfigError(f"pix2pix: image_size={image_size} is not a power of two; give model.num_downs "
                          "(the size must divide by 2^num_downs)")
    return int(math.log2(image_size))


def translation_pair(image_size: int, in_channels: int, out_channels: int, num_downs: int | None, width: int,
                     d_width: int, n_layers: int, norm: str, dropout: float) -> AdversarialPair:
    """A U-Net generator and a PatchGAN judging (condition, image) pairs, initialised from N(0, 0.02)."""
    if norm not in NORMS:
        raise ConfigError(f"pix2pix: norm={norm!r} is not one of {', '.join(NORMS)}")
    downs = default_downs(image_size) if num_downs is None else int(num_downs)
    if image_size % 2**downs:
        raise ConfigError(f"pix2pix: image_size={image_size} does not divide by 2^num_downs = {2**downs}")
    pair = AdversarialPair(UNetGenerator(in_channels, out_channels, downs, width, norm, dropout),
                           PatchGAN(in_channels + out_channels, d_width, n_layers, norm),
                           (out_channels, image_size, image_size))
    pair.apply(dcgan_init_)
    return pair


@register_model("pix2pix", family="gan", task="pix2pix", input_size=(3, 256, 256), paper=ISOLA_2017,
                summary="U-Net-256 generator (dropout as noise) + 70×70 PatchGAN on (input, output) pairs")
def pix2pix(image_size: int = 256, in_channels: int = 3, out_channels: int = 3, num_downs: int | None = None,
            width: int = 64, d_width: int = 64, n_layers: int = 3, norm: str = "batch",
            dropout: float = 0.5) -> AdversarialPair:
    """pix2pix for ``image_size``² images (the recipe passes the data's size and channels): 256×256 RGB →
    RGB is the paper's network; ``num_downs`` defaults to log2(image_size), ``n_layers`` 3 is the 70×70
    PatchGAN, ``norm`` batch (pix2pix) or instance."""
    return translation_pair(image_size, in_channels, out_channels, num_downs, width, d_width, n_layers, norm,
                            dropout)

