"""GoogLeNet / Inception v1 (Szegedy et al. 2015, "Going Deeper with Convolutions", arXiv 2014).

Table 1 of the paper: a stem (7×7/2 conv, 3×3/2 max-pool, 1×1 and 3×3 convs, 3×3/2 max-pool), nine
inception modules 3a-3b, 4a-4e, 5a-5b with max-pools after 3b and 4e, global average pool, dropout and a
linear layer. An inception module (Fig. 2b) runs four branches in parallel and concatenates them: a 1×1
conv; a 1×1 reduction then a 3×3 conv; a 1×1 reduction then a 5×5 conv; a 3×3 max-pool then a 1×1
projection. Their widths per module are :data:`INCEPTION_TABLE`.

Two variants:

- ``variant="paper"``: the network of Table 1 — true 5×5 branch, convs with bias and ReLU, local
  response normalisation after the first max-pool and after the 3×3 conv (Fig. 3), every max-pool 3×3/2,
  dropout 0.4. The paper gives no LRN constants; AlexNet's are used (k = 2, n = 5, α = 10⁻⁴, β = 0.75).
- ``variant="torchvision"`` (default): torchvision's port of the Caffe weights — the "5×5" branch is a
  3×3 conv, every conv is followed by batch norm (ε = 10⁻³), no LRN, the last max-pool is 2×2, dropout
  0.2. Module names are torchvision's except the classifier, ``fc`` there and ``head`` here; its weight
  files load (see :meth:`GoogLeNet.convert_state_dict`). 6,624,904 parameters without the auxiliary
  classifiers, 13,004,888 with them.

Auxiliary classifiers (§5, ``aux_logits=True``): on the outputs of 4a and 4d, a 5×5/3 average pool
(torchvision and small inputs: adaptive 4×4 average pool), a 1×1 conv with 128 filters, a 1024-unit fully
connected layer with ReLU, dropout 0.7 and a linear layer. In training mode the forward pass then returns
:class:`InceptionOutputs` ``(logits, aux1, aux2)``; the paper adds the auxiliary losses with weight
:data:`AUX_LOSS_WEIGHT` = 0.3 (:meth:`InceptionOutputs.loss`). In eval mode it returns the logits only.

Input transform (``transform_input=True``, torchvision's knob): the torchvision weights were ported from
Caffe and expect pixels scaled to [−1, 1] ((x − 0.5) / 0.5), while every other torchvision model reads
ImageNet-normalised pixels ((x − mean) / std). With the knob on, the model takes ImageNet-normalised
input and maps it back to [−1, 1] per channel (x · std / 0.5 + (mean − 0.5) / 0.5) before the stem, as
torchvision's ``googlenet(weights=...)`` does — it turns the knob on whenever it loads weights, and
:func:`deepzoo.models.pretrained.load_pretrained` does the same.

Small-input stem: with ``input_size`` ≤ 64 the first conv is 3×3 with stride 1 and the first max-pool is
left out, so the modules see 16×16 (3a), 8×8 (4a) and 4×4 (5a) maps on 32×32 inputs and 4, 2, 1 on 8×8.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import NamedTuple

import torch
from torch import nn

from ..errors import ConfigError
from . import register_model
from ._base import Classifier
from .alexnet import local_response_norm
from .pretrained import IMAGENET_MEAN, IMAGENET_STD
from .resnet import SMALL_INPUT_MAX

SZEGEDY_2014 = "Szegedy et al. 2015, Going Deeper with Convolutions (GoogLeNet)"
AUX_LOSS_WEIGHT = 0.3
"""Weight of each auxiliary classifier's loss in training (Szegedy et al. §5)."""

INCEPTION_TABLE: dict[str, tuple[int, int, int, int, int, int]] = {
    "3a": (64, 96, 128, 16, 32, 32),
    "3b": (128, 128, 192, 32, 96, 64),
    "4a": (192, 96, 208, 16, 48, 64),
    "4b": (160, 112, 224, 24, 64, 64),
    "4c": (128, 128, 256, 24, 64, 64),
    "4d": (112, 144, 288, 32, 64, 64),
    "4e": (256, 160, 320, 32, 128, 128),
    "5a": (256, 160, 320, 32, 128, 128),
    "5b": (384, 192, 384, 48, 128, 128),
}
"""Szegedy et al. Table 1 columns: #1×1, #3×3 reduce, #3×3, #5×5 reduce, #5×5, pool proj."""


class ConvBlock(nn.Module):
    """Conv → batch norm (torchvision's variant; ``batch_norm=False`` for the paper's conv with bias) →
    ReLU. Named ``conv``/``bn`` like torchvision's ``BasicConv2d``."""

    def __init__(self, in_ch: int, out_ch: int, kernel: int, stride: int = 1, padding: int = 0,
                 batch_norm: bool = True):
        super().__init__()
        self.conv = nn.Conv2d(in_ch, out_ch, kernel, stride, padding, bias=not batch_norm)
        self.bn = nn.BatchNorm2d(out_ch, eps=1e-3) if batch_norm else nn.Identity()
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(self.bn(self.conv(x)))


ConvFactory = Callable[..., ConvBlock]


class Inception(nn.Module):
    """An inception module with dimension reductions (Szegedy et al. Fig. 2b): four parallel branches
    concatenated along channels. ``big_kernel`` is the "5×5" branch's kernel (5 in the paper, 3 in
    torchvision's port)."""

    def __init__(self, in_ch: int, widths: tuple[int, int, int, int, int, int], conv: ConvFactory,
                 big_kernel: int = 5):
        super().__init__()
        ch1, ch3_reduce, ch3, ch5_reduce, ch5, pool_proj = widths
        self.branch1 = conv(in_ch, ch1, 1)
        self.branch2 = nn.Sequential(conv(in_ch, ch3_reduce, 1), conv(ch3_reduce, ch3, 3, padding=1))
        self.branch3 = nn.Sequential(conv(in_ch, ch5_reduce, 1),
                                     conv(ch5_reduce, ch5, big_kernel, padding=big_kernel // 2))
        self.branch4 = nn.Sequential(nn.MaxPool2d(3, stride=1, padding=1, ceil_mode=True),
                                     conv(in_ch, pool_proj, 1))
        self.out_channels = ch1 + ch3 + ch5 + pool_proj

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)], 1)


class InceptionAux(nn.Module):
    """Auxiliary classifier (Szegedy et al. §5): pool to 4×4, 1×1 conv 128, fc 1024 + ReLU, dropout 0.7,
    linear layer to the classes."""

    def __init__(self, in_ch: int, num_classes: int, conv: ConvFactory, pool: nn.Module):
        super().__init__()
        self.pool = pool
        self.conv = conv(in_ch, 128, 1)
        self.fc1 = nn.Linear(128 * 4 * 4, 1024)
        self.relu = nn.ReLU(inplace=True)
        self.dropout = nn.Dropout(0.7)
        self.fc2 = nn.Linear(1024, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.flatten(self.conv(self.pool(x)), 1)
        return self.fc2(self.dropout(self.relu(self.fc1(x))))


class InceptionOutputs(NamedTuple):
    """Training-mode outputs of a GoogLeNet with auxiliary classifiers (on 4a and 4d)."""

    logits: torch.Tensor
    aux1: torch.Tensor
    aux2: torch.Tensor

    def loss(self, criterion: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
             target: torch.Tensor) -> torch.Tensor:
        """The paper's training loss: main loss + 0.3 × each auxiliary loss (Szegedy et al. §5)."""
        aux = criterion(self.aux1, target) + criterion(self.aux2, target)
        return criterion(self.logits, target) + AUX_LOSS_WEIGHT * aux


class GoogLeNet(Classifier):
    """GoogLeNet (Szegedy et al. Table 1) in the paper's or torchvision's variant; see the module
    docstring for the differences, the auxiliary classifiers and the small-input stem."""

    #: the auxiliary classifiers' last layers have the class count too
    classifier_prefixes = ("head.", "aux1.fc2.", "aux2.fc2.")

    def __init__(self, variant: str = "torchvision", num_classes: int = 1000, in_chans: int = 3,
                 input_size: int = 224, aux_logits: bool = False, dropout: float | None = None,
                 transform_input: bool = False):
        super().__init__()
        if variant not in ("paper", "torchvision"):
            raise ConfigError(f"googlenet: variant {variant!r} is not one of paper, torchvision")
        if transform_input and in_chans != 3:
            raise ConfigError(f"googlenet: transform_input maps the 3 ImageNet channels; in_chans is {in_chans}")
        #: ImageNet-normalised input → Caffe's [−1, 1] (the module docstring); a plain attribute, like
        #: torchvision's, which a run records as the constructor argument
        self.transform_input = transform_input
        paper, small = variant == "paper", input_size <= SMALL_INPUT_MAX
        conv = partial(ConvBlock, batch_norm=not paper)

        def pool(kernel: int = 3) -> nn.MaxPool2d:
            return nn.MaxPool2d(kernel, stride=2, ceil_mode=True)

        def lrn() -> nn.Module:
            return local_response_norm() if paper else nn.Identity()

        self.conv1 = conv(in_chans, 64, 3, padding=1) if small else conv(in_chans, 64, 7, stride=2, padding=3)
        self.maxpool1 = nn.Identity() if small else pool()
        self.lrn1 = lrn()
        self.conv2 = conv(64, 64, 1)
        self.conv3 = conv(64, 192, 3, padding=1)
        self.lrn2 = lrn()
        self.maxpool2 = pool()
        channels = 192
        for name, widths in INCEPTION_TABLE.items():
            module = Inception(channels, widths, conv, big_kernel=5 if paper else 3)
            self.add_module(f"inception{name}", module)
            channels = module.out_channels
            if name == "3b":
                self.maxpool3 = pool()
            elif name == "4e":
                self.maxpool4 = pool(3 if paper else 2)
        if aux_logits:
            # the paper's 5×5/3 pool gives 4×4 from 14×14 maps; adaptive pooling gives 4×4 from any size
            paper_pool = paper and not small
            aux_pool = partial(nn.AvgPool2d, 5, stride=3) if paper_pool else partial(nn.AdaptiveAvgPool2d, 4)
            self.aux1 = InceptionAux(self.inception4a.out_channels, num_classes, conv, aux_pool())
            self.aux2 = InceptionAux(self.inception4d.out_channels, num_classes, conv, aux_pool())
        else:
            self.aux1 = self.aux2 = None
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout((0.4 if paper else 0.2) if dropout is None else dropout)
        self.num_features = channels
        self.head = nn.Linear(channels, num_classes)

    def _transform_input(self, x: torch.Tensor) -> torch.Tensor:
        """ImageNet-normalised pixels → (pixels − 0.5) / 0.5 per channel when ``transform_input`` is on."""
        if not self.transform_input:
            return x
        # the factors in double precision, rounded once, as torchvision's per-channel Python scalars are
        scale = torch.tensor([s / 0.5 for s in IMAGENET_STD], device=x.device, dtype=x.dtype).view(1, 3, 1, 1)
        shift = torch.tensor([(m - 0.5) / 0.5 for m in IMAGENET_MEAN], device=x.device, dtype=x.dtype).view(1, 3, 1, 1)
        return x * scale + shift

    def _trunk(self, x: torch.Tensor,
               with_aux: bool) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
        """Inception 5b's map (unpooled), and the auxiliary logits when ``with_aux`` (else None)."""
        x = self._transform_input(x)
        x = self.maxpool2(self.lrn2(self.conv3(self.conv2(self.lrn1(self.maxpool1(self.conv1(x)))))))
        x = self.maxpool3(self.inception3b(self.inception3a(x)))
        x = self.inception4a(x)
        aux1 = self.aux1(x) if with_aux else None
        x = self.inception4d(self.inception4c(self.inception4b(x)))
        aux2 = self.aux2(x) if with_aux else None
        x = self.maxpool4(self.inception4e(x))
        x = self.inception5b(self.inception5a(x))
        return x, aux1, aux2

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """Inception 5b's map (N, 1024, h, w), 7×7 at 224 px, before the average pool (no auxiliary
        classifiers)."""
        return self._trunk(x, with_aux=False)[0]

    def forward_head(self, x: torch.Tensor, pre_logits: bool = False) -> torch.Tensor:
        """Global average pool and dropout (the pre-logits vector, as timm returns it), then the linear
        classifier (Table 1's last rows)."""
        x = self.dropout(torch.flatten(self.avgpool(x), 1))
        return x if pre_logits else self.head(x)

    def reset_classifier(self, num_classes: int, global_pool: str | None = None) -> None:
        """New final layer with ``num_classes`` outputs; the auxiliary classifiers get new last layers too
        (or are removed with ``num_classes=0``, which leaves the pre-logits only)."""
        super().reset_classifier(num_classes, global_pool)
        for name in ("aux1", "aux2"):
            aux = getattr(self, name)
            if aux is not None and num_classes:
                old = aux.fc2.weight
                aux.fc2 = nn.Linear(aux.fc2.in_features, num_classes, device=old.device, dtype=old.dtype)
            elif aux is not None:
                setattr(self, name, None)

    def forward(self, x: torch.Tensor) -> torch.Tensor | InceptionOutputs:
        """Logits; in training mode with auxiliary classifiers, :class:`InceptionOutputs`."""
        features, aux1, aux2 = self._trunk(x, with_aux=self.training and self.aux1 is not None)
        logits = self.forward_head(features)
        return logits if aux1 is None else InceptionOutputs(logits, aux1, aux2)

    def convert_state_dict(self, state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Map a torchvision GoogLeNet state dict: ``fc.*`` becomes ``head.*``, and the auxiliary
        classifiers' weights (which torchvision keeps by default) are dropped when this model has none."""
        keep_aux = self.aux1 is not None
        return {("head." + k[3:] if k.startswith("fc.") else k): v for k, v in state.items()
                if keep_aux or not k.startswith(("aux1.", "aux2."))}


@register_model("googlenet", family="googlenet", paper=SZEGEDY_2014, task="multiclass",
                input_size=(3, 224, 224), params=6_624_904, macs=1.5e9,
                reference="params: torchvision without aux (13,004,888 with); macs: Table 1, variant='paper'")
def googlenet(num_classes: int = 1000, in_chans: int = 3, input_size: int = 224, variant: str = "torchvision",
              aux_logits: bool = False, dropout: float | None = None, transform_input: bool = False) -> GoogLeNet:
    """GoogLeNet / Inception v1: ``variant="paper"`` (Table 1: 5×5 branch, LRN, no batch norm) or
    ``"torchvision"`` (3×3 "5×5" branch, batch norm); ``aux_logits`` adds the two auxiliary classifiers;
    ``transform_input`` maps ImageNet-normalised input to the [−1, 1] the torchvision weights expect."""
    return GoogLeNet(variant, num_classes, in_chans, input_size, aux_logits, dropout, transform_input)
