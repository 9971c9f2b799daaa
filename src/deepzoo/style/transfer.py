"""Neural style transfer by optimising pixels (Gatys, Ecker & Bethge 2016, CVPR): starting from the
content image or from noise, L-BFGS (their choice) or Adam changes the image until its features match
the content image's at the content layers and its Gram matrices match the style image's at the style
layers, plus a total-variation penalty. :func:`stylize` is the Python entry point; ``deepzoo stylize``
calls it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..errors import ConfigError, DataError
from .features import FeatureExtractor, build_extractor
from .losses import content_loss, gram_matrix, range_loss, style_loss, total_variation_loss

OPTIMIZERS = ("lbfgs", "adam")
INITS = ("content", "noise")
PRECISIONS = ("auto", "fp32", "bf16")


def read_image(path: str | Path) -> tuple[torch.Tensor, list[str]]:
    """An image file as a ``(3, H, W)`` float tensor in [0, 1], and notes on what was converted.

    Grayscale, palette and RGBA/LA images are converted to RGB (an alpha channel is dropped) and say so;
    a missing, truncated or unreadable file raises :class:`DataError` naming it.
    """
    from PIL import Image

    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: image file not found")
    try:
        with Image.open(path) as img:
            img.load()
            mode = img.mode
            rgb = img.convert("RGB")
    except Exception as err:  # noqa: BLE001 - Pillow raises many kinds (OSError, DecompressionBombError ...)
        raise DataError(f"{path}: unreadable image ({type(err).__name__}: {err})") from None
    notes = []
    if mode != "RGB":
        kind = {"L": "grayscale", "LA": "grayscale+alpha", "RGBA": "RGBA", "P": "palette", "1": "black-and-white",
                "I": "16/32-bit grayscale", "I;16": "16-bit grayscale", "F": "floating-point grayscale"}.get(mode, mode)
        dropped = " (alpha channel dropped)" if "A" in mode or (mode == "P" and "transparency" in rgb.info) else ""
        notes.append(f"{path}: {kind} image converted to RGB{dropped}")
    array = np.asarray(rgb, dtype=np.float32) / 255.0
    return torch.from_numpy(array.transpose(2, 0, 1).copy()), notes


def resize_longer_side(image: torch.Tensor, size: int) -> torch.Tensor:
    """``image`` ``(3, H, W)`` scaled (antialiased bicubic) so that its longer side is ``size`` pixels."""
    h, w = image.shape[-2:]
    scale = size / max(h, w)
    shape = (max(1, round(h * scale)), max(1, round(w * scale)))
    return F.interpolate(image[None], size=shape, mode="bicubic", antialias=True, align_corners=False)[0].clamp(0, 1)


def fit_to(image: torch.Tensor, shape: tuple[int, int]) -> torch.Tensor:
    """``image`` scaled to cover ``shape`` (keeping its aspect ratio) and centre-cropped to it."""
    h, w = image.shape[-2:]
    scale = max(shape[0] / h, shape[1] / w)
    size = (max(shape[0], round(h * scale)), max(shape[1], round(w * scale)))
    scaled = F.interpolate(image[None], size=size, mode="bicubic", antialias=True, align_corners=False)[0]
    top, left = (size[0] - shape[0]) // 2, (size[1] - shape[1]) // 2
    return scaled[:, top:top + shape[0], left:left + shape[1]].clamp(0, 1)


def save_image(image: torch.Tensor, path: str | Path) -> Path:
    """Write a ``(3, H, W)`` tensor in [0, 1] as an 8-bit PNG (creating the folder)."""
    from PIL import Image

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    array = (image.detach().float().clamp(0, 1).cpu().numpy().transpose(1, 2, 0) * 255).round().astype(np.uint8)
    Image.fromarray(array).save(path)
    return path


def memory_format(device: torch.device) -> torch.memory_format:
    """Channels-last on CUDA (tensor-core convolutions); contiguous on the CPU, where VGG's step gains
    nothing from it (vgg11 0.97×, benchmarks/channels_last_cpu.py in benchmarks/RESULTS.md)."""
    return torch.channels_last if device.type == "cuda" else torch.contiguous_format


class StyleObjective(nn.Module):
    """The weighted sum of content, style and total-variation losses of an image (Gatys et al. eq. 7
    plus a TV term), with the targets computed once from the content and style images.

    Each loss sums over its layers with weights ``1 / (number of layers)`` (Gatys et al.'s w_l = 1/5
    for five style layers). With ``per_layer_normalisation`` each layer's error is also divided by the
    mean square of its target, so every layer counts alike whatever the scale of its activations:
    random weights give layers very different scales, and this normalisation is what makes them usable
    (He, Wang & Hopcroft 2016). The network runs in channels-last layout on CUDA (:func:`memory_format`)
    and, with ``autocast`` (e.g. ``torch.bfloat16``), under autocast; the losses are computed in fp32.
    """

    def __init__(self, extractor: FeatureExtractor, content: torch.Tensor, style: torch.Tensor,
                 content_layers: Sequence[str], style_layers: Sequence[str], content_weight: float,
                 style_weight: float, tv_weight: float, range_weight: float = 0.0,
                 autocast: torch.dtype | None = None):
        super().__init__()
        self.extractor, self.autocast = extractor, autocast
        self.content_layers, self.style_layers = tuple(content_layers), tuple(style_layers)
        self.layers = tuple(dict.fromkeys(self.content_layers + self.style_layers))
        self.content_weight, self.style_weight, self.tv_weight = content_weight, style_weight, tv_weight
        self.range_weight = range_weight
        with torch.no_grad():
            self.content_targets = self.features(content, self.content_layers)
            self.style_targets = {k: gram_matrix(v) for k, v in self.features(style, self.style_layers).items()}
        self.content_scales = self._scales(self.content_targets, extractor.per_layer_normalisation)
        self.style_scales = self._scales(self.style_targets, extractor.per_layer_normalisation)

    def features(self, image: torch.Tensor, layers: Sequence[str]) -> dict[str, torch.Tensor]:
        """The extractor's activations of ``layers`` as fp32 tensors."""
        with torch.autocast(image.device.type, self.autocast or torch.float32, enabled=self.autocast is not None):
            maps = self.extractor(image.contiguous(memory_format=memory_format(image.device)), layers)
        return {k: v.float() for k, v in maps.items()}

    @staticmethod
    def _scales(targets: dict[str, torch.Tensor], normalise: bool) -> dict[str, float]:
        """Per-layer factors: 1 / number of layers, times 1 / (mean square of the target) if normalising."""
        return {k: (1.0 / max(v.square().mean().item(), 1e-12) if normalise else 1.0) / len(targets)
                for k, v in targets.items()}

    def forward(self, image: torch.Tensor) -> dict[str, torch.Tensor]:
        """``{"content", "style", "tv", "range", "total"}`` for images ``(B, 3, H, W)``, meant to be in [0, 1]."""
        maps = self.features(image, self.layers)
        content = sum(content_loss(maps[k], t, self.content_scales[k]) for k, t in self.content_targets.items())
        style = sum(style_loss(maps[k], t, self.style_scales[k]) for k, t in self.style_targets.items())
        losses = {"content": self.content_weight * content, "style": self.style_weight * style,
                  "tv": total_variation_loss(image, self.tv_weight), "range": range_loss(image, self.range_weight)}
        losses["total"] = losses["content"] + losses["style"] + losses["tv"] + losses["range"]
        return losses


def optimise_image(objective: Callable[[torch.Tensor], dict[str, torch.Tensor]], start: torch.Tensor,
                   iterations: int, optimizer: str = "lbfgs", lr: float | None = None,
                   on_iteration: Callable[[int, torch.Tensor], None] | None = None,
                   clamp: bool = False,
                   ) -> tuple[torch.Tensor, list[dict[str, float]]]:
    """Minimise ``objective(image)["total"]`` over the pixels of ``start`` for ``iterations`` steps.

    One iteration is one evaluation of the losses and their gradient and one update. L-BFGS is
    PyTorch's (history 100, no line search: Gatys et al.'s optimiser with the tutorial's settings), run
    one iteration per ``step`` so that every iterate can be logged and saved; its history carries over
    between steps, so this is the same sequence of iterates as one long ``step``. Adam's default
    learning rate is 0.02 (pixels are in [0, 1]). With ``clamp`` the pixels are clamped to [0, 1]
    before every evaluation, as the PyTorch tutorial does; that moves the image behind L-BFGS's back
    (its curvature pairs assume the unclamped step) and made the random-weight mode diverge, so by
    default the image is clamped only at the end (the objective's range penalty keeps it near [0, 1]).
    When L-BFGS's direction stops being a descent direction PyTorch's implementation returns without
    moving, and would do so at every later step; its history is then cleared, so it restarts from a
    (small) gradient step. Returns the final image
    and the losses at every iterate (``iterations + 1`` rows: the start, then after each update), read
    back from the device once at the end.
    """
    image = start.detach().clone().requires_grad_(True)
    if optimizer == "lbfgs":
        opt = torch.optim.LBFGS([image], lr=lr or 1.0, max_iter=1, history_size=100)
    else:
        opt = torch.optim.Adam([image], lr=lr or 0.02)
    recorded: list[torch.Tensor] = []
    names: list[str] = []

    def closure() -> torch.Tensor:
        if clamp:
            with torch.no_grad():
                image.clamp_(0, 1)
        opt.zero_grad(set_to_none=True)
        losses = objective(image)
        losses["total"].backward()
        names[:] = list(losses)
        recorded.append(torch.stack([v.detach().float() for v in losses.values()]))
        return losses["total"]

    for step in range(1, iterations + 1):
        before = image.detach().clone() if optimizer == "lbfgs" else None
        opt.step(closure)
        if before is not None and torch.equal(before, image):
            opt.state.clear()  # no descent direction: PyTorch's L-BFGS would stay put forever; restart it
        if on_iteration is not None:
            with torch.no_grad():
                on_iteration(step, image.clamp(0, 1))
    with torch.no_grad():
        image.clamp_(0, 1)
        final = objective(image)
        recorded.append(torch.stack([v.float() for v in final.values()]))
        names[:] = list(final)
    rows = torch.stack(recorded).cpu().tolist()
    return image.detach(), [dict(zip(names, row)) for row in rows]


@dataclass
class StyleResult:
    """What :func:`stylize` made: the image ``(3, H, W)`` in [0, 1] on the CPU, the losses at every
    iterate (each row also names its ``iteration`` and the image ``width`` it was computed at), the
    mode that ran, notes on converted inputs, timings and the files written (``output``, the loss
    ``curves`` and the ``intermediates``; None and empty without ``out``)."""

    image: torch.Tensor
    history: list[dict[str, float]]
    mode: str
    notes: list[str]
    seconds: float
    seconds_per_iteration: float
    device: str
    output: Path | None = None
    curves: Path | None = None
    intermediates: list[Path] = field(default_factory=list)


def _choose_device(name: str) -> torch.device:
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"device={name} but no CUDA device is available")
    return torch.device(name)


def _as_image(source: str | Path | torch.Tensor, role: str) -> tuple[torch.Tensor, list[str]]:
    if torch.is_tensor(source):
        if source.dim() != 3 or source.shape[0] != 3:
            raise DataError(f"{role} tensor has shape {tuple(source.shape)}; expected (3, H, W) in [0, 1]")
        return source.detach().float().cpu(), []
    return read_image(source)


def _resized(image: torch.Tensor, shape: tuple[int, int]) -> torch.Tensor:
    """A batch ``(B, 3, H, W)`` resampled to ``shape`` (antialiased bicubic), clamped to [0, 1]."""
    if tuple(image.shape[-2:]) == shape:
        return image
    return F.interpolate(image, size=shape, mode="bicubic", antialias=True, align_corners=False).clamp(0, 1)


def load_pair(content: str | Path | torch.Tensor, style: str | Path | torch.Tensor,
              size: int) -> tuple[torch.Tensor, torch.Tensor, list[str]]:
    """The content image scaled to a longer side of ``size``, the style image scaled and centre-cropped
    to the same shape, and notes on what was converted or resized."""
    content_image, notes = _as_image(content, "content")
    style_image, style_notes = _as_image(style, "style")
    notes += style_notes
    content_image = resize_longer_side(content_image, size)
    shape = tuple(content_image.shape[-2:])
    if tuple(style_image.shape[-2:]) != shape:
        notes.append(f"style image {style_image.shape[-1]}×{style_image.shape[-2]} resized and centre-cropped to "
                     f"{shape[1]}×{shape[0]} (the content's size)")
        style_image = fit_to(style_image, shape)
    return content_image, style_image, notes


def pyramid_shapes(shape: tuple[int, int], scales: int) -> list[tuple[int, int]]:
    """Image shapes from coarse to fine: ``shape`` halved ``scales − 1`` times, then ``shape`` itself."""
    return [(max(1, shape[0] >> k), max(1, shape[1] >> k)) for k in reversed(range(scales))]


def stylize(content: str | Path | torch.Tensor, style: str | Path | torch.Tensor, out: str | Path | None = None, *,
            weights: str | Path | None = None, size: int = 256, iterations: int = 300, optimizer: str = "lbfgs",
            lr: float | None = None, init: str = "content", scales: int | None = None, pooling: str | None = None,
            content_layers: Sequence[str] | None = None, style_layers: Sequence[str] | None = None,
            content_weight: float | None = None, style_weight: float | None = None, tv_weight: float | None = None,
            range_weight: float | None = None,
            save_every: int = 0, seed: int = 0, device: str = "auto", precision: str = "auto",
            echo: Callable[[str], None] = print) -> StyleResult:
    """Render ``content`` (a file or a ``(3, H, W)`` tensor in [0, 1]) in the style of ``style``.

    The content image is scaled so that its longer side is ``size``; the style image is scaled and
    centre-cropped to the same shape (and says so). With ``weights`` (``imagenet``: torchvision's VGG-19
    weights by name, or a local VGG-19 state dict) the features are pretrained VGG-19's at Gatys et
    al.'s layers; without, a random-weight VGG-19 from ``seed`` with per-layer loss normalisation
    (:func:`deepzoo.style.features.build_extractor`). Layers, weights and ``pooling`` (max or avg) left
    as None take the mode's defaults. ``init`` is ``content`` or ``noise`` (uniform, from ``seed``);
    ``optimizer`` is ``lbfgs`` or ``adam``. With ``scales`` > 1
    the image is first optimised at 1/2^(scales−1) of the size, then upsampled and refined at each
    doubling (coarse to fine, ``iterations`` at every scale), which gives the style's large structures
    room to form. With ``out`` the image is saved there, the loss curves next to it
    (``<stem>_losses.png``) and, every ``save_every`` iterations, the current image
    (``<stem>_<iteration>.png``). ``precision`` ``auto`` is bf16 autocast on CUDA, fp32 on the CPU.
    Runs on the GPU when there is one.
    """
    if optimizer not in OPTIMIZERS:
        raise ConfigError(f"optimizer={optimizer!r}: use one of {', '.join(OPTIMIZERS)}")
    if init not in INITS:
        raise ConfigError(f"init={init!r}: use one of {', '.join(INITS)}")
    if precision not in PRECISIONS:
        raise ConfigError(f"precision={precision!r}: use one of {', '.join(PRECISIONS)}")
    if iterations < 0 or save_every < 0:
        raise ConfigError(f"iterations={iterations} and save_every={save_every} must be ≥ 0")
    if save_every and out is None:
        raise ConfigError("save_every needs an output file (out=...) to name the intermediate images")
    run_device = _choose_device(device)
    content_image, style_image, notes = load_pair(content, style, size)
    shape = tuple(content_image.shape[-2:])

    extractor = build_extractor(weights, seed, pooling)
    defaults = extractor.defaults
    if scales is None:  # the mode's default, fewer where the coarsest image would be too small
        scales = next(n for n in range(defaults.scales, 0, -1) if min(shape) >> (n - 1) >= 16 or n == 1)
    if scales < 1:
        raise ConfigError(f"scales={scales} must be ≥ 1")
    coarsest = pyramid_shapes(shape, scales)[0]
    if min(coarsest) < 16:
        raise ConfigError(f"size={size}, scales={scales}: the image would be {coarsest[1]}×{coarsest[0]} at the "
                          "coarsest scale, under the 16 pixels a side that VGG-19's four poolings need")
    content_layers = tuple(content_layers or defaults.content_layers)
    style_layers = tuple(style_layers or defaults.style_layers)
    extractor.check_layers(content_layers, "content")
    extractor.check_layers(style_layers, "style")
    extractor = extractor.to(run_device, memory_format=memory_format(run_device))
    use_bf16 = precision == "bf16" or (precision == "auto" and run_device.type == "cuda")
    autocast = torch.bfloat16 if use_bf16 else None
    for line in [f"mode: {extractor.description}", *notes]:
        echo(line)
    weights_used = dict(content_weight=defaults.content_weight if content_weight is None else content_weight,
                        style_weight=defaults.style_weight if style_weight is None else style_weight,
                        tv_weight=defaults.tv_weight if tv_weight is None else tv_weight,
                        range_weight=defaults.range_weight if range_weight is None else range_weight)

    out = Path(out) if out is not None else None
    intermediates: list[Path] = []
    done = 0

    def save_progress(step: int, image: torch.Tensor) -> None:
        if save_every and (done + step) % save_every == 0:
            intermediates.append(save_image(image[0], out.with_name(f"{out.stem}_{done + step:05d}.png")))

    content_image, style_image = content_image[None].to(run_device), style_image[None].to(run_device)
    shapes = pyramid_shapes(shape, scales)
    if init == "noise":
        image = torch.rand((1, 3, *shapes[0]), generator=torch.Generator().manual_seed(seed)).to(run_device)
    else:
        image = content_image
    history: list[dict[str, float]] = []
    began = time.perf_counter()
    for level_shape in shapes:
        objective = StyleObjective(extractor, _resized(content_image, level_shape), _resized(style_image, level_shape),
                                   content_layers, style_layers, **weights_used, autocast=autocast)
        start = _resized(image, level_shape)
        image, level_history = optimise_image(objective, start, iterations, optimizer, lr, save_progress)
        history += [dict(row, iteration=done + k, width=level_shape[1]) for k, row in enumerate(level_history)]
        done += iterations
    seconds = time.perf_counter() - began
    result = StyleResult(image=image[0].cpu(), history=history, mode=extractor.description, notes=notes,
                         seconds=seconds, seconds_per_iteration=seconds / max(done, 1), device=str(run_device),
                         intermediates=intermediates)
    if out is not None:
        from .plots import plot_style_losses

        result.output = save_image(result.image, out)
        result.curves = plot_style_losses(history, out.with_name(f"{out.stem}_losses.png"))
    return result
