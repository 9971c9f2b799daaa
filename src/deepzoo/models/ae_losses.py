"""Reconstruction losses and regularisers of the autoencoder family, as plain functions.

Every per-example quantity is **summed over the components of one example and averaged over the
batch**, as the papers write their objectives (a sum over training examples of a per-example loss):
then a regulariser weight λ or β means what it means in the paper, whatever the input size.

- :func:`choose_recon_loss` — picks BCE for inputs in [0, 1] (Bernoulli decoder) and squared error
  otherwise (Gaussian decoder), and says why in one line for the run log.
- :func:`reconstruction_loss` — BCE with logits, squared error or absolute error.
- :func:`gaussian_kl` — Kingma & Welling 2014, Appendix B: −KL = ½ Σ_j (1 + log σ_j² − μ_j² − σ_j²).
- :func:`kl_sparsity` — Ng 2011 (CS294A notes): Σ_j KL(ρ ‖ ρ̂_j), ρ̂_j the mean activation of code unit j.
- :func:`l1_sparsity` — Σ_j |h_j|.
- :func:`weight_l2` — ‖W‖² over the unique weight matrices and kernels (biases and norms excluded).
- :func:`contractive_sigmoid` — Rifai et al. 2011, closed form: ‖J_f(x)‖²_F = Σ_i (h_i(1 − h_i))² Σ_j W_ij²
  for one sigmoid layer h = sigmoid(Wx + b).
- :func:`jacobian_frobenius` — the same norm by automatic differentiation, for any encoder.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn
from torch.func import jacrev, vmap

from ..errors import ConfigError

RECON_LOSSES = ("auto", "bce", "mse", "l1")


def _in_unit_interval(value_range: tuple[float, float] | None) -> bool:
    return value_range is not None and value_range[0] >= 0.0 and value_range[1] <= 1.0


def _format_range(value_range: tuple[float, float]) -> str:
    return f"[{value_range[0]:g}, {value_range[1]:g}]"


def choose_recon_loss(value_range: tuple[float, float] | None, recon_loss: str = "auto") -> tuple[str, str]:
    """The reconstruction loss for inputs spanning ``value_range``, and a one-line reason.

    ``auto`` takes BCE (a Bernoulli decoder with a sigmoid output) when the inputs lie in [0, 1], and
    squared error (a Gaussian decoder with a linear output) when they are real-valued: outside [0, 1],
    or of unknown range (``None``, as after standardisation). An explicit ``bce`` on data known to lie
    outside [0, 1] is a :class:`ConfigError`: BCE's targets must be probabilities.
    """
    if recon_loss not in RECON_LOSSES:
        raise ConfigError(f"recon_loss={recon_loss!r} is not one of {', '.join(RECON_LOSSES)}")
    if recon_loss != "auto":
        if recon_loss == "bce" and value_range is not None and not _in_unit_interval(value_range):
            raise ConfigError(
                f"recon_loss=bce needs inputs in [0, 1]; the data spans {_format_range(value_range)}")
        return recon_loss, f"reconstruction loss {recon_loss}: set by recon_loss={recon_loss}"
    if _in_unit_interval(value_range):
        return "bce", (f"reconstruction loss bce: inputs in [0, 1] (data range {_format_range(value_range)}) "
                       "→ Bernoulli decoder, sigmoid output, BCE with logits")
    where = ("unknown (standardised)" if value_range is None
             else f"{_format_range(value_range)} is beyond [0, 1]")
    return "mse", f"reconstruction loss mse: data range {where} → Gaussian decoder, linear output"


def reconstruction_loss(output: torch.Tensor, target: torch.Tensor, kind: str) -> torch.Tensor:
    """Per-example summed reconstruction error, averaged over the batch.

    ``output`` holds logits for ``bce`` (binary cross-entropy with logits, stable for saturated units;
    summed over pixels it is −log p(x|z) of Kingma & Welling's Bernoulli decoder) and values for ``mse``
    (squared error: −log p(x|z) of a Gaussian decoder with variance ½, up to a constant) and ``l1``.
    """
    if output.shape != target.shape:
        raise ConfigError(f"the reconstruction has shape {tuple(output.shape[1:])} but the target has "
                          f"{tuple(target.shape[1:])}; check out_chans and the input size")
    if kind == "bce":
        per_component = F.binary_cross_entropy_with_logits(output, target, reduction="none")
    elif kind == "mse":
        per_component = (output - target).square()
    elif kind == "l1":
        per_component = (output - target).abs()
    else:
        raise ConfigError(f"recon_loss={kind!r} is not one of bce, mse, l1")
    return per_component.flatten(1).sum(1).mean()


def gaussian_kl(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(μ, σ²) ‖ N(0, I)) = −½ Σ_j (1 + log σ_j² − μ_j² − σ_j²), per example, averaged over the batch.

    Kingma & Welling 2014, Appendix B (the analytic KL of a diagonal Gaussian encoder against the
    standard normal prior). It is zero exactly when μ = 0 and σ = 1.
    """
    per_dim = -0.5 * (1.0 + logvar - mu.square() - logvar.exp())
    return per_dim.flatten(1).sum(1).mean()


def kl_sparsity(code: torch.Tensor, rho: float) -> torch.Tensor:
    """Σ_j KL(ρ ‖ ρ̂_j) with ρ̂_j the mean of code unit j over the batch (Ng 2011, CS294A notes).

    KL(ρ ‖ ρ̂) = ρ log(ρ/ρ̂) + (1 − ρ) log((1 − ρ)/(1 − ρ̂)) is the divergence between Bernoulli variables
    with means ρ and ρ̂; it needs code units in (0, 1) (sigmoid units). ρ̂ is clamped away from 0 and 1 so
    the penalty stays finite for a dead or saturated unit.
    """
    if not 0.0 < rho < 1.0:
        raise ConfigError(f"sparsity_target={rho} must lie strictly between 0 and 1")
    rho_hat = code.flatten(1).mean(0).clamp(1e-6, 1.0 - 1e-6)
    kl = rho * torch.log(rho / rho_hat) + (1.0 - rho) * torch.log((1.0 - rho) / (1.0 - rho_hat))
    return kl.sum()


def l1_sparsity(code: torch.Tensor) -> torch.Tensor:
    """Σ_j |h_j| per example, averaged over the batch: the L1 sparsity penalty on the code."""
    return code.flatten(1).abs().sum(1).mean()


def weight_l2(*modules: nn.Module) -> torch.Tensor:
    """Σ ‖W‖² over the weight matrices and convolution kernels of ``modules``, each counted once.

    The weight decay term λ‖θ‖² of the course notes (Ng 2011 writes λ/2 Σ W²), applied to the
    parameters with two or more dimensions: biases and normalisation scales are not penalised. A
    parameter shared by several modules (tied weights) is counted once.
    """
    seen: set[int] = set()
    total: torch.Tensor | None = None
    for module in modules:
        for param in module.parameters():
            if param.dim() < 2 or id(param) in seen:
                continue
            seen.add(id(param))
            term = param.square().sum()
            total = term if total is None else total + term
    if total is None:
        raise ConfigError("weight_penalty is set but the model has no weight matrices to penalise")
    return total


def contractive_sigmoid(code: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """‖J_f(x)‖²_F = Σ_i (h_i(1 − h_i))² Σ_j W_ij² for h = sigmoid(Wx + b) (Rifai et al. 2011).

    ``code`` is h (N, k) and ``weight`` is W (k, d); the result is averaged over the batch. It costs
    about as much as the forward pass, against k backward passes for the autograd version.
    """
    slope = (code * (1.0 - code)).square()  # (∂h_i/∂a_i)² for the sigmoid
    return (slope * weight.square().sum(1)).sum(1).mean()


def jacobian_frobenius(encode: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    """‖∂encode(x)/∂x‖²_F per example, averaged over the batch, by automatic differentiation.

    Uses ``torch.func.vmap(jacrev(...))``: one Jacobian per example, differentiable with respect to the
    encoder's parameters, so it can be trained on. Works for any encoder whose output for one example
    does not depend on the others (no batch normalisation in training mode).
    """
    def encode_one(example: torch.Tensor) -> torch.Tensor:
        return encode(example.unsqueeze(0)).squeeze(0)

    jacobians = vmap(jacrev(encode_one))(x)  # (N, *code_shape, *input_shape)
    return jacobians.flatten(1).square().sum(1).mean()
