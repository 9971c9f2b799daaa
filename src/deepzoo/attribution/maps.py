"""Attribution maps of a classifier's class score, batched: many images per call.

A map says which input pixels (or which parts of a feature map) the score of one class depends on. The
score is always the **pre-softmax** class score (the logit), as Grad-CAM and Integrated Gradients are
defined; a binary run's single logit z becomes the two scores (−z/2, z/2), whose softmax is the run's
sigmoid, so both of its classes can be explained.

- ``gradcam`` — Grad-CAM (Selvaraju et al. 2017, Eq. 1-2): α_k = spatial mean of ∂y^c/∂A^k, map =
  ReLU(Σ_k α_k A^k) on the last convolutional stage (the unpooled map of ``forward_features``) or any layer
  by name, upsampled bilinearly to the input. Captum's ``LayerGradCam`` with ``relu_attributions=True``
  (Captum leaves the ReLU off by default) and ``LayerAttribution.interpolate``.
- ``saliency`` — vanilla gradient saliency (Simonyan et al. 2014, §3.1): max over colour channels of
  |∂y^c/∂x|. Captum's ``Saliency``.
- ``integrated-gradients`` — Integrated Gradients (Sundararajan et al. 2017, Eq. 1 and its Riemann sum
  §3): (x − x')·∫ ∂y^c/∂x(x' + α(x − x')) dα with ``n_steps`` points (Captum's Gauss-Legendre rule),
  summed over colour channels. Its completeness axiom Σ attributions = y^c(x) − y^c(x') is reported per
  image (Captum's ``return_convergence_delta``). The baseline x' is ``black`` (the black image, pixel
  value 0, put through the run's normalisation: the paper's choice) or ``zero`` (zeros in the model's
  normalised space, i.e. the training mean image for standardised data).
- ``rollout`` — attention rollout for ViTs (Abnar & Zuidema 2020), see :mod:`.rollout` (not in Captum).
- ``activations`` — the feature maps of a layer for each input, channel by channel.
- ``filters`` — the first convolutional layer's kernels (no input needed); see :func:`first_conv_filters`.

Speed: images go through Captum as one batch (Integrated Gradients batches ``n_steps × images``
interpolation points, ``internal_batch_size`` at a time), so the convolutions run on many images per
call instead of one (benchmarks/attribution.py measures it against Captum's per-image tutorial calls).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field

import torch
from torch import nn

from ..errors import ConfigError
from ..models._base import Classifier
from ..registry import Registry
from .rollout import attention_rollout

#: the attribution methods by name (each registered on the function that computes it); ``METHODS.get``
#: answers an unknown name with its close matches
METHODS = Registry("attribution method")
METHODS.register("rollout", summary="attention rollout of a ViT (class token to patches)")(attention_rollout)

#: what ``baseline`` may name for Integrated Gradients
BASELINES = ("black", "zero")
#: interpolation points of Integrated Gradients processed per forward/backward pass
INTERNAL_BATCH = 64


class ClassScores(nn.Module):
    """The class scores a map explains: a classifier's logits, with its unpooled feature map routed through
    ``self.features`` (an identity) so that Captum's layer methods can hook "the last convolutional
    stage" by module; a binary run's one logit z becomes (−z/2, z/2) (softmax of those = sigmoid of z)."""

    def __init__(self, model: nn.Module, binary: bool = False):
        super().__init__()
        self.model = model
        self.features = nn.Identity()
        self.binary = binary

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if isinstance(self.model, Classifier):
            scores = self.model.forward_head(self.features(self.model.forward_features(x)))
        else:
            scores = self.model(x)
        if isinstance(scores, tuple):  # auxiliary classifiers: the main output comes first
            scores = scores[0]
        return torch.cat([-scores / 2, scores / 2], dim=1) if self.binary else scores

    def layer(self, name: str | None) -> nn.Module:
        """The module ``name`` of the model (its ``named_modules`` name), or the unpooled feature map when
        None; an unknown name is a one-line error with the closest names."""
        if name is None:
            return self.features
        modules = dict(self.model.named_modules())
        if name not in modules or not name:
            close = difflib.get_close_matches(name, [n for n in modules if n], n=3, cutoff=0.5)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            raise ConfigError(f"--layer {name!r}: no such layer in {type(self.model).__name__}{hint}")
        return modules[name]


@dataclass
class Maps:
    """Maps of a batch: ``maps`` (N, H, W) over the input (activations: (N, C, h, w)), the predicted and
    explained classes, and for Integrated Gradients the completeness terms per image."""

    maps: torch.Tensor
    predicted: torch.Tensor
    target: torch.Tensor
    completeness: dict[str, torch.Tensor] = field(default_factory=dict)


def black_baseline(x: torch.Tensor, mean: list[float] | None, std: list[float] | None) -> torch.Tensor:
    """The black image (pixel value 0) in the model's normalised space: −mean/std per channel."""
    if mean is None:
        return torch.zeros_like(x)
    shape = (1, -1, 1, 1)
    mean_t = torch.tensor(mean, dtype=x.dtype, device=x.device).view(shape)
    return (torch.zeros_like(x) - mean_t) / torch.tensor(std, dtype=x.dtype, device=x.device).view(shape)


def _check_map(values: torch.Tensor, what: str, hint: str) -> None:
    """A spatial method needs a map (N, ·, H, W) at its layer; anything else is the user's mismatch."""
    if values.dim() != 4:
        raise ConfigError(f"{what} gives no (C, H, W) feature map; {hint}")


@METHODS.register("gradcam", summary="Grad-CAM on the last convolutional stage (or --layer)")
def gradcam(scores: ClassScores, x: torch.Tensor, target: torch.Tensor, layer: str | None = None) -> torch.Tensor:
    """Grad-CAM maps (N, H, W) of class ``target`` at ``layer`` (default: the unpooled last stage),
    ReLU'd as published and upsampled bilinearly to the input size."""
    from captum.attr import LayerAttribution, LayerGradCam

    cam = LayerGradCam(scores, scores.layer(layer)).attribute(x, target=target, relu_attributions=True)
    where = f"layer {layer!r}" if layer else f"{type(scores.model).__name__}'s last stage (forward_features)"
    _check_map(cam, f"gradcam: {where}", "Grad-CAM needs a convolutional layer: name one with --layer (a ViT: "
                                         "use --method rollout)")
    return LayerAttribution.interpolate(cam, tuple(x.shape[-2:]), interpolate_mode="bilinear")[:, 0]


@METHODS.register("saliency", summary="vanilla gradient saliency: max over channels of |∂score/∂x|")
def saliency(scores: ClassScores, x: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Gradient saliency (N, H, W): the largest |∂score/∂x| over the colour channels of each pixel."""
    from captum.attr import Saliency

    return Saliency(scores).attribute(x, target=target, abs=True).amax(dim=1)


@METHODS.register("integrated-gradients", summary="Integrated Gradients from a baseline, with its completeness "
                  "check")
def integrated_gradients(scores: ClassScores, x: torch.Tensor, target: torch.Tensor, baseline: torch.Tensor,
                         n_steps: int = 50, internal_batch_size: int = INTERNAL_BATCH
                         ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Integrated Gradients (N, H, W), summed over colour channels, and the completeness terms per image:
    ``sum`` (Σ attributions), ``difference`` (score(x) − score(baseline)) and ``delta`` (their gap)."""
    from captum.attr import IntegratedGradients

    chunk = max(internal_batch_size, len(x))  # Captum needs at least one point per image per pass
    attributions, delta = IntegratedGradients(scores).attribute(
        x, baselines=baseline, target=target, n_steps=n_steps, internal_batch_size=chunk,
        return_convergence_delta=True)
    with torch.no_grad():
        rows = torch.arange(len(x), device=x.device)
        difference = scores(x)[rows, target] - scores(baseline)[rows, target]
    terms = {"sum": attributions.flatten(1).sum(1).detach(), "difference": difference, "delta": delta.detach()}
    return attributions.sum(dim=1).detach(), terms


@METHODS.register("activations", summary="the feature maps of a layer (--layer; default the last stage)")
def activations(scores: ClassScores, x: torch.Tensor, layer: str | None = None) -> torch.Tensor:
    """The output (N, C, h, w) of ``layer`` (default: the unpooled last stage) for each input."""
    found: list[torch.Tensor] = []
    handle = scores.layer(layer).register_forward_hook(lambda module, args, out: found.append(out.detach()))
    try:
        with torch.no_grad():
            scores(x)
    finally:
        handle.remove()
    _check_map(found[0], f"activations: the layer's output {tuple(found[0].shape[1:])}",
               "name a convolutional layer with --layer")
    return found[0]


@METHODS.register("filters", summary="the first convolutional layer's kernels as images")
def first_conv_filters(model: nn.Module) -> torch.Tensor:
    """The kernels (K, C, kh, kw) of the model's first 2-D convolution (the first three input channels),
    what the course's "learned features" picture draws; a model without one is a one-line error."""
    for module in model.modules():
        if isinstance(module, nn.Conv2d):
            return module.weight.detach().float().cpu()[:, :3]
    raise ConfigError(f"filters: {type(model).__name__} has no 2-D convolution whose kernels could be drawn")


def explain(model: nn.Module, x: torch.Tensor, method: str, target: torch.Tensor | None = None, *,
            binary: bool = False, layer: str | None = None, n_steps: int = 50, baseline: str = "black",
            mean: list[float] | None = None, std: list[float] | None = None,
            internal_batch_size: int = INTERNAL_BATCH) -> Maps:
    """Maps of ``method`` for the batch ``x`` (N, C, H, W) in the model's normalised space.

    ``target`` (N,) are the classes to explain, the predicted ones when None. The model is put in eval
    mode and its parameters stop requiring gradients for the call: a map needs the input's gradient only
    (Grad-CAM only its layer's, so the layers below that one run without recording a graph).
    """
    METHODS.get(method)
    if method == "filters":
        raise ConfigError("filters: the kernels need no input; call first_conv_filters(model)")
    if baseline not in BASELINES:
        raise ConfigError(f"--baseline {baseline!r}: use one of {', '.join(BASELINES)}")
    scores = ClassScores(model, binary).eval()
    grads = [p.requires_grad for p in model.parameters()]
    model.requires_grad_(False)
    try:
        with torch.no_grad():
            predicted = scores(x).argmax(dim=1)
        target = predicted if target is None else target.to(x.device)
        if method in ("saliency", "integrated-gradients"):
            x = x.detach().requires_grad_()  # their gradients are the input's (Grad-CAM's the layer's only)
        terms: dict[str, torch.Tensor] = {}
        if method == "gradcam":
            maps = gradcam(scores, x, target, layer)
        elif method == "saliency":
            maps = saliency(scores, x, target)
        elif method == "integrated-gradients":
            start = black_baseline(x, mean, std) if baseline == "black" else torch.zeros_like(x)
            maps, terms = integrated_gradients(scores, x, target, start, n_steps, internal_batch_size)
        elif method == "rollout":
            maps = attention_rollout(model, x)
        else:
            maps = activations(scores, x, layer)
    finally:
        for p, g in zip(model.parameters(), grads):
            p.requires_grad_(g)
    return Maps(maps.detach(), predicted, target, terms)
