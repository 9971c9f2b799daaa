"""DCGAN (Radford, Metz & Chintala 2015, "Unsupervised Representation Learning with Deep Convolutional
Generative Adversarial Networks").

The architecture guidelines of §3, every one of them:

- no pooling: strided convolutions in the discriminator, fractionally strided (transposed)
  convolutions in the generator;
- no fully connected hidden layers: the generator's first layer projects z to a 4×4 map (a 4×4
  transposed convolution of the 1×1 noise is exactly that matrix multiplication, Figure 1), and the
  discriminator's last 4×4 convolution reads the final map into one logit;
- batch norm in both networks except the generator's output layer and the discriminator's input layer,
  with PyTorch's default eps = 1e−5 (``BatchNorm2d(c, 0.8)`` — an accidental eps of 0.8 — is a known
  defect of a popular re-implementation);
- ReLU in the generator with tanh at the output (images in [−1, 1]); LeakyReLU with slope 0.2 in the
  discriminator.

Weights are drawn from N(0, 0.02) (§4; the course blog's "std 0.2" is wrong) and batch-norm scales
from N(1, 0.02), as in the authors' dcgan.torch. The training settings (Adam lr 0.0002 — not the
blog's 0.001, which the paper found too high — β1 = 0.5, batch 128) are the GAN recipe's ``paper``
preset (:mod:`deepzoo.recipes.gan`).

Image sizes 8, 16, 32 and 64: the generator doubles a 4×4 map log2(size) − 2 times, halving the
channels each time from ``g_width · 2^(stages−1)`` (Figure 1 at 64×64 with ``g_width`` 128:
1024 → 512 → 256 → 128 → 3); the discriminator mirrors it from ``d_width`` (64 in dcgan.torch).
"""

from __future__ import annotations

import math

from torch import nn

from ..errors import ConfigError
from . import register_model
from .gan import AdversarialPair

RADFORD_2015 = ("Radford, Metz & Chintala 2015, Unsupervised Representation Learning with Deep Convolutional "
                "Generative Adversarial Networks (ICLR 2016)")
IMAGE_SIZES = (8, 16, 32, 64)
INIT_STD = 0.02  # Radford et al. §4: "zero-centered Normal distribution with standard deviation 0.02"
LEAK = 0.2  # Radford et al. §3: LeakyReLU slope 0.2 in the discriminator


def _stages(image_size: int) -> int:
    if image_size not in IMAGE_SIZES:
        raise ConfigError(f"dcgan: image_size={image_size} is not one of {', '.join(map(str, IMAGE_SIZES))}; "
                          f"set model.image_size to one of them (the data is resized to fit)")
    return int(math.log2(image_size)) - 2


class DCGANGenerator(nn.Sequential):
    """z (N, latent_dim) → project to 4×4 → [ConvT 4×4 stride 2 → BN → ReLU]* → ConvT → tanh."""

    def __init__(self, latent_dim: int, channels: int, image_size: int, width: int):
        stages = _stages(image_size)
        top = width * 2 ** (stages - 1)
        layers: list[nn.Module] = [nn.Unflatten(1, (latent_dim, 1, 1)),
                                   nn.ConvTranspose2d(latent_dim, top, 4, 1, 0, bias=False),
                                   nn.BatchNorm2d(top), nn.ReLU(True)]
        c = top
        for _ in range(stages - 1):
            layers += [nn.ConvTranspose2d(c, c // 2, 4, 2, 1, bias=False), nn.BatchNorm2d(c // 2), nn.ReLU(True)]
            c //= 2
        layers += [nn.ConvTranspose2d(c, channels, 4, 2, 1), nn.Tanh()]
        super().__init__(*layers)


class DCGANDiscriminator(nn.Sequential):
    """x → Conv 4×4 stride 2 → LeakyReLU → [Conv 4×4 stride 2 → BN → LeakyReLU]* → Conv 4×4 → logit."""

    def __init__(self, channels: int, image_size: int, width: int):
        stages = _stages(image_size)
        layers: list[nn.Module] = [nn.Conv2d(channels, width, 4, 2, 1), nn.LeakyReLU(LEAK, True)]
        c = width
        for _ in range(stages - 1):
            layers += [nn.Conv2d(c, c * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(c * 2), nn.LeakyReLU(LEAK, True)]
            c *= 2
        layers += [nn.Conv2d(c, 1, 4, 1, 0), nn.Flatten(0)]
        super().__init__(*layers)


def dcgan_init_(module: nn.Module) -> None:
    """Radford et al. §4 initialisation: conv weights ~ N(0, 0.02), biases 0; batch-norm scale
    ~ N(1, 0.02) and shift 0 (dcgan.torch). Applied with ``module.apply``."""
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.normal_(module.weight, 0.0, INIT_STD)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, INIT_STD)
        nn.init.zeros_(module.bias)


@register_model("dcgan", family="gan", task="gan", input_size=(100,), paper=RADFORD_2015,
                summary="deep convolutional GAN, image sizes 8/16/32/64")
def dcgan(image_size: int = 64, channels: int = 3, latent_dim: int = 100, g_width: int = 128,
          d_width: int = 64) -> AdversarialPair:
    """DCGAN for ``image_size``² images with ``channels`` channels (the recipe passes the data's);
    64×64 RGB with ``g_width`` 128 is Figure 1 of the paper."""
    pair = AdversarialPair(DCGANGenerator(latent_dim, channels, image_size, g_width),
                           DCGANDiscriminator(channels, image_size, d_width),
                           (channels, image_size, image_size), latent_dim)
    pair.apply(dcgan_init_)
    return pair

