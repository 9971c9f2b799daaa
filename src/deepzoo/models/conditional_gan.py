"""Class-conditional GANs on the DCGAN backbone: cGAN (Mirza & Osindero 2014, "Conditional Generative
Adversarial Nets") and AC-GAN (Odena, Olah & Shlens 2017, "Conditional Image Synthesis with Auxiliary
Classifier GANs").

**cGAN.** Both players are "conditioned on some extra information y ... by feeding y into both the
discriminator and generator as additional input layer" (Mirza & Osindero §3.2); on MNIST y is the
one-hot class. Their networks are MLPs; on the DCGAN backbone, which has no fully connected hidden layers
(Radford et al. §3), the one-hot y is joined to the noise z (the generator's first transposed convolution
projects the joined vector to 4×4, the fully connected projection of DCGAN's Figure 1), and the
discriminator reads y as K constant planes concatenated to the image's channels — the spatial replication
Reed et al. 2016 (§4.1) use to condition a convolutional discriminator on a text embedding, here at the
input layer as Mirza & Osindero's "additional input layer".

**AC-GAN.** Every fake has a class c ~ p_c besides its noise, X_fake = G(c, z) (Odena et al. §3): the
generator is the cGAN's, one-hot c joined to z. The discriminator does not read the class, it predicts
it: D(X) gives P(S | X) and P(C | X) from the same features — here DCGAN's discriminator with 1 + K
outputs in its last 4×4 convolution instead of 1, returned as **logits**: the recipe's cross-entropy
applies the log-softmax (a Softmax layer before ``CrossEntropyLoss``, a double softmax, is a known defect
of a popular port).

Image sizes 8, 16, 32, 64 and the N(0, 0.02) initialisation are DCGAN's (:mod:`deepzoo.models.dcgan`),
whose generator and discriminator are reused with wider inputs, not copied.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from . import register_model
from .dcgan import DCGANDiscriminator, DCGANGenerator, dcgan_init_
from .gan import AdversarialPair

MIRZA_2014 = "Mirza & Osindero 2014, Conditional Generative Adversarial Nets (arXiv:1411.1784)"
ODENA_2017 = ("Odena, Olah & Shlens 2017, Conditional Image Synthesis with Auxiliary Classifier GANs "
              "(ICML)")


def one_hot(labels: torch.Tensor, num_classes: int, like: torch.Tensor) -> torch.Tensor:
    """Class indices (N,) → one-hot rows (N, K) in ``like``'s dtype and device."""
    return F.one_hot(labels.long(), num_classes).to(device=like.device, dtype=like.dtype)


def label_planes(labels: torch.Tensor, num_classes: int, images: torch.Tensor) -> torch.Tensor:
    """One-hot labels replicated over the image: (N, K, H, W), plane k all ones where the label is k."""
    return one_hot(labels, num_classes, images)[:, :, None, None].expand(-1, -1, *images.shape[-2:])


class ConditionalGenerator(nn.Module):
    """G(z, y): the one-hot label joined to the noise, then DCGAN's generator (cGAN and AC-GAN)."""

    def __init__(self, latent_dim: int, num_classes: int, channels: int, image_size: int, width: int):
        super().__init__()
        self.num_classes = num_classes
        self.net = DCGANGenerator(latent_dim + num_classes, channels, image_size, width)

    def forward(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return self.net(torch.cat([z, one_hot(labels, self.num_classes, z)], 1))


class LabelMapDiscriminator(nn.Module):
    """cGAN's D(x, y): the label's planes concatenated to the image, then DCGAN's discriminator → a logit."""

    def __init__(self, channels: int, num_classes: int, image_size: int, width: int):
        super().__init__()
        self.num_classes = num_classes
        self.net = DCGANDiscriminator(channels + num_classes, image_size, width)

    def forward(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return self.net(torch.cat([x, label_planes(labels, self.num_classes, x)], 1))

    def source_logits(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """The real-versus-fake logit of ``x`` shown with ``labels``: the forward itself."""
        return self(x, labels)


class AuxiliaryClassifierDiscriminator(nn.Module):
    """AC-GAN's D(x) → (source logit (N,), class logits (N, K)): DCGAN's discriminator whose last 4×4
    convolution has 1 + K outputs (Odena et al. §3: one network, two output distributions)."""

    def __init__(self, channels: int, num_classes: int, image_size: int, width: int):
        super().__init__()
        *trunk, last, _flatten = DCGANDiscriminator(channels, image_size, width)
        self.features = nn.Sequential(*trunk)
        self.head = nn.Conv2d(last.in_channels, 1 + num_classes, last.kernel_size, last.stride, last.padding)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        out = self.head(self.features(x)).flatten(1)
        return out[:, 0], out[:, 1:]

    def source_logits(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """The real-versus-fake logit of ``x`` (the labels are not an input: D predicts them)."""
        return self(x)[0]


class ConditionalPair(AdversarialPair):
    """The two players of a class-conditional GAN: ``generator(z, labels)`` and a discriminator that
    either reads the labels (cGAN) or predicts them (AC-GAN); ``num_classes`` is K."""

    def __init__(self, generator: ConditionalGenerator, discriminator: nn.Module, sample_shape: Sequence[int],
                 latent_dim: int, num_classes: int):
        super().__init__(generator, discriminator, sample_shape, latent_dim)
        self.num_classes = num_classes

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None, player: str = "generator") -> torch.Tensor:
        """The generator's images for noise ``x``, or D's source logits for images ``x``, given ``labels``.
        Without labels every item is class 0: what the layer table and the multiply-add count run."""
        if labels is None:
            labels = torch.zeros(len(x), dtype=torch.long, device=x.device)
        if player == "generator":
            return self.generator(x, labels)
        if player == "discriminator":
            return self.source_logits(x, labels)
        raise ValueError(f"player must be 'generator' or 'discriminator', not {player!r}")

    def source_logits(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """D's real-versus-fake logits (N,) for images ``x`` of (or generated for) ``labels``."""
        return self.discriminator.source_logits(x, labels)


def _pair(discriminator_class: type[nn.Module], image_size: int, channels: int, num_classes: int,
          latent_dim: int, g_width: int, d_width: int) -> ConditionalPair:
    pair = ConditionalPair(ConditionalGenerator(latent_dim, num_classes, channels, image_size, g_width),
                           discriminator_class(channels, num_classes, image_size, d_width),
                           (channels, image_size, image_size), latent_dim, num_classes)
    pair.apply(dcgan_init_)
    return pair


@register_model("cgan", family="gan", task="cgan", input_size=(100,), paper=MIRZA_2014,
                summary="conditional GAN on the DCGAN backbone: the one-hot label joined to z and to D's input")
def cgan(image_size: int = 64, channels: int = 3, num_classes: int = 10, latent_dim: int = 100,
         g_width: int = 128, d_width: int = 64) -> ConditionalPair:
    """cGAN for ``num_classes`` classes of ``image_size``² images with ``channels`` channels (the recipe
    passes the data's); the widths and sizes are DCGAN's knobs."""
    return _pair(LabelMapDiscriminator, image_size, channels, num_classes, latent_dim, g_width, d_width)


@register_model("acgan", family="gan", task="acgan", input_size=(100,), paper=ODENA_2017,
                summary="auxiliary classifier GAN on the DCGAN backbone: D predicts source and class")
def acgan(image_size: int = 64, channels: int = 3, num_classes: int = 10, latent_dim: int = 100,
          g_width: int = 128, d_width: int = 64) -> ConditionalPair:
    """AC-GAN for ``num_classes`` classes of ``image_size``² images with ``channels`` channels (the recipe
    passes the data's); the widths and sizes are DCGAN's knobs."""
    return _pair(AuxiliaryClassifierDiscriminator, image_size, channels, num_classes, latent_dim, g_width, d_width)
