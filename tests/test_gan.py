"""GAN building blocks: the losses against hand-computed values, the DCGAN paper settings, the MLP pair,
the ring data, and the offline metrics (Fréchet distance against closed forms, classifier score, mode
coverage)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.linalg
import torch
from torch import nn

import deepzoo.data.mixtures  # noqa: F401 - registers the ring dataset
from deepzoo.data import load_dataset
from deepzoo.metrics.gan import (
    class_shares,
    classifier_score,
    feature_frechet_distance,
    frechet_distance,
    mode_coverage,
    nearest_mode_counts,
    ring_scores,
)
from deepzoo.models import create_model
from deepzoo.recipes.gan import discriminator_loss, generator_loss

# softplus values by hand: log(1 + e^x)
SP0, SP2, SPM2, SP1, SPM1 = math.log(2), math.log(1 + math.e**2), math.log(1 + math.e**-2), math.log(1 + math.e), \
    math.log(1 + math.e**-1)


# -- losses -------------------------------------------------------------------------------------------

def test_discriminator_loss_is_eq1_on_logits():
    real, fake = torch.tensor([0.0, 2.0]), torch.tensor([-1.0, 0.0])
    # −log σ(l) = softplus(−l) on reals, −log(1 − σ(l)) = softplus(l) on fakes
    expected = (SP0 + SPM2) / 2 + (SPM1 + SP0) / 2
    assert discriminator_loss(real, fake).item() == pytest.approx(expected, abs=1e-6)
    # one-sided smoothing: the real target is 0.9, BCE = 0.9·softplus(−l) + 0.1·softplus(l); fakes keep 0
    smoothed = (SP0 + 0.9 * SPM2 + 0.1 * SP2) / 2 + (SPM1 + SP0) / 2
    assert discriminator_loss(real, fake, real_label=0.9).item() == pytest.approx(smoothed, abs=1e-6)


def test_generator_losses_non_saturating_and_saturating():
    logits = torch.tensor([0.0, 2.0])
    assert generator_loss(logits).item() == pytest.approx((SP0 + SPM2) / 2, abs=1e-6)  # −log D(G(z))
    assert generator_loss(logits, saturating=True).item() == pytest.approx(-(SP0 + SP2) / 2, abs=1e-6)
    # Goodfellow §3: while D rejects the fakes (logit −10) the saturating loss has almost no gradient
    rejected = torch.tensor([-10.0], requires_grad=True)
    generator_loss(rejected).backward()
    strong = rejected.grad.abs().item()
    rejected.grad = None
    generator_loss(rejected, saturating=True).backward()
    weak = rejected.grad.abs().item()
    assert strong == pytest.approx(1 / (1 + math.exp(-10)), rel=1e-6)  # 1 − σ(−10)
    assert weak == pytest.approx(1 / (1 + math.exp(10)), rel=1e-4)  # σ(−10) ≈ 4.5e−5


# -- models ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("size", [8, 16, 32, 64])
def test_dcgan_follows_every_guideline(size):
    torch.manual_seed(0)
    pair = create_model("dcgan", image_size=size, channels=3)
    g, d = pair.generator, pair.discriminator
    z = torch.randn(4, 100)
    assert g(z).shape == (4, 3, size, size)
    assert d(g(z)).shape == (4,)
    modules = list(pair.modules())
    assert not any(isinstance(m, (nn.Linear, nn.MaxPool2d, nn.AvgPool2d, nn.AdaptiveAvgPool2d)) for m in modules)
    # fractionally strided convs double the map in G; strided convs halve it in D (the last reads 4×4)
    transposed = [m for m in g.modules() if isinstance(m, nn.ConvTranspose2d)]
    assert [m.stride for m in transposed] == [(1, 1)] + [(2, 2)] * (len(transposed) - 1)
    convs = [m for m in d.modules() if isinstance(m, nn.Conv2d)]
    assert [m.stride for m in convs] == [(2, 2)] * (len(convs) - 1) + [(1, 1)]
    assert len(transposed) == len(convs) == int(math.log2(size)) - 1
    # batch norm after every layer but G's output and D's input, with the default eps (not 0.8)
    g_layers, d_layers = list(g), list(d)
    bn_after = lambda layers, i: isinstance(layers[i + 1], nn.BatchNorm2d)  # noqa: E731
    assert [bn_after(g_layers, g_layers.index(m)) for m in transposed] == [True] * (len(transposed) - 1) + [False]
    assert [bn_after(d_layers, d_layers.index(m)) for m in convs[:-1]] == [False] + [True] * (len(convs) - 2)
    for bn in (m for m in modules if isinstance(m, nn.BatchNorm2d)):
        assert bn.eps == 1e-5 and bn.momentum == 0.1
    # ReLU in G with tanh at the output; LeakyReLU 0.2 in D
    assert isinstance(g_layers[-1], nn.Tanh)
    assert {type(m) for m in g.modules() if isinstance(m, (nn.ReLU, nn.LeakyReLU, nn.Tanh))} == {nn.ReLU, nn.Tanh}
    leaky = [m for m in d.modules() if isinstance(m, (nn.ReLU, nn.LeakyReLU))]
    assert leaky and all(isinstance(m, nn.LeakyReLU) and m.negative_slope == 0.2 for m in leaky)


def test_dcgan_weights_are_drawn_from_n0_002():
    torch.manual_seed(0)
    pair = create_model("dcgan", image_size=64)
    weights = torch.cat([m.weight.flatten() for m in pair.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))])
    assert weights.std().item() == pytest.approx(0.02, rel=0.01)  # not the blog's 0.2
    assert abs(weights.mean().item()) < 1e-4
    scales = torch.cat([m.weight for m in pair.modules() if isinstance(m, nn.BatchNorm2d)])
    assert scales.mean().item() == pytest.approx(1.0, abs=0.005)
    assert scales.std().item() == pytest.approx(0.02, rel=0.1)


def test_dcgan_figure1_generator_widths_and_parameter_count():
    pair = create_model("dcgan", image_size=64, channels=3)
    widths = [m.out_channels for m in pair.generator if isinstance(m, nn.ConvTranspose2d)]
    assert widths == [1024, 512, 256, 128, 3]  # Radford et al. Figure 1
    # 4×4 kernels: 100·1024·16 + 1024·512·16 + 512·256·16 + 256·128·16 + 128·3·16 + 3 (output bias),
    # plus two batch-norm parameters per channel of the four hidden layers
    expected = 16 * (100 * 1024 + 1024 * 512 + 512 * 256 + 256 * 128 + 128 * 3) + 3 + 2 * (1024 + 512 + 256 + 128)
    assert sum(p.numel() for p in pair.generator.parameters()) == expected


def test_mlp_gan_matches_the_notes():
    pair = create_model("gan", data_shape=(1, 8, 8))
    assert pair.latent_dim == 100
    g = list(pair.generator.net)
    assert [type(m) for m in g] == [nn.Linear, nn.LeakyReLU, nn.Linear, nn.Tanh]
    assert g[0].out_features == 128 and g[1].negative_slope == 0.01
    assert pair(torch.randn(5, 100)).shape == (5, 1, 8, 8)
    assert pair(torch.zeros(5, 1, 8, 8), player="discriminator").shape == (5,)


def test_ring_data_has_eight_labelled_modes_in_the_unit_square():
    bundle = load_dataset("ring", normalize="none")
    centers = np.array(bundle.meta.extra["mode_centers"])
    assert centers.shape == (8, 2)
    assert np.allclose(np.linalg.norm(centers - 0.5, axis=1), 0.4)
    x, y = bundle.train.x, bundle.train.y
    for k in range(8):  # each point sits near the centre of its label
        spread = (x[y == k] - torch.tensor(centers[k], dtype=torch.float32)).norm(dim=1)
        assert spread.mean().item() == pytest.approx(0.05 * math.sqrt(math.pi / 2), rel=0.1)  # Rayleigh mean
    symmetric = load_dataset("ring", normalize="symmetric")
    assert symmetric.meta.value_range == (-1.0, 1.0)
    assert torch.allclose(symmetric.train.x, x * 2 - 1)


# -- Fréchet distance ------------------------------------------------------------------------------------

def test_frechet_distance_matches_closed_forms():
    mu1, mu2 = torch.tensor([0.0, 1.0, 2.0]), torch.tensor([1.0, 1.0, 0.0])
    a, b = torch.tensor([1.0, 4.0, 9.0]), torch.tensor([4.0, 1.0, 1.0])
    # diagonal covariances: ‖μ1 − μ2‖² + Σ (√a − √b)²
    expected = 5.0 + (1 - 2) ** 2 + (2 - 1) ** 2 + (3 - 1) ** 2
    assert frechet_distance(mu1, torch.diag(a), mu2, torch.diag(b)) == pytest.approx(expected, abs=1e-9)
    # full covariances: the textbook formula with scipy's matrix square root
    rng = np.random.default_rng(0)
    m1, m2 = rng.standard_normal((6, 6)), rng.standard_normal((6, 6))
    s1, s2 = m1 @ m1.T + 0.1 * np.eye(6), m2 @ m2.T + 0.1 * np.eye(6)
    v1, v2 = rng.standard_normal(6), rng.standard_normal(6)
    reference = ((v1 - v2) ** 2).sum() + np.trace(s1 + s2 - 2 * scipy.linalg.sqrtm(s1 @ s2).real)
    ours = frechet_distance(*(torch.from_numpy(t) for t in (v1, s1, v2, s2)))
    assert ours == pytest.approx(reference, rel=1e-8)
    assert frechet_distance(torch.from_numpy(v1), torch.from_numpy(s1), torch.from_numpy(v1),
                            torch.from_numpy(s1)) == pytest.approx(0.0, abs=1e-9)


def test_frechet_distance_of_samples_converges_to_the_gaussians_distance():
    gen = torch.Generator().manual_seed(0)
    a = torch.randn(20000, 4, generator=gen)
    b = torch.randn(20000, 4, generator=gen) * 2 + 1
    # N(0, I) vs N(1, 4I) in 4-D: ‖μ‖² = 4, Σ (1 − 2)² = 4
    assert feature_frechet_distance(a, b) == pytest.approx(8.0, rel=0.03)
    # a singular covariance (N ≤ D) stays finite with the eigen-decomposition
    assert math.isfinite(feature_frechet_distance(a[:3], b[:3]))


# -- predictions ------------------------------------------------------------------------------------

def test_classifier_score_hand_values():
    k = 4
    confident_even = torch.eye(k).repeat(5, 1)  # every class equally often, each prediction one-hot
    assert classifier_score(confident_even) == pytest.approx(k)
    assert classifier_score(torch.eye(k)[[2] * 8]) == pytest.approx(1.0)  # one class only
    assert classifier_score(torch.full((10, k), 1 / k)) == pytest.approx(1.0)  # no confidence
    # two items, p = (0.5, 0.5) and (1, 0): marginal (0.75, 0.25); KL = ½ln(⅔) + ½ln2 and ln(4/3)
    probs = torch.tensor([[0.5, 0.5], [1.0, 0.0]])
    kl = (0.5 * math.log(0.5 / 0.75) + 0.5 * math.log(0.5 / 0.25) + math.log(1 / 0.75)) / 2
    assert classifier_score(probs) == pytest.approx(math.exp(kl))


def test_mode_coverage_counts_classes_above_half_the_uniform_share():
    predicted = torch.tensor([0] * 50 + [1] * 40 + [2] * 6 + [3] * 4)  # shares .5 .4 .06 .04; threshold 1/8
    assert class_shares(predicted, 4).tolist() == [0.5, 0.4, 0.06, 0.04]
    assert mode_coverage(predicted, 4) == 0.5
    assert mode_coverage(predicted, 4, min_share=0.05) == 0.75


def test_nearest_mode_counts_within_three_sigma():
    centers = torch.tensor([[0.0, 0.0], [1.0, 0.0]])
    points = torch.tensor([[0.05, 0.0], [0.0, 0.29], [0.95, 0.0], [0.5, 0.0], [0.0, 0.31]])
    counts, high_quality = nearest_mode_counts(points, centers, std=0.1)
    assert counts.tolist() == [2, 1]  # (0.5, 0) and (0, 0.31) are beyond 3σ = 0.3
    assert high_quality == pytest.approx(3 / 5)
    # 2 modes: a mode is covered with ≥ 1/4 of the points; all points on mode 0 cover one mode
    scores = ring_scores(torch.zeros(8, 2), points, centers, std=0.1)
    assert scores == {"modes_covered": 1.0, "high_quality": 1.0, "modes_covered_real": 1.0,
                      "high_quality_real": pytest.approx(0.6)}
