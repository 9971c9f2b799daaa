"""Batch augmentation on the device: every transform acts on a whole batch at once.

For data that stays in device memory (the resident-data path, as in airbench) the batch is augmented
where it lives, with a few batched kernels and no host synchronisation: each sample is transformed
with probability ``p`` through a per-sample mask, and every random number comes from the
``torch.Generator`` passed in (on the batch's device), so one seed gives one batch.

Every transform is a :class:`BatchTransform` called as ``transform(x, y=None, generator=None)`` and
returning ``(x, y)``. Images are (N, C, H, W); signals (N, C, L) are accepted by the transforms that
make sense for them (``crop``, ``shift``, ``cutout``, ``mixup``, ``cutmix``, ``scale``,
``gaussian_noise``). ``mixup`` and ``cutmix`` also mix the targets and return soft targets (N, K).

:func:`build_augmentation` builds a :class:`Compose` from a spec: a list of dicts
(``[{"name": "crop", "padding": 4}, {"name": "flip"}]``) or a short string
(``"crop:padding=4,mode=zero,flip,rotate:degrees=-15..15"``, see :func:`parse_augmentation`).
:func:`torchvision_transform` maps the same spec to per-sample ``torchvision.transforms.v2``
transforms for the DataLoader path. The list of transforms and options is in docs/augmentation.md.
"""

from __future__ import annotations

import difflib
import functools
import inspect
import math
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..errors import ConfigError
from ..registry import Registry

AUGMENTATIONS = Registry("augmentation")

Batch = tuple[Tensor, "Tensor | None"]

# ITU-R BT.601 luma weights (the Y row of YIQ) and the YIQ transform used for the hue rotation.
_LUMA = (0.299, 0.587, 0.114)
_RGB_TO_YIQ = torch.tensor(
    [[0.299, 0.587, 0.114], [0.595716, -0.274453, -0.321263], [0.211456, -0.522591, 0.311135]],
    dtype=torch.float64,
)
_YIQ_TO_RGB = torch.linalg.inv(_RGB_TO_YIQ)
# Tries per sample when drawing a box of given area and aspect ratio (torchvision uses 10 as well).
_BOX_TRIES = 10
_SHIFT_MODES = ("reflect", "zero", "circular")
_INTERPOLATIONS = ("bilinear", "nearest")


def _uniform(shape: tuple[int, ...], low: float, high: float, generator, device) -> Tensor:
    """Uniform float32 samples in [low, high)."""
    return low + (high - low) * torch.rand(shape, generator=generator, device=device)


def _constant(values: Sequence[float], device: torch.device) -> Tensor:
    """A small float32 tensor made on ``device`` by fill kernels: ``torch.tensor(list, device=cuda)`` is
    a host-to-device copy, which CUDA's sync debug mode reports as a synchronisation."""
    return torch.stack([torch.full((), float(v), device=device) for v in values])


@functools.lru_cache(maxsize=8)
def _colour_matrices(device: torch.device) -> tuple[Tensor, Tensor, Tensor]:
    """Luma weights (1, 3, 1, 1), RGB→YIQ and YIQ→RGB as float32 on ``device``, copied there once."""
    luma = torch.tensor(_LUMA, dtype=torch.float32).view(1, 3, 1, 1)
    return tuple(m.to(device=device, dtype=torch.float32) for m in (luma, _RGB_TO_YIQ, _YIQ_TO_RGB))


def _per_sample(values: Tensor, x: Tensor) -> Tensor:
    """Reshape (N,) values to broadcast over the other dimensions of ``x``."""
    return values.view(-1, *([1] * (x.dim() - 1)))


def _beta(n: int, alpha: float, generator, device) -> Tensor:
    """n draws from Beta(α, α) as G₁/(G₁ + G₂) with G₁, G₂ ~ Gamma(α) (torch's Beta takes no generator)."""
    concentration = torch.full((2, n), alpha, device=device)
    gammas = torch._standard_gamma(concentration, generator=generator)
    return gammas[0] / (gammas[0] + gammas[1]).clamp_min(torch.finfo(gammas.dtype).tiny)


def _soft_targets(y: Tensor | None, num_classes: int | None, dtype: torch.dtype, name: str) -> Tensor | None:
    """Integer labels (N,) → one-hot (N, K); soft targets (N, K) pass through."""
    if y is None:
        return None
    if y.is_floating_point() and y.dim() == 2:
        return y.to(dtype)
    if y.dim() != 1 or y.is_floating_point():
        raise ConfigError(
            f"augmentation {name!r}: targets must be class indices (N,) or soft targets (N, K), "
            f"got {y.dtype} {tuple(y.shape)}"
        )
    if num_classes is None:
        raise ConfigError(f"augmentation {name!r}: set num_classes to turn class indices into soft targets")
    return F.one_hot(y.long(), num_classes).to(dtype)


def _box_mask(starts: Tensor, lengths: Tensor, sizes: Sequence[int]) -> Tensor:
    """Boolean (N, 1, *sizes) mask of the boxes [start, start + length) along each spatial axis."""
    mask = None
    for axis, size in enumerate(sizes):
        coord = torch.arange(size, device=starts.device)
        inside = (coord >= starts[:, axis : axis + 1]) & (coord < (starts + lengths)[:, axis : axis + 1])
        shape = [-1] + [1] * len(sizes)
        shape[axis + 1] = size
        inside = inside.view(shape)
        mask = inside if mask is None else mask & inside
    return mask.unsqueeze(1)


def _sample_boxes(n, sizes, scale, ratio, full_fallback, generator, device) -> tuple[Tensor, Tensor]:
    """Boxes covering a fraction ``scale`` of the area with aspect ratio (width/height) in ``ratio``,
    drawn log-uniformly, placed uniformly inside the image; ``starts``, ``lengths`` are (N, axes).

    As in torchvision's RandomResizedCrop / RandomErasing, up to ten candidates are drawn per sample
    and the first that fits is kept (here all at once); a sample without one gets the whole image
    (``full_fallback``) or an empty box. For signals (one axis) the ratio plays no part.
    """
    size = _constant(sizes, device)
    area = _uniform((n, _BOX_TRIES), *scale, generator, device) * size.prod()
    if len(sizes) == 1:
        lengths = area.round().unsqueeze(-1)
    else:
        log_ratio = (math.log(ratio[0]), math.log(ratio[1]))
        aspect = torch.exp(_uniform((n, _BOX_TRIES), *log_ratio, generator, device))
        lengths = torch.stack([(area / aspect).sqrt(), (area * aspect).sqrt()], dim=-1).round()
    fits = ((lengths >= 1) & (lengths <= size)).all(-1)
    first = fits.int().argmax(1)
    lengths = lengths[torch.arange(n, device=device), first]
    fallback = size.expand(n, -1) if full_fallback else torch.zeros_like(lengths)
    lengths = torch.where(fits.any(1, keepdim=True), lengths, fallback)
    starts = (torch.rand((n, len(sizes)), generator=generator, device=device) * (size - lengths + 1)).floor()
    return starts.long(), lengths.long()


def _shift_index(size: int, offsets: Tensor, mode: str) -> tuple[Tensor, Tensor | None]:
    """Source index (N, size) for output position i shifted by ``offsets`` (N,), and for ``zero`` mode
    a mask of the positions that fall inside the input."""
    source = torch.arange(size, device=offsets.device) - offsets[:, None]
    if mode == "circular":
        return source.remainder(size), None
    if mode == "reflect":  # mirror without repeating the edge, as F.pad(mode="reflect")
        source = source.abs()
        return torch.where(source > size - 1, 2 * (size - 1) - source, source), None
    inside = (source >= 0) & (source < size)
    return source.clamp(0, size - 1), inside


def _gray(x: Tensor) -> Tensor:
    """Luma (N, 1, H, W) of an RGB batch."""
    luma = _colour_matrices(x.device)[0].to(x.dtype)
    return (x * luma).sum(1, keepdim=True)


def _affine_sample(x: Tensor, theta: Tensor, interpolation: str, fill: float = 0.0) -> Tensor:
    """Resample every image of ``x`` through its own 2×3 affine map (normalised coordinates) in one
    ``grid_sample`` call; points outside the image take the value ``fill``."""
    grid = F.affine_grid(theta.to(x.dtype), list(x.shape), align_corners=False)
    out = F.grid_sample(x - fill, grid, mode=interpolation, padding_mode="zeros", align_corners=False)
    return out + fill


class PerSample(nn.Module):
    """Apply a batch transform to one sample (C, ...) at a time — for a DataLoader's dataset, where
    torchvision has no equivalent. Randomness comes from torch's global generator (seeded per worker)."""

    def __init__(self, transform: BatchTransform):
        super().__init__()
        self.transform = transform

    def forward(self, x: Tensor) -> Tensor:
        return self.transform(x.unsqueeze(0))[0].squeeze(0)

    def extra_repr(self) -> str:
        return repr(self.transform)


class BatchTransform:
    """A random transform of a whole batch, applied to each sample with probability ``p``.

    Subclasses set ``name`` (via registration) and ``ndims`` (accepted batch ranks: 4 for images,
    3 for signals, 2 for feature rows) and implement :meth:`transform`, which transforms every sample;
    the base class draws the per-sample mask and keeps the unselected samples bit-for-bit.
    Transforms that change targets (mixup, cutmix) override :meth:`apply`.
    """

    name: ClassVar[str] = ""
    ndims: ClassVar[tuple[int, ...]] = (3, 4)

    def __init__(self, p: float = 1.0):
        self.p = self._number("p", p, 0.0, 1.0)

    def __call__(self, x: Tensor, y: Tensor | None = None, generator: torch.Generator | None = None) -> Batch:
        if x.dim() not in self.ndims:
            shapes = {2: "(N, F)", 3: "(N, C, L)", 4: "(N, C, H, W)"}
            accepted = " or ".join(shapes[d] for d in self.ndims)
            self._fail(f"expects batches shaped {accepted}, got {tuple(x.shape)}")
        if not x.is_floating_point():
            self._fail(f"expects a floating-point batch, got {x.dtype}")
        selected = torch.rand(x.shape[0], generator=generator, device=x.device) < self.p
        return self.apply(x, y, selected, generator)

    def apply(self, x: Tensor, y: Tensor | None, selected: Tensor, generator) -> Batch:
        """Transform the selected samples of ``x``; targets pass through."""
        return torch.where(_per_sample(selected, x), self.transform(x, generator), x), y

    def transform(self, x: Tensor, generator) -> Tensor:
        """Transform every sample of ``x`` (the mask is applied by :meth:`apply`)."""
        raise NotImplementedError

    def to_torchvision(self, image_size: tuple[int, int] | None) -> Any:
        """The per-sample ``torchvision.transforms.v2`` equivalent; by default this transform itself
        wrapped in :class:`PerSample` (no torchvision equivalent)."""
        return PerSample(self)

    def _fail(self, message: str):
        raise ConfigError(f"augmentation {self.name!r}: {message}")

    def _number(self, option: str, value: Any, lowest: float = -math.inf, highest: float = math.inf) -> float:
        """Validate a number option inside [lowest, highest]."""
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not lowest <= value <= highest:
            self._fail(f"{option} must be a number in [{lowest}, {highest}], got {value!r}")
        return float(value)

    def _range(self, option: str, value: Any, lowest: float = -math.inf, highest: float = math.inf):
        """Validate a (low, high) option inside [lowest, highest]."""
        try:
            low, high = (float(v) for v in value)
        except (TypeError, ValueError):
            self._fail(f"{option} must be a pair low..high, got {value!r}")
        if not lowest <= low <= high <= highest:
            self._fail(f"{option} must satisfy {lowest} <= low <= high <= {highest}, got {value!r}")
        return low, high

    def _choice(self, option: str, value: str, choices: Sequence[str]) -> str:
        if value not in choices:
            self._fail(f"{option} must be one of {', '.join(choices)}, got {value!r}")
        return value

    def _options(self) -> dict[str, Any]:
        names = inspect.signature(type(self).__init__).parameters
        return {k: getattr(self, k) for k in names if k != "self"}

    def __repr__(self) -> str:
        return f"{self.name}({', '.join(f'{k}={v!r}' for k, v in self._options().items())})"


def _register(name: str, paper: str):
    """Register a transform class under ``name`` and record the name on the class."""

    def decorate(cls: type[BatchTransform]) -> type[BatchTransform]:
        cls.name = name
        return AUGMENTATIONS.register(name, paper=paper, ndims=cls.ndims)(cls)

    return decorate


def _with_probability(transform: Any, p: float) -> Any:
    from torchvision.transforms import v2

    return transform if p == 1.0 else v2.RandomApply([transform], p=p)


def _need_size(transform: BatchTransform, image_size) -> tuple[int, int]:
    if image_size is None:
        transform._fail("the torchvision version needs image_size (its output size)")
    return (image_size, image_size) if isinstance(image_size, int) else tuple(image_size)


@_register("shift", paper="random translation; circular shifts for MNIST-1D (Greydanus 2020)")
class RandomShift(BatchTransform):
    """Translate each sample by a random whole number of positions in [−max_shift, max_shift] along
    every spatial axis; the uncovered border is filled by ``mode``: ``circular`` (wrap around),
    ``reflect`` (mirror) or ``zero``. Works for signals (N, C, L) and images (N, C, H, W)."""

    def __init__(self, max_shift: int = 4, mode: str = "circular", p: float = 1.0):
        super().__init__(p)
        self.max_shift = self._whole("max_shift", max_shift)
        self.mode = self._choice("mode", mode, _SHIFT_MODES)

    def _whole(self, option: str, value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            self._fail(f"{option} must be a whole number >= 0, got {value!r}")
        return value

    def transform(self, x: Tensor, generator) -> Tensor:
        n, spatial = x.shape[0], x.dim() - 2
        out = x
        for axis in range(2, x.dim()):
            size = x.shape[axis]
            if self.max_shift >= size:
                self._fail(f"shifts up to {self.max_shift} need every spatial size above it, got {size}")
            offsets = torch.randint(
                -self.max_shift, self.max_shift + 1, (n,), generator=generator, device=x.device
            )
            index, inside = _shift_index(size, offsets, self.mode)
            shape = [n] + [1] * (spatial + 1)
            shape[axis] = size
            out = out.gather(axis, index.view(shape).expand_as(out))
            if inside is not None:
                out = torch.where(inside.view(shape), out, torch.zeros((), dtype=x.dtype, device=x.device))
        return out


@_register("crop", paper="random crop with padding (Krizhevsky et al. 2012; airbench reflect-pads)")
class RandomCrop(RandomShift):
    """Pad by ``padding`` and crop back to the original size at a random place — a random translation
    by up to ``padding`` pixels, as torchvision's RandomCrop(size, padding). ``mode`` ``reflect``
    (airbench's choice, the default) or ``zero`` (torchvision's default) fills the border."""

    def __init__(self, padding: int = 4, mode: str = "reflect", p: float = 1.0):
        super().__init__(0, mode, p)
        self.padding = self.max_shift = self._whole("padding", padding)

    def to_torchvision(self, image_size):
        from torchvision.transforms import v2

        if self.mode == "circular":
            return PerSample(self)
        padding_mode = "reflect" if self.mode == "reflect" else "constant"
        crop = v2.RandomCrop(_need_size(self, image_size), padding=self.padding, padding_mode=padding_mode)
        return _with_probability(crop, self.p)


@_register("flip", paper="horizontal flip (Krizhevsky et al. 2012)")
class RandomHorizontalFlip(BatchTransform):
    """Mirror each selected image left–right (the last axis). Images only: time reversal changes what
    a signal means."""

    ndims = (4,)

    def __init__(self, p: float = 0.5):
        super().__init__(p)

    def transform(self, x: Tensor, generator) -> Tensor:
        return x.flip(-1)

    def to_torchvision(self, image_size):
        from torchvision.transforms import v2

        return v2.RandomHorizontalFlip(self.p)


@_register("resized_crop", paper="Szegedy et al. 2015 (Inception) random resized crop; SimCLR's main view")
class RandomResizedCrop(BatchTransform):
    """Crop a box covering ``scale`` of the area with aspect ratio in ``ratio`` (log-uniform) and resize
    it back to the input size — one ``grid_sample`` call for the whole batch. Defaults are
    torchvision's and SimCLR's (area 0.08–1, ratio 3/4–4/3). ``bilinear`` keeps [0, 1] inputs in
    [0, 1]."""

    ndims = (4,)

    def __init__(
        self,
        scale: tuple[float, float] = (0.08, 1.0),
        ratio: tuple[float, float] = (3 / 4, 4 / 3),
        interpolation: str = "bilinear",
        p: float = 1.0,
    ):
        super().__init__(p)
        self.scale = self._range("scale", scale, 0.0, 1.0)
        self.ratio = self._range("ratio", ratio, 1e-6)
        self.interpolation = self._choice("interpolation", interpolation, _INTERPOLATIONS)

    def transform(self, x: Tensor, generator) -> Tensor:
        n, height, width = x.shape[0], x.shape[-2], x.shape[-1]
        starts, lengths = _sample_boxes(n, (height, width), self.scale, self.ratio, True, generator, x.device)
        size = _constant((height, width), x.device)
        box_scale = lengths / size  # fraction of the height and width kept
        centre = (2 * starts + lengths) / size - 1  # box centre in normalised coordinates
        theta = torch.zeros(n, 2, 3, device=x.device)
        theta[:, 0, 0], theta[:, 0, 2] = box_scale[:, 1], centre[:, 1]
        theta[:, 1, 1], theta[:, 1, 2] = box_scale[:, 0], centre[:, 0]
        return _affine_sample(x, theta, self.interpolation)

    def to_torchvision(self, image_size):
        from torchvision.transforms import v2

        crop = v2.RandomResizedCrop(
            _need_size(self, image_size), self.scale, self.ratio, v2.InterpolationMode(self.interpolation)
        )
        return _with_probability(crop, self.p)


@_register("color_jitter", paper="colour jitter as in SimCLR (Chen et al. 2020, Appendix A: 0.8s, 0.2s)")
class ColorJitter(BatchTransform):
    """Random brightness, contrast, saturation and hue, each factor drawn per sample.

    Brightness multiplies by b; contrast blends with the image's mean luma by c; saturation blends
    with the luma image by s (factors uniform in [max(0, 1 − v), 1 + v] for an option v, or a given
    pair); hue shifts by h ∈ [−hue, hue] of a turn, approximated by rotating the chroma (I, Q) plane
    of YIQ by −2πh, which keeps luma and moves red towards green for h > 0 as an HSV hue shift does.
    The four run in this fixed order (torchvision draws a random order per image). Results are clamped
    to ``value_range`` after each step (``None`` for data that are not in a fixed range, such as
    standardised images). Saturation and hue need RGB (C = 3). Defaults: SimCLR's CIFAR setting
    s = 0.5, p = 0.8.
    """

    ndims = (4,)

    def __init__(
        self,
        brightness: float | tuple[float, float] = 0.4,
        contrast: float | tuple[float, float] = 0.4,
        saturation: float | tuple[float, float] = 0.4,
        hue: float | tuple[float, float] = 0.1,
        value_range: tuple[float, float] | None = (0.0, 1.0),
        p: float = 0.8,
    ):
        super().__init__(p)
        self.brightness = self._factor_range("brightness", brightness)
        self.contrast = self._factor_range("contrast", contrast)
        self.saturation = self._factor_range("saturation", saturation)
        hue = (-hue, hue) if isinstance(hue, (int, float)) else hue
        self.hue = self._range("hue", hue, -0.5, 0.5)
        self.value_range = None if value_range is None else self._range("value_range", value_range)

    def _factor_range(self, option: str, value: Any) -> tuple[float, float]:
        if isinstance(value, (int, float)):
            value = self._number(option, value, 0.0)
            value = (max(0.0, 1.0 - value), 1.0 + value)
        return self._range(option, value, 0.0)

    def _clamp(self, x: Tensor) -> Tensor:
        return x if self.value_range is None else x.clamp(*self.value_range)

    def _factors(self, bounds: tuple[float, float], x: Tensor, generator) -> Tensor:
        return _per_sample(_uniform((x.shape[0],), *bounds, generator, x.device), x).to(x.dtype)

    def transform(self, x: Tensor, generator) -> Tensor:
        rgb = x.shape[1] == 3
        if not rgb and (self.saturation != (1.0, 1.0) or self.hue != (0.0, 0.0)):
            self._fail(f"saturation and hue need RGB images, got {x.shape[1]} channels (set them to 0)")
        if self.brightness != (1.0, 1.0):
            x = self._clamp(x * self._factors(self.brightness, x, generator))
        if self.contrast != (1.0, 1.0):
            mean = (_gray(x) if rgb else x).mean(dim=(1, 2, 3), keepdim=True)
            factor = self._factors(self.contrast, x, generator)
            x = self._clamp(factor * x + (1 - factor) * mean)
        if self.saturation != (1.0, 1.0):
            factor = self._factors(self.saturation, x, generator)
            x = self._clamp(factor * x + (1 - factor) * _gray(x))
        if self.hue != (0.0, 0.0):
            x = self._clamp(self._rotate_hue(x, generator))
        return x

    def _rotate_hue(self, x: Tensor, generator) -> Tensor:
        angle = -2 * math.pi * _uniform((x.shape[0],), *self.hue, generator, x.device)
        cos, sin = angle.cos(), angle.sin()
        rotation = torch.zeros(x.shape[0], 3, 3, device=x.device)
        rotation[:, 0, 0] = 1
        rotation[:, 1, 1], rotation[:, 1, 2] = cos, -sin
        rotation[:, 2, 1], rotation[:, 2, 2] = sin, cos
        _, to_yiq, to_rgb = _colour_matrices(x.device)
        matrix = (to_rgb @ rotation @ to_yiq).to(x.dtype)
        return torch.einsum("nij,njhw->nihw", matrix, x)

    def to_torchvision(self, image_size):
        from torchvision.transforms import v2

        jitter = v2.ColorJitter(self.brightness, self.contrast, self.saturation, self.hue)
        return _with_probability(jitter, self.p)


@_register("grayscale", paper="random grayscale as in SimCLR (Chen et al. 2020, Appendix A: p = 0.2)")
class RandomGrayscale(BatchTransform):
    """Replace each selected RGB image by its luma (ITU-R 601 weights) in all three channels."""

    ndims = (4,)

    def __init__(self, p: float = 0.2):
        super().__init__(p)

    def transform(self, x: Tensor, generator) -> Tensor:
        if x.shape[1] != 3:
            self._fail(f"needs RGB images, got {x.shape[1]} channels")
        return _gray(x).expand_as(x)

    def to_torchvision(self, image_size):
        from torchvision.transforms import v2

        return v2.RandomGrayscale(self.p)


@_register("rotate", paper="random rotation; Dosovitskiy et al. 2014 (Exemplar CNN) use ±20°")
class RandomRotation(BatchTransform):
    """Rotate each image about its centre by an angle uniform in ``degrees`` (a number d means
    (−d, d)); positive angles turn counter-clockwise, as torchvision and ``torch.rot90``. One affine
    grid for the batch; corners that come from outside the image take ``fill``. ``nearest``
    interpolation moves pixels without blending (a 90° turn of a square image is then exact)."""

    ndims = (4,)

    def __init__(
        self,
        degrees: float | tuple[float, float] = 15.0,
        interpolation: str = "bilinear",
        fill: float = 0.0,
        p: float = 1.0,
    ):
        super().__init__(p)
        degrees = (-degrees, degrees) if isinstance(degrees, (int, float)) else degrees
        self.degrees = self._range("degrees", degrees)
        self.interpolation = self._choice("interpolation", interpolation, _INTERPOLATIONS)
        self.fill = self._number("fill", fill)

    def transform(self, x: Tensor, generator) -> Tensor:
        n, height, width = x.shape[0], x.shape[-2], x.shape[-1]
        angle = torch.deg2rad(_uniform((n,), *self.degrees, generator, x.device))
        cos, sin = angle.cos(), angle.sin()
        # Output pixel (u, v) samples the input at R·(u, v) in pixel units; normalised coordinates
        # scale u by 2/W and v by 2/H, hence the aspect factors off the diagonal.
        theta = torch.zeros(n, 2, 3, device=x.device)
        theta[:, 0, 0], theta[:, 0, 1] = cos, -sin * height / width
        theta[:, 1, 0], theta[:, 1, 1] = sin * width / height, cos
        return _affine_sample(x, theta, self.interpolation, self.fill)

    def to_torchvision(self, image_size):
        from torchvision.transforms import v2

        mode = v2.InterpolationMode(self.interpolation)
        rotation = v2.RandomRotation(self.degrees, interpolation=mode, fill=self.fill)
        return _with_probability(rotation, self.p)


@_register("cutout", paper="Zhong et al. 2020, Random Erasing (Alg. 1); DeVries & Taylor 2017, Cutout")
class RandomErasing(BatchTransform):
    """Set a random box to ``value``: area fraction in ``scale``, aspect ratio in ``ratio``
    (log-uniform), inside the image — Random Erasing's defaults (area 0.02–0.33, ratio 0.3–3.3,
    p = 0.5), as torchvision's RandomErasing. On signals the box is a segment of that length."""

    def __init__(
        self,
        scale: tuple[float, float] = (0.02, 0.33),
        ratio: tuple[float, float] = (0.3, 3.3),
        value: float = 0.0,
        p: float = 0.5,
    ):
        super().__init__(p)
        self.scale = self._range("scale", scale, 0.0, 1.0)
        self.ratio = self._range("ratio", ratio, 1e-6)
        self.value = self._number("value", value)

    def transform(self, x: Tensor, generator) -> Tensor:
        sizes = x.shape[2:]
        starts, lengths = _sample_boxes(x.shape[0], sizes, self.scale, self.ratio, False, generator, x.device)
        return x.masked_fill(_box_mask(starts, lengths, sizes), self.value)

    def to_torchvision(self, image_size):
        from torchvision.transforms import v2

        return v2.RandomErasing(self.p, self.scale, self.ratio, self.value)


class _MixingTransform(BatchTransform):
    """Shared part of mixup and cutmix: a partner per sample from a random permutation of the batch,
    a mixing weight λ ~ Beta(α, α) per sample (λ = 1 for unselected samples) and soft targets
    λ·y + (1 − λ)·y_partner."""

    ndims = (2, 3, 4)

    def __init__(self, alpha: float, num_classes: int | None, p: float):
        super().__init__(p)
        self.alpha = self._number("alpha", alpha, 1e-6)
        if num_classes is not None and (not isinstance(num_classes, int) or num_classes < 2):
            self._fail(f"num_classes must be a whole number >= 2, got {num_classes!r}")
        self.num_classes = num_classes

    def sample(self, x: Tensor, selected: Tensor, generator) -> tuple[Tensor, Tensor]:
        """Draw ``(partner, lam)`` for the batch: partner indices (N,) and λ (N,) in [0, 1]."""
        partner = torch.randperm(x.shape[0], generator=generator, device=x.device)
        lam = _beta(x.shape[0], self.alpha, generator, x.device)
        return partner, torch.where(selected, lam, torch.ones_like(lam))

    def apply(self, x: Tensor, y: Tensor | None, selected: Tensor, generator) -> Batch:
        partner, lam = self.sample(x, selected, generator)
        mixed, lam = self.mix(x, partner, lam, generator)
        mixed = torch.where(_per_sample(selected, x), mixed, x)
        soft = _soft_targets(y, self.num_classes, torch.promote_types(x.dtype, torch.float32), self.name)
        if soft is not None:
            weight = lam.to(soft.dtype)[:, None]
            soft = weight * soft + (1 - weight) * soft[partner]
        return mixed, soft

    def mix(self, x: Tensor, partner: Tensor, lam: Tensor, generator) -> tuple[Tensor, Tensor]:
        """Mix ``x`` with ``x[partner]``; return the batch and the weight each sample keeps."""
        raise NotImplementedError

    def to_torchvision(self, image_size):
        self._fail(
            "mixes pairs of samples, so it runs on batches: use build_augmentation on the batch "
            "(or torchvision.transforms.v2 MixUp/CutMix after collation)"
        )


@_register("mixup", paper="Zhang et al. 2018, mixup: Beyond Empirical Risk Minimization, Eq. 1")
class Mixup(_MixingTransform):
    """x̃ = λ·x_i + (1 − λ)·x_j and ỹ = λ·y_i + (1 − λ)·y_j with λ ~ Beta(α, α), drawn per sample
    (the paper draws one per batch). Targets come back soft, (N, K); ``cross_entropy`` takes them as
    class probabilities. Works on images, signals and feature rows."""

    def __init__(self, alpha: float = 0.2, num_classes: int | None = None, p: float = 1.0):
        super().__init__(alpha, num_classes, p)

    def mix(self, x: Tensor, partner: Tensor, lam: Tensor, generator) -> tuple[Tensor, Tensor]:
        weight = _per_sample(lam, x).to(x.dtype)
        return weight * x + (1 - weight) * x[partner], lam


@_register("cutmix", paper="Yun et al. 2019, CutMix, Eq. 1–2 (box side √(1 − λ), λ from the pasted area)")
class CutMix(_MixingTransform):
    """Paste a box from the partner image: box sides W·√(1 − λ) and H·√(1 − λ) with λ ~ Beta(α, α),
    centred uniformly and clipped to the image; the targets are then weighted by the area actually
    kept, λ = 1 − (pasted area)/(H·W). On signals the box is a segment of length L·(1 − λ)."""

    ndims = (3, 4)

    def __init__(self, alpha: float = 1.0, num_classes: int | None = None, p: float = 1.0):
        super().__init__(alpha, num_classes, p)

    def mix(self, x: Tensor, partner: Tensor, lam: Tensor, generator) -> tuple[Tensor, Tensor]:
        sizes = x.shape[2:]
        size = _constant(sizes, x.device)
        side = (1 - lam) ** (1 / len(sizes))
        lengths = (side[:, None] * size).round()
        centres = (torch.rand((x.shape[0], len(sizes)), generator=generator, device=x.device) * size).floor()
        start = centres - (lengths / 2).floor()
        low = torch.minimum(start.clamp(min=0), size)
        high = torch.minimum((start + lengths).clamp(min=0), size)
        box = _box_mask(low.long(), (high - low).long(), sizes)
        kept = 1 - (high - low).prod(-1) / size.prod()
        return torch.where(box, x[partner], x), kept


@_register("scale", paper="amplitude scaling of signals (Um et al. 2017, Data augmentation of wearable data)")
class RandomScale(BatchTransform):
    """Multiply each sample by a factor uniform in ``factor``. Changes the value range by design."""

    ndims = (2, 3, 4)

    def __init__(self, factor: tuple[float, float] = (0.8, 1.2), p: float = 1.0):
        super().__init__(p)
        self.factor = self._range("factor", factor)

    def transform(self, x: Tensor, generator) -> Tensor:
        return x * _per_sample(_uniform((x.shape[0],), *self.factor, generator, x.device), x).to(x.dtype)


@_register("gaussian_noise", paper="additive Gaussian noise (jitter) for signals (Um et al. 2017)")
class GaussianNoise(BatchTransform):
    """Add N(0, std²) noise to every value of each selected sample (no clamping)."""

    ndims = (2, 3, 4)

    def __init__(self, std: float = 0.1, p: float = 1.0):
        super().__init__(p)
        self.std = self._number("std", std, 0.0)

    def transform(self, x: Tensor, generator) -> Tensor:
        noise = torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)
        return x + self.std * noise

    def to_torchvision(self, image_size):
        from torchvision.transforms import v2

        return _with_probability(v2.GaussianNoise(0.0, self.std, clip=False), self.p)


class Compose:
    """Apply transforms in order to ``(x, y)`` with one generator; an empty Compose is the identity."""

    def __init__(self, transforms: Sequence[BatchTransform]):
        self.transforms = list(transforms)

    def __call__(self, x: Tensor, y: Tensor | None = None, generator: torch.Generator | None = None) -> Batch:
        for transform in self.transforms:
            x, y = transform(x, y, generator)
        return x, y

    def __len__(self) -> int:
        return len(self.transforms)

    def __iter__(self):
        return iter(self.transforms)

    def __repr__(self) -> str:
        return f"Compose([{', '.join(map(repr, self.transforms))}])"


def _parse_value(text: str) -> Any:
    """``none``, ``true``/``false``, an int, a float, a range ``low..high`` or a word."""
    lowered = text.strip().lower()
    if lowered in ("none", "null"):
        return None
    if lowered in ("true", "false"):
        return lowered == "true"
    if ".." in text:
        return tuple(_parse_value(part) for part in text.split(".."))
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text.strip()


def parse_augmentation(text: str) -> list[dict[str, Any]]:
    """Parse the short spec syntax into a list of dicts.

    Comma-separated items; an item ``name`` or ``name:key=value`` starts a transform, and a following
    ``key=value`` item adds an option to it: ``"crop:padding=4,mode=zero,flip:p=0.5"`` →
    ``[{"name": "crop", "padding": 4, "mode": "zero"}, {"name": "flip", "p": 0.5}]``. Values are
    numbers, ``true``/``false``, ``none``, words, or ranges ``low..high`` (``degrees=-15..15``).
    """
    items: list[dict[str, Any]] = []
    for token in filter(None, (part.strip() for part in text.split(","))):
        name, colon, option = token.partition(":")
        if not colon and "=" in token:
            if not items:
                raise ConfigError(f"augmentation spec {text!r}: option {token!r} comes before any transform")
            option = token
        else:
            items.append({"name": name.strip()})
        if option:
            key, eq, value = option.partition("=")
            if not eq or not key.strip():
                raise ConfigError(f"augmentation spec {text!r}: {option!r} should look like key=value")
            items[-1][key.strip()] = _parse_value(value)
    return items


def _build_one(entry: Mapping[str, Any] | str | BatchTransform, context: Mapping[str, Any]) -> BatchTransform:
    if isinstance(entry, BatchTransform):
        return entry
    if isinstance(entry, str):
        entry = {"name": entry}
    options = dict(entry)
    if "name" not in options:
        raise ConfigError(f"augmentation {options!r} has no 'name'")
    name = options.pop("name")
    cls = AUGMENTATIONS.get(name).factory
    accepted = [k for k in inspect.signature(cls).parameters if k != "self"]
    for key in options:
        if key not in accepted:
            close = difflib.get_close_matches(key, accepted, n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            raise ConfigError(
                f"augmentation {name!r}: unknown option {key!r}{hint}; options: {', '.join(accepted)}"
            )
    options = {k: tuple(v) if isinstance(v, list) else v for k, v in options.items()}
    defaults = {k: v for k, v in context.items() if k in accepted and k not in options}
    return cls(**options, **defaults)


def build_augmentation(spec: Any, **context: Any) -> Compose:
    """A :class:`Compose` from a spec: ``None``/empty (identity), a short string (see
    :func:`parse_augmentation`), one dict, or a list of dicts, names or transforms. ``context``
    supplies options a transform accepts but the spec leaves out — e.g. ``num_classes`` from the
    dataset for mixup and cutmix. Unknown names raise :class:`ConfigError` with close matches; unknown
    options too."""
    if spec is None:
        return Compose([])
    if isinstance(spec, Compose):
        return spec
    if isinstance(spec, BatchTransform):
        return Compose([spec])
    if isinstance(spec, str):
        spec = parse_augmentation(spec)
    elif isinstance(spec, Mapping):
        spec = [spec]
    return Compose([_build_one(entry, context) for entry in spec])


def torchvision_transform(spec: Any, image_size: int | tuple[int, int] | None = None, **context: Any) -> Any:
    """The same spec as per-sample ``torchvision.transforms.v2`` transforms, for the DataLoader path.

    Each transform maps to its torchvision equivalent (``crop`` → RandomCrop, ``flip`` →
    RandomHorizontalFlip, ``resized_crop`` → RandomResizedCrop, ``color_jitter`` → ColorJitter,
    ``grayscale`` → RandomGrayscale, ``rotate`` → RandomRotation, ``cutout`` → RandomErasing,
    ``gaussian_noise`` → GaussianNoise), wrapped in RandomApply when p < 1; ``image_size`` is the
    output size the crops need. ``shift``, ``scale`` and circular crops have no equivalent and run as
    :class:`PerSample`; ``mixup`` and ``cutmix`` need a batch and raise :class:`ConfigError`.
    """
    from torchvision.transforms import v2

    return v2.Compose([t.to_torchvision(image_size) for t in build_augmentation(spec, **context)])
