"""Learnable activations: values against the papers' formulas in numpy float64, derivatives against their
closed forms, autograd gradchecks through α = 0, the domain guard and the output-activation registry."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from deepzoo.errors import ConfigError
from deepzoo.tasks.activations import (
    OUTPUT_ACTIVATIONS,
    BentIdentity,
    SoftExponential,
    no_weight_decay_params,
    output_activation,
    soft_exponential,
)

ALPHAS = [-2.0, -0.5, -1e-2, -1e-4, -1e-9, 0.0, 1e-9, 1e-4, 1e-2, 0.5, 2.0]


def reference_soft_exponential(alpha: float, x: np.ndarray) -> np.ndarray:
    """Godfrey & Gashler (2015) Eq. 1 in float64, with numpy's log1p/expm1 so tiny α does not cancel."""
    if alpha < 0:
        return -np.log1p(-alpha * (x + alpha)) / alpha
    if alpha == 0:
        return x.copy()
    return np.expm1(alpha * x) / alpha + alpha


def reference_derivative_x(alpha: float, x: np.ndarray) -> np.ndarray:
    """∂f/∂x: 1/(1 − α(α + x)) for α < 0, e^{αx} for α ≥ 0 (Godfrey & Gashler 2015)."""
    if alpha < 0:
        return 1.0 / (1.0 - alpha * (alpha + x))
    return np.exp(alpha * x)


def domain_points(alpha: float) -> np.ndarray:
    """Many x values inside the soft exponential's domain (x > 1/α − α for α < 0)."""
    x = np.linspace(-3.0, 3.0, 241)
    if alpha < 0:
        x = x[x > 1.0 / alpha - alpha + 1e-3]
    return x


@pytest.mark.parametrize("alpha", ALPHAS)
def test_soft_exponential_matches_formula(alpha):
    x = domain_points(alpha)
    expected = reference_soft_exponential(alpha, x)
    got = soft_exponential(torch.tensor(x), torch.tensor(alpha, dtype=torch.float64)).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-13, atol=1e-14)


@pytest.mark.parametrize("alpha", ALPHAS)
def test_soft_exponential_derivative_in_x(alpha):
    x = torch.tensor(domain_points(alpha), requires_grad=True)
    soft_exponential(x, torch.tensor(alpha, dtype=torch.float64)).sum().backward()
    expected = reference_derivative_x(alpha, x.detach().numpy())
    np.testing.assert_allclose(x.grad.numpy(), expected, rtol=1e-10, atol=1e-12)


def test_soft_exponential_derivative_in_alpha_is_continuous_through_zero():
    # From either side f = x + α(1 + x²/2) + O(α²), so ∂f/∂α → 1 + x²/2.
    x = torch.linspace(-3, 3, 13, dtype=torch.float64)
    for alpha in (-1e-9, 0.0, 1e-9):
        a = torch.tensor(alpha, dtype=torch.float64, requires_grad=True)
        grads = [torch.autograd.grad(soft_exponential(xi, a), a)[0].item() for xi in x]
        np.testing.assert_allclose(grads, 1.0 + x.numpy() ** 2 / 2.0, rtol=1e-7)


@pytest.mark.parametrize("alpha", [-0.7, -1e-6, 0.0, 1e-6, 0.7])
def test_soft_exponential_gradcheck(alpha):
    x = torch.linspace(-1.2, 1.2, 9, dtype=torch.float64, requires_grad=True)
    a = torch.full((1,), alpha, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(soft_exponential, (x, a))


def test_soft_exponential_gradcheck_across_series_boundary():
    # |αx| on both sides of the series radius 1e-2 in one call.
    x = torch.tensor([0.5, 0.99, 1.01, 2.0, -0.99, -1.01], dtype=torch.float64, requires_grad=True)
    for alpha in (1e-2, -1e-2):
        a = torch.full((1,), alpha, dtype=torch.float64, requires_grad=True)
        assert torch.autograd.gradcheck(soft_exponential, (x, a))


def test_soft_exponential_is_identity_and_finite_at_zero():
    x = torch.linspace(-50, 50, 101, dtype=torch.float64, requires_grad=True)
    a = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    y = soft_exponential(x, a)
    assert torch.equal(y, x)
    y.sum().backward()
    assert torch.equal(x.grad, torch.ones_like(x))
    assert torch.isclose(a.grad, (1.0 + x.detach() ** 2 / 2.0).sum()).all()


def test_soft_exponential_guard_outside_log_domain():
    alpha = -0.5  # domain x > 1/α − α = −1.5
    x = torch.tensor([-1.5, -2.0, -10.0, -1e6], dtype=torch.float64, requires_grad=True)
    a = torch.tensor([alpha], dtype=torch.float64, requires_grad=True)
    y = soft_exponential(x, a, eps=1e-6)
    np.testing.assert_allclose(y.detach().numpy(), np.log(1e-6) / abs(alpha), rtol=1e-10)
    y.sum().backward()
    assert torch.isfinite(x.grad).all() and torch.isfinite(a.grad).all()
    np.testing.assert_allclose(x.grad.numpy(), 0.0, atol=1e-6)


def test_soft_exponential_module_per_unit_alpha():
    act = SoftExponential(num_parameters=3, init=0.0).double()
    with torch.no_grad():
        act.alpha.copy_(torch.tensor([-0.5, 0.0, 0.5]))
    x = torch.linspace(-1, 1, 12, dtype=torch.float64).reshape(4, 3)
    got = act(x).detach().numpy()
    for unit, alpha in enumerate((-0.5, 0.0, 0.5)):
        np.testing.assert_allclose(got[:, unit], reference_soft_exponential(alpha, x[:, unit].numpy()))
    images = torch.randn(2, 3, 4, 4, dtype=torch.float64)
    assert act(images).shape == images.shape
    with pytest.raises(ConfigError, match="3 α values"):
        act(torch.randn(4, 5))


def test_bent_identity_values_and_derivative():
    x = np.linspace(-10, 10, 201)
    xt = torch.tensor(x, requires_grad=True)
    y = BentIdentity()(xt)
    np.testing.assert_allclose(y.detach().numpy(), (np.sqrt(x**2 + 1) - 1) / 2 + x, rtol=1e-14)
    assert y[100].item() == 0.0  # f(0) = 0
    y.sum().backward()
    np.testing.assert_allclose(xt.grad.numpy(), x / (2 * np.sqrt(x**2 + 1)) + 1, rtol=1e-14)


def test_output_activation_registry():
    assert OUTPUT_ACTIVATIONS.names() == ["bent_identity", "linear", "prelu", "relu", "soft_exponential"]
    x = torch.tensor([[-2.0, 3.0]])
    assert torch.equal(output_activation("linear", 2)(x), x)
    assert torch.equal(output_activation("relu", 2)(x), torch.tensor([[0.0, 3.0]]))
    prelu = output_activation("prelu", 2)
    assert prelu.weight.tolist() == [0.25, 0.25]
    assert torch.equal(prelu(x), torch.tensor([[-0.5, 3.0]]))
    assert output_activation("soft_exponential", 2).alpha.shape == (2,)
    assert isinstance(output_activation("bent_identity", 2), BentIdentity)
    with pytest.raises(ConfigError, match="did you mean prelu"):
        output_activation("preul", 2)


def test_no_weight_decay_params_lists_activation_shapes():
    model = nn.Sequential(nn.Linear(4, 3), nn.PReLU(3), nn.Linear(3, 2), SoftExponential(2), BentIdentity())
    assert no_weight_decay_params(model) == ["1.weight", "3.alpha"]
    assert set(no_weight_decay_params(model)) <= dict(model.named_parameters()).keys()
