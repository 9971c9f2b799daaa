"""CycleGAN (Zhu, Park, Isola & Efros 2017, "Unpaired Image-to-Image Translation using Cycle-Consistent
Adversarial Networks"): two generators, G: A → B and F: B → A, and two PatchGAN discriminators, D_A
(real A against F(B)) and D_B (real B against G(A)), in one module. Training — least-squares
adversarial losses, the cycle and identity losses, the pool of past fakes — is the ``cyclegan``
recipe's (:mod:`deepzoo.recipes.cyclegan`).

**Generator** (Appendix 7.2, after Johnson et al. 2016): ``c7s1-64, d128, d256, R256 × n, u128, u64,
c7s1-3`` — c7s1-k a 7×7 convolution with k filters and stride 1, dk a 3×3 convolution with stride 2,
Rk a residual block of two 3×3 convolutions, uk a 3×3 fractionally-strided (transposed) convolution
with stride ½; each followed by instance norm and ReLU, except the last layer, which ends in tanh (images
in [−1, 1]) as in the authors' code. Reflection padding before every 7×7 and residual 3×3 convolution
("to reduce artifacts", §7.2). n = 9 residual blocks for 256×256 images and larger, 6 for 128×128 and
smaller (``n_blocks`` overrides). The input size must be a multiple of 4 (two halvings, two doublings).
Instance norm has no affine parameters and convolutions keep their biases (the code's
``InstanceNorm2d(affine=False)``). ``width`` is the code's ``ngf`` (64).

**Upsampling.** Transposed convolutions, as the paper, by default. Where their kernel (3) is not
divisible by their stride (2), output pixels receive uneven contributions — the checkerboard artefacts
of Odena, Dumoulin & Olah 2016 ("Deconvolution and Checkerboard Artifacts", Distill); their remedy,
``upsample="resize"``, doubles the map by nearest-neighbour resizing and then applies a 3×3 convolution
(reflection-padded), with the same parameter count.

**Discriminators**: the 70×70 PatchGAN shared with pix2pix (:class:`~deepzoo.models.pix2pix.PatchGAN`)
with instance norm, reading one image (not an (input, output) pair).

Weights are drawn from N(0, 0.02), biases 0 — the authors' ``init_weights(init_type="normal",
init_gain=0.02)``, which is DCGAN's rule (:func:`~deepzoo.models.dcgan.dcgan_init_`).
"""

from __future__ import annotations

import torch
from torch import nn

from ..errors import ConfigError
from . import register_model
from .dcgan import dcgan_init_
from .pix2pix import PatchGAN, patch_grid

ZHU_2017 = ("Zhu, Park, Isola & Efros 2017, Unpaired Image-to-Image Translation using Cycle-Consistent "
            "Adversarial Networks (ICCV)")
UPSAMPLING = ("transpose", "resize")
LARGE_IMAGES = 256  # from this size on, 9 residual blocks (Zhu et al. §7.2); 6 below


def conv_norm_relu(in_channels: int, out_channels: int, kernel: int, stride: int = 1) -> list[nn.Module]:
    """A convolution (reflection-padded to keep the size when ``stride`` is 1; zero-padded by 1 when it
    halves it, as the code's downsampling layers), instance norm and ReLU: c7s1-k and dk."""
    if stride == 1:
        pad: list[nn.Module] = [nn.ReflectionPad2d(kernel // 2)]
        conv = nn.Conv2d(in_channels, out_channels, kernel)
    else:
        pad, conv = [], nn.Conv2d(in_channels, out_channels, kernel, stride, padding=1)
    return [*pad, conv, nn.InstanceNorm2d(out_channels), nn.ReLU(True)]


def upsample_norm_relu(in_channels: int, out_channels: int, upsample: str) -> list[nn.Module]:
    """uk: twice the height and width, instance norm, ReLU — by a transposed 3×3 convolution with stride
    ½ (the paper) or by nearest-neighbour resizing and a 3×3 convolution (``resize``, Odena et al. 2016)."""
    if upsample == "transpose":
        layers: list[nn.Module] = [nn.ConvTranspose2d(in_channels, out_channels, 3, 2, padding=1, output_padding=1)]
    else:
        layers = [nn.Upsample(scale_factor=2, mode="nearest"), nn.ReflectionPad2d(1),
                  nn.Conv2d(in_channels, out_channels, 3)]
    return [*layers, nn.InstanceNorm2d(out_channels), nn.ReLU(True)]


class ResidualBlock(nn.Module):
    """Rk: reflection pad → 3×3 conv → instance norm → ReLU → reflection pad → 3×3 conv → instance norm,
    added to the input (Johnson et al. 2016; CycleGAN's ``ResnetBlock`` without dropout)."""

    def __init__(self, width: int):
        super().__init__()
        self.body = nn.Sequential(nn.ReflectionPad2d(1), nn.Conv2d(width, width, 3), nn.InstanceNorm2d(width),
                                  nn.ReLU(True), nn.ReflectionPad2d(1), nn.Conv2d(width, width, 3),
                                  nn.InstanceNorm2d(width))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class ResnetGenerator(nn.Module):
    """Image (N, C, H, W) in [−1, 1] → image of the same shape in [−1, 1]: c7s1-w, d2w, d4w, R4w × n_blocks,
    u2w, uw, c7s1-C with tanh (Zhu et al. Appendix 7.2 with w = ``width`` = 64)."""

    def __init__(self, channels: int = 3, width: int = 64, n_blocks: int = 9, upsample: str = "transpose"):
        super().__init__()
        if upsample not in UPSAMPLING:
            raise ConfigError(f"cyclegan: upsample={upsample!r} is not one of {', '.join(UPSAMPLING)}")
        self.encoder = nn.Sequential(*conv_norm_relu(channels, width, 7), *conv_norm_relu(width, 2 * width, 3, 2),
                                     *conv_norm_relu(2 * width, 4 * width, 3, 2))
        self.blocks = nn.Sequential(*(ResidualBlock(4 * width) for _ in range(n_blocks)))
        self.decoder = nn.Sequential(*upsample_norm_relu(4 * width, 2 * width, upsample),
                                     *upsample_norm_relu(2 * width, width, upsample),
                                     nn.ReflectionPad2d(3), nn.Conv2d(width, channels, 7), nn.Tanh())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.blocks(self.encoder(x)))


def default_blocks(image_size: int) -> int:
    """9 residual blocks for 256×256 training images and larger, 6 for 128×128 and smaller (§7.2)."""
    return 9 if image_size >= LARGE_IMAGES else 6


class CycleGAN(nn.Module):
    """The four networks of a CycleGAN: ``generator_ab`` (G: A → B), ``generator_ba`` (F: B → A),
    ``discriminator_a`` (D_A: real A against F(B)) and ``discriminator_b`` (D_B: real B against G(A)).
    Calling the module translates A → B (what an exported model does)."""

    def __init__(self, generator_ab: nn.Module, generator_ba: nn.Module, discriminator_a: nn.Module,
                 discriminator_b: nn.Module, image_size: int):
        super().__init__()
        self.generator_ab, self.generator_ba = generator_ab, generator_ba
        self.discriminator_a, self.discriminator_b = discriminator_a, discriminator_b
        self.image_size = image_size

    def forward(self, a: torch.Tensor) -> torch.Tensor:
        return self.generator_ab(a)


@register_model("cyclegan", family="gan", task="cyclegan", input_size=(3, 256, 256), paper=ZHU_2017,
                summary="two ResNet generators (A→B, B→A) + two 70×70 PatchGANs, unpaired translation")
def cyclegan(image_size: int = 256, channels: int = 3, width: int = 64, n_blocks: int | None = None,
             upsample: str = "transpose", d_width: int = 64, d_layers: int = 3) -> CycleGAN:
    """CycleGAN for ``image_size``² images with ``channels`` channels in both domains (the recipe passes
    the data's): 256×256 RGB with 9 residual blocks and 70×70 PatchGANs (``d_layers`` 3) is the paper's.
    ``n_blocks`` defaults to 9 from 256×256 on and 6 below; ``upsample`` is ``transpose`` (the paper) or
    ``resize`` (nearest-neighbour + convolution, against checkerboard artefacts)."""
    if image_size < 8 or image_size % 4:
        raise ConfigError(f"cyclegan: image_size={image_size} must be a multiple of 4 of at least 8 (the "
                          "generator halves it twice and doubles it back)")
    if patch_grid(image_size, d_layers) < 1:
        raise ConfigError(f"cyclegan: {image_size}×{image_size} images are too small for a PatchGAN with "
                          f"d_layers={d_layers}; set model.d_layers lower")
    blocks = default_blocks(image_size) if n_blocks is None else int(n_blocks)
    model = CycleGAN(*(ResnetGenerator(channels, width, blocks, upsample) for _ in range(2)),
                     *(PatchGAN(channels, d_width, d_layers, norm="instance") for _ in range(2)), image_size)
    model.apply(dcgan_init_)
    return model
