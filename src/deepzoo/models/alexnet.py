"""AlexNet (Krizhevsky, Sutskever & Hinton 2012, "ImageNet Classification with Deep Convolutional Neural
Networks").

Five convs (11×11 stride 4, 5×5, then three 3×3) with ReLU and three overlapping 3×3 stride-2 max-pools,
then three fully connected layers 4096-4096-classes with dropout 0.5. Two variants:

- ``variant="torchvision"`` (default): torchvision's single-tower net with 64-192-384-256-256 filters
  and no normalisation (61,100,840 parameters at 1000 classes), module names as torchvision's except the
  last linear layer (``classifier.6`` there, ``head`` here) so its weight files load.
- ``variant="paper"``: the paper's widths 96-256-384-384-256 (§3.5, Fig. 2) with local response
  normalisation after the first two ReLUs (§3.3, k = 2, n = 5, α = 10⁻⁴, β = 0.75) and dropout on the
  outputs of the two hidden fully connected layers (§4.2). The paper splits every layer across two GPUs
  and lets conv2, conv4 and conv5 see only the maps of their own GPU. Here the net is one tower
  (``groups=1``: every conv sees all maps of the previous layer, 62,378,344 parameters); ``groups=2``
  reproduces the two-tower connectivity with grouped convolutions (60,965,224 parameters, the paper's
  "60 million"), computed on one device.

Both use a 6×6 adaptive average pool before the classifier, as torchvision does, so that other input
sizes work (at 224 px the maps are already 6×6).

Small-input stem: with ``input_size`` ≤ 64 the first conv is 3×3 with stride 1 and no max-pool follows
it; the maps are averaged to 1×1 before the classifier (an 8×8 input ends on a 1×1 map, 32×32 on 7×7).
"""

from __future__ import annotations

import torch
from torch import nn

from ..errors import ConfigError
from . import register_model
from ._base import Classifier
from .resnet import SMALL_INPUT_MAX

KRIZHEVSKY_2012 = ("Krizhevsky, Sutskever & Hinton 2012, ImageNet Classification with Deep Convolutional "
                   "Neural Networks")
WIDTHS = {"torchvision": (64, 192, 384, 256, 256), "paper": (96, 256, 384, 384, 256)}


def local_response_norm() -> nn.LocalResponseNorm:
    """Krizhevsky et al. 2012 §3.3: b = a / (k + α Σ a²)^β over n = 5 adjacent maps, k = 2, α = 10⁻⁴,
    β = 0.75. PyTorch divides α by n, so it gets α·n."""
    return nn.LocalResponseNorm(size=5, alpha=1e-4 * 5, beta=0.75, k=2.0)


class AlexNet(Classifier):
    """AlexNet as one tower; see the module docstring for the two variants and ``groups``."""

    def __init__(self, variant: str = "torchvision", num_classes: int = 1000, in_chans: int = 3,
                 input_size: int = 224, groups: int = 1, dropout: float = 0.5):
        super().__init__()
        if variant not in WIDTHS:
            raise ConfigError(f"alexnet: variant {variant!r} is not one of {', '.join(WIDTHS)}")
        if groups != 1 and variant != "paper":
            raise ConfigError("alexnet: groups (the paper's two towers) applies to variant='paper' only")
        c1, c2, c3, c4, c5 = WIDTHS[variant]
        paper, small = variant == "paper", input_size <= SMALL_INPUT_MAX

        def block(conv: nn.Conv2d, normalise: bool = False, pool: bool = False) -> list[nn.Module]:
            return ([conv, nn.ReLU(inplace=True)] + ([local_response_norm()] if paper and normalise else [])
                    + ([nn.MaxPool2d(3, 2)] if pool else []))

        first = nn.Conv2d(in_chans, c1, 3, padding=1) if small else nn.Conv2d(in_chans, c1, 11, 4, 2)
        self.features = nn.Sequential(
            *block(first, normalise=True), nn.Identity() if small else nn.MaxPool2d(3, 2),
            *block(nn.Conv2d(c1, c2, 5, padding=2, groups=groups), normalise=True, pool=True),
            *block(nn.Conv2d(c2, c3, 3, padding=1)),
            *block(nn.Conv2d(c3, c4, 3, padding=1, groups=groups)),
            *block(nn.Conv2d(c4, c5, 3, padding=1, groups=groups), pool=True),
        )
        pooled = 1 if small else 6
        self.avgpool = nn.AdaptiveAvgPool2d(pooled)
        fc6, fc7 = nn.Linear(c5 * pooled * pooled, 4096), nn.Linear(4096, 4096)
        hidden6, hidden7 = (fc6, nn.ReLU(inplace=True)), (fc7, nn.ReLU(inplace=True))
        if paper:  # dropout on the outputs of fc6 and fc7 (§4.2)
            self.classifier = nn.Sequential(*hidden6, nn.Dropout(dropout), *hidden7, nn.Dropout(dropout))
        else:  # torchvision: dropout on their inputs
            self.classifier = nn.Sequential(nn.Dropout(dropout), *hidden6, nn.Dropout(dropout), *hidden7)
        self.num_features = 4096
        self.head = nn.Linear(4096, num_classes)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """The last conv block's map (N, 256, H', W') (256 in both variants), before the adaptive pool."""
        return self.features(x)

    def forward_head(self, x: torch.Tensor, pre_logits: bool = False) -> torch.Tensor:
        """Adaptive average pool, flatten, the two hidden fully connected layers (their 4096 outputs are
        the pre-logits vector of ``num_features`` = 4096), then the last linear layer."""
        x = self.classifier(torch.flatten(self.avgpool(x), 1))
        return x if pre_logits else self.head(x)

    def convert_state_dict(self, state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Map a torchvision AlexNet state dict: its last linear layer ``classifier.6.*`` is ``head.*``."""
        return {("head." + k[len("classifier.6."):] if k.startswith("classifier.6.") else k): v
                for k, v in state.items()}


@register_model("alexnet", family="alexnet", paper=KRIZHEVSKY_2012, task="multiclass",
                input_size=(3, 224, 224), params=61_100_840,
                reference="params: torchvision's net; variant='paper' 62,378,344, groups=2 60,965,224")
def alexnet(num_classes: int = 1000, in_chans: int = 3, input_size: int = 224, variant: str = "torchvision",
            groups: int = 1, dropout: float = 0.5) -> AlexNet:
    """AlexNet: torchvision's 64-192-384-256-256 net, or ``variant="paper"`` (96-256-384-384-256 with
    local response normalisation; ``groups=2`` for the paper's two-tower connectivity)."""
    return AlexNet(variant, num_classes, in_chans, input_size, groups, dropout)
