"""Learnable and fixed output activations for the supervised heads.

- :class:`BentIdentity`: f(x) = (√(x² + 1) − 1)/2 + x, a smooth, unbounded, monotone activation.
- :class:`SoftExponential` (Godfrey & Gashler 2015, "A continuum among logarithmic, linear, and
  exponential functions"): one learnable α that moves the unit between a logarithm (α < 0), the
  identity (α = 0) and an exponential (α > 0).
- PReLU (He et al. 2015, "Delving Deep into Rectifiers", Eq. 1) is torch's :class:`torch.nn.PReLU`,
  slope a starting at 0.25 (§2.1). He et al. train a without weight decay ("weight decay tends to push
  a_i to zero"); :func:`no_weight_decay_params` lists such shape parameters so an optimizer can leave
  them out of weight decay.

:func:`output_activation` builds one of these by name for a head with ``num_outputs`` outputs.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ..errors import ConfigError
from ..registry import Registry

OUTPUT_ACTIVATIONS = Registry("activation")

# Inside |z| < SERIES_RADIUS (z = αx for α > 0, z = α(x + α) for α ≤ 0) the soft exponential is
# evaluated from a Taylor series of degree SERIES_DEGREE; the truncation error there is below
# |z|^9 / 10 ≈ 1e-19 (relative), far under float64 rounding, and the closed forms are only used where
# they do not cancel catastrophically (their autograd derivatives lose at most eps/|z| ≈ 1e-14).
SERIES_RADIUS = 1e-2
SERIES_DEGREE = 8
# exprel(z) = (e^z − 1)/z = Σ z^k/(k+1)!   and   logrel(t) = −ln(1 − t)/t = Σ t^k/(k+1).
_EXPREL_COEFFS = [1.0 / math.factorial(k + 1) for k in range(SERIES_DEGREE + 1)]
_LOGREL_COEFFS = [1.0 / (k + 1) for k in range(SERIES_DEGREE + 1)]
# Where a closed form is masked out it is evaluated at this harmless point, so that neither its value
# nor its gradient is inf/NaN (a masked NaN gradient would still poison the sum).
_SAFE_POINT = 0.5


def _horner(z: torch.Tensor, coeffs: list[float]) -> torch.Tensor:
    """Σ coeffs[k]·z^k by Horner's rule."""
    result = torch.full_like(z, coeffs[-1])
    for c in reversed(coeffs[:-1]):
        result = result * z + c
    return result


def soft_exponential(x: torch.Tensor, alpha: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """Soft exponential f(α, x) of Godfrey & Gashler (2015), Eq. (1), elementwise with broadcasting.

        f(α, x) = −ln(1 − α(x + α))/α   for α < 0
                = x                      for α = 0
                = (e^{αx} − 1)/α + α      for α > 0

    Written as f = x·exprel(αx) + α for α > 0 and f = (x + α)·logrel(α(x + α)) for α ≤ 0, which is
    finite at α = 0 and smooth through it: value x and ∂f/∂α = 1 + x²/2 from both sides. Near α = 0
    the two relative functions come from their Taylor series, so neither the value nor the gradient
    cancels catastrophically as α → 0 (see ``SERIES_RADIUS``).

    Domain guard: for α < 0 the logarithm is defined only where 1 − α(x + α) > 0, i.e.
    x > 1/α − α. Outside it the argument is clamped to ``eps``, so the output is the finite value
    ln(eps)/|α| (≈ −13.8/|α| for eps = 1e-6), constant in x there (zero gradient in x), instead of
    NaN. For α > 0 large αx overflows to inf exactly as e^{αx} does.
    """
    positive = alpha > 0
    base = torch.where(positive, x, x + alpha)
    z = alpha * base  # αx for α > 0, α(x + α) for α ≤ 0
    near_zero = z.abs() < SERIES_RADIUS
    safe = torch.full_like(z, _SAFE_POINT)

    z_series = torch.where(near_zero, z, torch.zeros_like(z))
    series = torch.where(
        positive, _horner(z_series, _EXPREL_COEFFS), _horner(z_series, _LOGREL_COEFFS)
    )
    z_exp = torch.where(positive & ~near_zero, z, safe)
    exprel = torch.expm1(z_exp) / z_exp
    z_log = torch.where(~positive & ~near_zero, z, safe)
    logrel = -torch.log1p(torch.clamp(-z_log, min=eps - 1.0)) / z_log
    relative = torch.where(near_zero, series, torch.where(positive, exprel, logrel))
    return base * relative + torch.where(positive, alpha, torch.zeros_like(alpha))


def bent_identity(x: torch.Tensor) -> torch.Tensor:
    """f(x) = (√(x² + 1) − 1)/2 + x; derivative x/(2√(x² + 1)) + 1 ∈ (1/2, 3/2)."""
    return (torch.sqrt(x * x + 1.0) - 1.0) / 2.0 + x


class BentIdentity(nn.Module):
    """Bent identity activation, see :func:`bent_identity` (no parameters)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return bent_identity(x)


class SoftExponential(nn.Module):
    """Soft exponential unit with learnable α (Godfrey & Gashler 2015), see :func:`soft_exponential`.

    ``num_parameters=1`` shares one α across the layer; ``num_parameters=n`` learns one α per unit,
    broadcast along dimension 1 of the input (features of (N, n) or channels of (N, n, ...)), like
    :class:`torch.nn.PReLU`. ``init`` is the starting α (0 = identity). ``alpha`` is listed in
    ``no_weight_decay``: weight decay would pull every unit back to the identity (He et al.'s reason
    for exempting PReLU's slope applies to any activation-shape parameter).
    """

    no_weight_decay = ("alpha",)

    def __init__(self, num_parameters: int = 1, init: float = 0.0, eps: float = 1e-6):
        super().__init__()
        if num_parameters < 1:
            raise ConfigError(f"soft_exponential: num_parameters must be at least 1, got {num_parameters}")
        if not 0.0 < eps < 1.0:
            raise ConfigError(f"soft_exponential: eps must lie in (0, 1), got {eps}")
        self.num_parameters = num_parameters
        self.eps = eps
        self.alpha = nn.Parameter(torch.full((num_parameters,), float(init)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        alpha = self.alpha
        if self.num_parameters > 1:
            if x.dim() < 2 or x.shape[1] != self.num_parameters:
                raise ConfigError(
                    f"soft_exponential has {self.num_parameters} α values but the input's dimension 1 "
                    f"has shape {tuple(x.shape)}"
                )
            alpha = alpha.view(-1, *([1] * (x.dim() - 2)))
        return soft_exponential(x, alpha.to(x.dtype), self.eps)

    def extra_repr(self) -> str:
        return f"num_parameters={self.num_parameters}, eps={self.eps}"


def no_weight_decay_params(module: nn.Module) -> list[str]:
    """Dotted names of the parameters of ``module`` that should get no weight decay.

    These are the slopes of every :class:`torch.nn.PReLU` (He et al. 2015 §2.1) and the parameters a
    submodule lists in its ``no_weight_decay`` attribute (e.g. :class:`SoftExponential`'s ``alpha``).
    Names match ``module.named_parameters()``, so an optimizer builder can split its groups with them.
    """
    names = []
    for prefix, sub in module.named_modules():
        own = ("weight",) if isinstance(sub, nn.PReLU) else getattr(sub, "no_weight_decay", ())
        for param_name in own:
            if getattr(sub, param_name, None) is not None:
                names.append(f"{prefix}.{param_name}" if prefix else param_name)
    return names


@OUTPUT_ACTIVATIONS.register("linear", paper="identity output (regression with mean squared error)")
def _linear(num_outputs: int) -> nn.Module:
    return nn.Identity()


@OUTPUT_ACTIVATIONS.register("relu", paper="Nair & Hinton 2010, rectified linear units")
def _relu(num_outputs: int) -> nn.Module:
    return nn.ReLU()


@OUTPUT_ACTIVATIONS.register(
    "prelu", paper="He et al. 2015, Delving Deep into Rectifiers, Eq. 1 (a starts at 0.25)"
)
def _prelu(num_outputs: int) -> nn.Module:
    return nn.PReLU(num_parameters=num_outputs, init=0.25)


@OUTPUT_ACTIVATIONS.register("bent_identity", paper="bent identity (√(x²+1) − 1)/2 + x")
def _bent_identity(num_outputs: int) -> nn.Module:
    return BentIdentity()


@OUTPUT_ACTIVATIONS.register(
    "soft_exponential",
    paper="Godfrey & Gashler 2015, A continuum among logarithmic, linear, and exponential functions, Eq. 1",
)
def _soft_exponential(num_outputs: int) -> nn.Module:
    return SoftExponential(num_parameters=num_outputs)


def output_activation(name: str, num_outputs: int) -> nn.Module:
    """The output activation ``name`` for a head with ``num_outputs`` outputs (one learnable shape
    parameter per output for ``prelu`` and ``soft_exponential``); unknown names raise
    :class:`ConfigError` with close matches. Names: see ``OUTPUT_ACTIVATIONS.names()``."""
    if num_outputs < 1:
        raise ConfigError(f"output activation {name!r}: num_outputs must be at least 1, got {num_outputs}")
    return OUTPUT_ACTIVATIONS.get(name).factory(num_outputs)
