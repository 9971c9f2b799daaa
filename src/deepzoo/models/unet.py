"""U-Net (Ronneberger, Fischer & Brox 2015, "U-Net: Convolutional Networks for Biomedical Image
Segmentation", Fig. 1 and §2).

A contracting path of ``depth`` levels — two 3×3 convolutions with ReLU each, then a 2×2 max-pool with
stride 2 — doubles the channels at every level (64 → 1024 at depth 5). The expanding path mirrors it:
a 2×2 up-convolution (a transposed convolution with stride 2) that halves the channels, the
concatenation with the contracting path's map of the same level, and two 3×3 convolutions with ReLU. A
1×1 convolution maps the last 64 channels to the class scores: 23 convolutional layers at depth 5.

Two variants:

- ``variant="paper"``: the paper's network, **unpadded** convolutions and no batch norm (batch norm
  came out in 2015 after it). Every 3×3 convolution loses a pixel at each border, so the output is
  smaller than the input (a 572×572 tile gives a 388×388 map, Fig. 1) and each skip map is
  **cropped** to the centre before the concatenation; the recipe compares the output with the centre
  of the mask (the overlap-tile strategy, §2). Weights start from N(0, 2/N), N the inputs of a unit (§3).
- ``variant="padded"`` (the default): padded convolutions with batch norm before each ReLU, so the
  output has the input's size — the variant most ports use (Pytorch-UNet, segmentation_models_pytorch).
  It is a variant, not the paper. With an input that is not a multiple of 2^(depth−1), the upsampled
  map is zero-padded to its skip's size, so the output still has the input's size.

**Encoders from the zoo** (``encoder="resnet18"`` …): the contracting path is replaced by a zoo
classifier's feature maps at each stage (its ``feature_maps(x)`` hook and ``feature_info`` — the
channels and the reduction of each map, as timm's ``features_only`` models give them), and the
expanding path is built on them with the same up-blocks; a last up-block without a skip brings the
map back to the input's size where the encoder's first map is smaller. ImageNet weights for the
encoder are loaded by the segmentation recipe (``--weights imagenet``), not here.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import ConfigError
from . import create_model, register_model

UNET_2015 = "Ronneberger et al. 2015, U-Net: Convolutional Networks for Biomedical Image Segmentation"
VARIANTS = ("padded", "paper")
#: the zoo families whose classifiers have the ``feature_maps`` hook a U-Net encoder needs
ENCODER_FAMILIES = "resnet18, resnet34, resnet50, resnet101, resnet152"


class DoubleConv(nn.Sequential):
    """Two 3×3 convolutions, each followed by a ReLU — batch norm before it in the padded variant
    (Ronneberger et al. 2015, §2: "two 3x3 convolutions (unpadded convolutions), each followed by a
    rectified linear unit")."""

    def __init__(self, in_ch: int, out_ch: int, padding: bool, batch_norm: bool):
        layers: list[nn.Module] = []
        for channels in (in_ch, out_ch):
            layers.append(nn.Conv2d(channels, out_ch, 3, padding=int(padding), bias=not batch_norm))
            if batch_norm:
                layers.append(nn.BatchNorm2d(out_ch))
            layers.append(nn.ReLU(inplace=True))
        super().__init__(*layers)


def centre_crop(x: torch.Tensor, size: tuple[int, int] | torch.Size) -> torch.Tensor:
    """The centre ``size`` (H, W) of a map (N, C, H', W') at least that large (the paper's cropped skip)."""
    top, left = (x.shape[-2] - size[0]) // 2, (x.shape[-1] - size[1]) // 2
    return x[..., top:top + size[0], left:left + size[1]]


class UpBlock(nn.Module):
    """One level of the expanding path: a ``factor``×``factor`` up-convolution halving the channels,
    the concatenation with the skip map (cropped to the centre, unpadded; the upsampled map zero-padded
    to the skip's size, padded), and a :class:`DoubleConv` to ``out_ch`` channels. ``skip_ch=0``: no
    skip (the last block over an encoder whose first map is smaller than the input)."""

    def __init__(self, in_ch: int, skip_ch: int, out_ch: int, padding: bool, batch_norm: bool, factor: int = 2):
        super().__init__()
        self.padding = padding
        self.up = nn.ConvTranspose2d(in_ch, in_ch // 2, factor, stride=factor)
        self.conv = DoubleConv(in_ch // 2 + skip_ch, out_ch, padding, batch_norm)

    def forward(self, x: torch.Tensor, skip: torch.Tensor | None = None) -> torch.Tensor:
        x = self.up(x)
        if skip is not None:
            if self.padding:
                x = F.pad(x, (0, skip.shape[-1] - x.shape[-1], 0, skip.shape[-2] - x.shape[-2]))
            else:
                skip = centre_crop(skip, x.shape[-2:])
            x = torch.cat([skip, x], dim=1)
        return self.conv(x)


class ContractingPath(nn.Module):
    """The paper's encoder: ``depth`` levels of :class:`DoubleConv` with ``base_width``·2^i channels and a
    2×2 max-pool (stride 2) before every level but the first. :meth:`feature_maps` returns every level's
    map, the skips of the expanding path, as a zoo encoder's hook does."""

    def __init__(self, in_chans: int, depth: int, base_width: int, padding: bool, batch_norm: bool):
        super().__init__()
        widths = [base_width * 2**i for i in range(depth)]
        self.levels = nn.ModuleList(DoubleConv(c_in, c_out, padding, batch_norm)
                                    for c_in, c_out in zip([in_chans, *widths[:-1]], widths))
        self.pool = nn.MaxPool2d(2, stride=2)
        #: each map's channels and its downsampling from the input (timm's ``feature_info``)
        self.feature_info = [{"num_chs": w, "reduction": 2**i} for i, w in enumerate(widths)]

    def feature_maps(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Every level's map, the shallowest (full resolution) first."""
        maps = []
        for i, level in enumerate(self.levels):
            x = level(self.pool(x) if i else x)
            maps.append(x)
        return maps


def zoo_encoder(name: str, in_chans: int, input_size: int) -> nn.Module:
    """The zoo classifier ``name`` without its classifier (``num_classes=0``), checked to have the
    ``feature_maps`` hook and its ``feature_info``."""
    with torch.device("meta"):  # checked before anything is allocated (a VGG would take half a gigabyte)
        probe = create_model(name, num_classes=0, in_chans=in_chans, input_size=input_size)
    if not hasattr(probe, "feature_maps"):
        raise ConfigError(f"model.encoder={name}: its feature maps per stage are not exposed; U-Net encoders: "
                          f"{ENCODER_FAMILIES}")
    return create_model(name, num_classes=0, in_chans=in_chans, input_size=input_size)


class UNet(nn.Module):
    """U-Net: an encoder's feature maps (the paper's contracting path, or a zoo classifier's stages), the
    expanding path of :class:`UpBlock` s over them, and a 1×1 convolution to ``num_classes`` scores per
    pixel (see the module docstring). ``forward`` returns logits (N, num_classes, H', W'): H' = H for the
    padded variant, smaller for the paper's."""

    def __init__(self, num_classes: int = 2, in_chans: int = 1, depth: int = 5, base_width: int = 64,
                 variant: str = "padded", encoder: str | None = None, input_size: int = 572):
        super().__init__()
        if variant not in VARIANTS:
            raise ConfigError(f"unet: variant {variant!r} is not one of {', '.join(VARIANTS)}")
        if encoder is None and not (isinstance(depth, int) and depth >= 1):
            raise ConfigError(f"unet: depth={depth!r} must be a whole number of levels ≥ 1 (the paper's is 5)")
        if encoder is None and not (isinstance(base_width, int) and base_width >= 1):
            raise ConfigError(f"unet: base_width={base_width!r} must be a whole number of channels ≥ 1 (64)")
        if encoder is not None and variant == "paper":
            raise ConfigError("unet: variant='paper' is the paper's own contracting path; a zoo encoder "
                              "(model.encoder) takes the padded variant")
        padding = batch_norm = variant == "padded"
        self.variant = variant
        if encoder is None:
            self.encoder = ContractingPath(in_chans, depth, base_width, padding, batch_norm)
        else:
            self.encoder = zoo_encoder(encoder, in_chans, input_size)
        info = self.encoder.feature_info
        self.decoder = nn.ModuleList(
            UpBlock(deep["num_chs"], shallow["num_chs"], shallow["num_chs"], padding, batch_norm,
                    factor=deep["reduction"] // shallow["reduction"])
            for deep, shallow in zip(info[:0:-1], info[-2::-1]))
        width, reduction = info[0]["num_chs"], info[0]["reduction"]
        # a zoo encoder whose first map is already downsampled (a ResNet's stem: 2×) ends with one more
        # up-block, without a skip, back to the input's resolution
        self.final_up = UpBlock(width, 0, width // 2, padding, batch_norm, reduction) if reduction > 1 else None
        self.head = nn.Conv2d(width // 2 if self.final_up else width, num_classes, 1)
        self._init_weights(self.decoder, self.head, self.final_up, *([self.encoder] if encoder is None else []))

    @staticmethod
    def _init_weights(*modules: nn.Module | None) -> None:
        """N(0, 2/N) for every convolution, N = k²·C_in, the inputs of one unit (He et al. 2015, as
        Ronneberger et al. §3 prescribe); zero biases. A zoo encoder keeps its own family's init."""
        for module in filter(None, modules):
            for m in module.modules():
                if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
                    nn.init.kaiming_normal_(m.weight, mode="fan_in", nonlinearity="relu")
                    if m.bias is not None:
                        nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Per-pixel class logits (N, num_classes, H', W')."""
        maps = self.encoder.feature_maps(x)
        y = maps[-1]
        for block, skip in zip(self.decoder, maps[-2::-1]):
            y = block(y, skip)
        if self.final_up is not None:
            y = self.final_up(y)
        return self.head(y)


def paper_output_size(size: int, depth: int = 5) -> int:
    """The output side of the paper's (unpadded) U-Net for an input side ``size``: each level's two 3×3
    convolutions take 4 pixels, each pool halves (Fig. 1: 572 → 388 at depth 5)."""
    for _ in range(depth - 1):
        size = (size - 4) // 2
    size -= 4
    for _ in range(depth - 1):
        size = size * 2 - 4
    return size


@register_model("unet", family="unet", paper=UNET_2015, task="segmentation", input_size=(1, 572, 572),
                params=31_030_658, reference="params: Ronneberger et al. Fig. 1 counted by hand (variant='paper', "
                "1 input channel, 2 classes; Pytorch-UNet's often-quoted 31,030,593 is the same network with 1 "
                "output channel)")
def unet(num_classes: int = 2, in_chans: int = 1, depth: int = 5, base_width: int = 64, variant: str = "padded",
         encoder: str | None = None, input_size: int = 572) -> UNet:
    """U-Net (Ronneberger et al. 2015): ``variant="paper"`` (unpadded, no batch norm, 572 → 388) or
    ``"padded"`` (batch norm, output = input size, the default); ``depth`` levels of ``base_width``·2^i
    channels, or the stages of a zoo ``encoder`` (``resnet18`` …) built for ``input_size``."""
    return UNet(num_classes, in_chans, depth, base_width, variant, encoder, input_size)
