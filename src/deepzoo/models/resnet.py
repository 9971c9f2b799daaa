"""Residual networks (He et al. 2016, "Deep Residual Learning for Image Recognition").

Two families live here:

- the ImageNet ResNets of Table 1 (``resnet18`` … ``resnet152``). The default ``variant="torchvision"``
  is torchvision's "v1.5": a bottleneck block downsamples in its 3×3 conv. ``variant="paper"`` puts the
  stride in the block's first 1×1 conv as in the paper (He et al. 2016, §3.3 and Table 1), which is what
  the paper's FLOP column (1.8/3.6/3.8/7.6/11.3 G multiply-adds) counts. Basic blocks (18/34 layers)
  have no 1×1 conv, so both variants are the same network there. Projection shortcuts (option B) where
  the shape changes, as in the paper's ImageNet models. Module names are torchvision's except the
  classifier, ``fc`` there and ``head`` here (see :meth:`ResNet.convert_state_dict`).
- the CIFAR ResNets of §4.2 (``resnet20`` … ``resnet110``): 6n+2 layers, a 3×3 conv with 16 filters,
  three stages of n basic blocks with 16/32/64 filters on 32×32/16×16/8×8 maps, global average pool and
  a 10-way linear layer. Shortcuts are option A by default (identity, or stride-2 subsampling plus
  zero-padded channels where the shape changes: no parameters), which is what Table 6 counts.

Small-input stem (ImageNet ResNets): with ``input_size`` ≤ :data:`SMALL_INPUT_MAX` the 7×7 stride-2
conv and the 3×3 max-pool become one 3×3 stride-1 conv, as the CIFAR ResNets do, so 8×8 digits and
32×32 images keep enough resolution for four stages (32 → 32, 16, 8, 4). From 65 pixels up the stem is
the paper's.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import ConfigError
from . import register_model
from ._base import Classifier

SMALL_INPUT_MAX = 64
"""Inputs of at most this many pixels a side get a family's small-input stem (every zoo family)."""

HE_2016 = "He et al. 2016, Deep Residual Learning for Image Recognition"
VARIANTS = ("torchvision", "paper")


def _conv3x3(in_ch: int, out_ch: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(in_ch, out_ch, 3, stride=stride, padding=1, bias=False)


def _conv1x1(in_ch: int, out_ch: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(in_ch, out_ch, 1, stride=stride, bias=False)


def _projection(in_ch: int, out_ch: int, stride: int) -> nn.Sequential:
    """Option B shortcut: 1×1 conv (strided) + batch norm, used where the block changes the shape."""
    return nn.Sequential(_conv1x1(in_ch, out_ch, stride), nn.BatchNorm2d(out_ch))


class BasicBlock(nn.Module):
    """Two 3×3 conv-BN layers with a shortcut: y = ReLU(F(x) + shortcut(x)) (He et al. 2016, Eq. 1-2,
    Fig. 2 left). ``downsample`` is the shortcut where the shape changes (a projection or option A)."""

    expansion = 1

    def __init__(self, in_ch: int, width: int, stride: int = 1, downsample: nn.Module | None = None):
        super().__init__()
        self.conv1 = _conv3x3(in_ch, width, stride)
        self.bn1 = nn.BatchNorm2d(width)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = _conv3x3(width, width)
        self.bn2 = nn.BatchNorm2d(width)
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        return self.relu(self.bn2(self.conv2(out)) + shortcut)


class Bottleneck(nn.Module):
    """1×1 (reduce) → 3×3 → 1×1 (expand ×4) conv-BN layers with a shortcut (He et al. 2016, Fig. 5
    right). ``stride_in_1x1`` places the downsampling stride in the first 1×1 conv (the paper, "v1")
    instead of the 3×3 conv (torchvision's "v1.5")."""

    expansion = 4

    def __init__(self, in_ch: int, width: int, stride: int = 1, downsample: nn.Module | None = None,
                 stride_in_1x1: bool = False):
        super().__init__()
        self.conv1 = _conv1x1(in_ch, width, stride if stride_in_1x1 else 1)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = _conv3x3(width, width, 1 if stride_in_1x1 else stride)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = _conv1x1(width, width * self.expansion)
        self.bn3 = nn.BatchNorm2d(width * self.expansion)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        return self.relu(self.bn3(self.conv3(out)) + shortcut)


def _init_resnet(model: nn.Module) -> None:
    """He et al. 2015 ("Delving deep into rectifiers") normal init for convs, as the paper uses (§3.4);
    batch norm starts at identity."""
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)


class ResNet(Classifier):
    """ImageNet ResNet (He et al. 2016, Table 1): stem, ``len(layers)`` stages of blocks with widths
    64·2^i (stride 2 from the second stage on), global average pool, linear head.

    ``layers`` gives the blocks per stage ((2, 2, 2, 2) for ResNet-18 … (3, 8, 36, 3) for ResNet-152);
    fewer stages are allowed (the ViT hybrid uses three). ``num_classes=0`` leaves the head out.
    """

    def __init__(self, block: type[BasicBlock] | type[Bottleneck], layers: Sequence[int],
                 num_classes: int = 1000, in_chans: int = 3, input_size: int = 224,
                 stride_in_1x1: bool = False):
        super().__init__()
        small = input_size <= SMALL_INPUT_MAX
        self.conv1 = _conv3x3(in_chans, 64) if small else nn.Conv2d(in_chans, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.Identity() if small else nn.MaxPool2d(3, stride=2, padding=1)
        # total downsampling of the last stage: its maps are ceil(input / reduction) pixels a side
        self.reduction = (1 if small else 4) * 2 ** (len(layers) - 1)
        extra = {"stride_in_1x1": stride_in_1x1} if block is Bottleneck else {}
        channels = 64
        self.stage_names = [f"layer{i + 1}" for i in range(len(layers))]
        for i, (name, blocks) in enumerate(zip(self.stage_names, layers, strict=True)):
            width, stride = 64 * 2**i, 1 if i == 0 else 2
            out = width * block.expansion
            shortcut = _projection(channels, out, stride) if stride != 1 or channels != out else None
            stage = [block(channels, width, stride, shortcut, **extra)]
            stage += [block(out, width, **extra) for _ in range(blocks - 1)]
            self.add_module(name, nn.Sequential(*stage))
            channels = out
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.num_features = channels
        self.head = nn.Linear(channels, num_classes) if num_classes else nn.Identity()
        #: the channels and the downsampling of each map :meth:`feature_maps` returns (timm's ``feature_info``)
        stem = 1 if small else 2
        self.feature_info = [{"num_chs": 64, "reduction": stem}] + [
            {"num_chs": 64 * 2**i * block.expansion, "reduction": stem * (1 if small else 2) * 2**i}
            for i in range(len(layers))]
        _init_resnet(self)

    def feature_maps(self, x: torch.Tensor) -> list[torch.Tensor]:
        """The stem's activation (before the max-pool) and every stage's output, shallowest first — timm's
        ``features_only`` maps (act1, layer1 …): what a U-Net decoder reads as its skips."""
        x = self.relu(self.bn1(self.conv1(x)))
        maps = [x]
        x = self.maxpool(x)
        for name in self.stage_names:
            x = getattr(self, name)(x)
            maps.append(x)
        return maps

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """The last stage's feature map (N, num_features, ⌈H/reduction⌉, ⌈W/reduction⌉), before pooling."""
        return self.feature_maps(x)[-1]

    def forward_head(self, x: torch.Tensor, pre_logits: bool = False) -> torch.Tensor:
        """Global average pooling (the pre-logits vector), then the linear layer."""
        x = torch.flatten(self.avgpool(x), 1)
        return x if pre_logits else self.head(x)

    def convert_state_dict(self, state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Map a torchvision ResNet state dict to this module: only ``fc.*`` is renamed ``head.*``."""
        return {("head." + k[3:] if k.startswith("fc.") else k): v for k, v in state.items()}


def _imagenet_resnet(block, layers, num_classes: int, in_chans: int, input_size: int, variant: str) -> ResNet:
    if variant not in VARIANTS:
        raise ConfigError(f"resnet: variant {variant!r} is not one of {', '.join(VARIANTS)}")
    return ResNet(block, layers, num_classes, in_chans, input_size, stride_in_1x1=variant == "paper")


def _meta(params: int, macs: float) -> dict:
    return dict(family="resnet", paper=HE_2016, task="multiclass", input_size=(3, 224, 224), params=params,
                macs=macs, reference="params: torchvision (v1.5); macs: He et al. Table 1 (variant='paper')")


@register_model("resnet18", **_meta(11_689_512, 1.8e9))
def resnet18(num_classes: int = 1000, in_chans: int = 3, input_size: int = 224,
             variant: str = "torchvision") -> ResNet:
    """ResNet-18: basic blocks (2, 2, 2, 2) (He et al. 2016, Table 1)."""
    return _imagenet_resnet(BasicBlock, (2, 2, 2, 2), num_classes, in_chans, input_size, variant)


@register_model("resnet34", **_meta(21_797_672, 3.6e9))
def resnet34(num_classes: int = 1000, in_chans: int = 3, input_size: int = 224,
             variant: str = "torchvision") -> ResNet:
    """ResNet-34: basic blocks (3, 4, 6, 3) (He et al. 2016, Table 1)."""
    return _imagenet_resnet(BasicBlock, (3, 4, 6, 3), num_classes, in_chans, input_size, variant)


@register_model("resnet50", **_meta(25_557_032, 3.8e9))
def resnet50(num_classes: int = 1000, in_chans: int = 3, input_size: int = 224,
             variant: str = "torchvision") -> ResNet:
    """ResNet-50: bottleneck blocks (3, 4, 6, 3) (He et al. 2016, Table 1)."""
    return _imagenet_resnet(Bottleneck, (3, 4, 6, 3), num_classes, in_chans, input_size, variant)


@register_model("resnet101", **_meta(44_549_160, 7.6e9))
def resnet101(num_classes: int = 1000, in_chans: int = 3, input_size: int = 224,
              variant: str = "torchvision") -> ResNet:
    """ResNet-101: bottleneck blocks (3, 4, 23, 3) (He et al. 2016, Table 1)."""
    return _imagenet_resnet(Bottleneck, (3, 4, 23, 3), num_classes, in_chans, input_size, variant)


@register_model("resnet152", **_meta(60_192_808, 11.3e9))
def resnet152(num_classes: int = 1000, in_chans: int = 3, input_size: int = 224,
              variant: str = "torchvision") -> ResNet:
    """ResNet-152: bottleneck blocks (3, 8, 36, 3) (He et al. 2016, Table 1)."""
    return _imagenet_resnet(Bottleneck, (3, 8, 36, 3), num_classes, in_chans, input_size, variant)


class ZeroPadShortcut(nn.Module):
    """Option A shortcut (He et al. 2016, §3.3 and §4.2): subsample by ``stride`` and append zero
    channels up to ``out_ch``; it has no parameters."""

    def __init__(self, in_ch: int, out_ch: int, stride: int):
        super().__init__()
        self.stride, self.extra = stride, out_ch - in_ch

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.pad(x[:, :, :: self.stride, :: self.stride], (0, 0, 0, 0, 0, self.extra))


class CifarResNet(Classifier):
    """The CIFAR-10 ResNet of He et al. 2016, §4.2: ``depth`` = 6n+2 weighted layers — a 3×3 conv with
    16 filters, three stages of n basic blocks with 16, 32, 64 filters (stride 2 at the start of the
    second and third), global average pool and a linear layer. ``shortcut="A"`` (the paper's choice for
    Table 6) zero-pads channels, ``"B"`` uses 1×1 projections where the shape changes.

    The stem is already a small-input stem (3×3 stride 1, no pooling), so it takes no ``input_size``.
    """

    def __init__(self, depth: int, num_classes: int = 10, in_chans: int = 3, shortcut: str = "A"):
        super().__init__()
        if depth < 8 or (depth - 2) % 6:
            raise ConfigError(f"cifar resnet: depth {depth} is not 6n+2 with n >= 1 (20, 32, 44, 56, 110)")
        if shortcut not in ("A", "B"):
            raise ConfigError(f"cifar resnet: shortcut {shortcut!r} is not A (zero-pad) or B (projection)")
        n = (depth - 2) // 6
        self.conv1 = _conv3x3(in_chans, 16)
        self.bn1 = nn.BatchNorm2d(16)
        self.relu = nn.ReLU(inplace=True)
        channels = 16
        for i, width in enumerate((16, 32, 64)):
            stride = 1 if i == 0 else 2
            make_shortcut = ZeroPadShortcut if shortcut == "A" else _projection
            changes = stride != 1 or channels != width
            first_shortcut = make_shortcut(channels, width, stride) if changes else None
            blocks = [BasicBlock(channels, width, stride, first_shortcut)]
            blocks += [BasicBlock(width, width) for _ in range(n - 1)]
            self.add_module(f"layer{i + 1}", nn.Sequential(*blocks))
            channels = width
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.num_features = channels
        self.head = nn.Linear(channels, num_classes)
        _init_resnet(self)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """The third stage's map (N, 64, H/4, W/4) — 8×8 on CIFAR — before pooling."""
        x = self.relu(self.bn1(self.conv1(x)))
        return self.layer3(self.layer2(self.layer1(x)))

    def forward_head(self, x: torch.Tensor, pre_logits: bool = False) -> torch.Tensor:
        """Global average pooling (the pre-logits vector), then the linear layer (He et al. §4.2)."""
        x = torch.flatten(self.avgpool(x), 1)
        return x if pre_logits else self.head(x)


def _cifar_meta(params: float, error: float) -> dict:
    return dict(family="resnet", paper=HE_2016, task="multiclass", input_size=(3, 32, 32), params=int(params),
                paper_cifar10_error=error, reference="params: He et al. Table 6 (rounded to 0.01M / 0.1M)")


@register_model("resnet20", **_cifar_meta(0.27e6, 8.75))
def resnet20(num_classes: int = 10, in_chans: int = 3, shortcut: str = "A") -> CifarResNet:
    """CIFAR ResNet-20 (n = 3; He et al. 2016 Table 6: 0.27M parameters, 8.75% error). ``num_classes``
    defaults to CIFAR-10's 10, the head Table 6 counts."""
    return CifarResNet(20, num_classes, in_chans, shortcut)


@register_model("resnet32", **_cifar_meta(0.46e6, 7.51))
def resnet32(num_classes: int = 10, in_chans: int = 3, shortcut: str = "A") -> CifarResNet:
    """CIFAR ResNet-32 (n = 5; He et al. 2016 Table 6: 0.46M parameters, 7.51% error)."""
    return CifarResNet(32, num_classes, in_chans, shortcut)


@register_model("resnet44", **_cifar_meta(0.66e6, 7.17))
def resnet44(num_classes: int = 10, in_chans: int = 3, shortcut: str = "A") -> CifarResNet:
    """CIFAR ResNet-44 (n = 7; He et al. 2016 Table 6: 0.66M parameters, 7.17% error)."""
    return CifarResNet(44, num_classes, in_chans, shortcut)


@register_model("resnet56", **_cifar_meta(0.85e6, 6.97))
def resnet56(num_classes: int = 10, in_chans: int = 3, shortcut: str = "A") -> CifarResNet:
    """CIFAR ResNet-56 (n = 9; He et al. 2016 Table 6: 0.85M parameters, 6.97% error)."""
    return CifarResNet(56, num_classes, in_chans, shortcut)


@register_model("resnet110", **_cifar_meta(1.7e6, 6.43))
def resnet110(num_classes: int = 10, in_chans: int = 3, shortcut: str = "A") -> CifarResNet:
    """CIFAR ResNet-110 (n = 18; He et al. 2016 Table 6: 1.7M parameters, 6.43% error)."""
    return CifarResNet(110, num_classes, in_chans, shortcut)
