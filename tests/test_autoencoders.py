"""Autoencoder family: losses and regularisers against hand-computed values, noise, tied weights,
contractive closed form vs autograd, VAE/AAE specifics, and a short training run of every variant."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from deepzoo.data import load_dataset
from deepzoo.errors import ConfigError
from deepzoo.models import accepted_kwargs, create_model, model_entry
from deepzoo.models.ae_losses import (
    choose_recon_loss,
    contractive_sigmoid,
    gaussian_kl,
    jacobian_frobenius,
    kl_sparsity,
    l1_sparsity,
    reconstruction_loss,
    weight_l2,
)
from deepzoo.models.ae_noise import gaussian_noise, masking_noise, salt_and_pepper_noise

VARIANTS = ["ae", "sparse_ae", "denoising_ae", "contractive_ae", "conv_ae", "vae", "aae"]
DIGITS = {"input_shape": (1, 8, 8), "value_range": (0.0, 1.0)}


@pytest.fixture(scope="module")
def digits() -> torch.Tensor:
    return load_dataset("digits", normalize="none").train.x


# -- reconstruction loss choice ---------------------------------------------------------------------
def test_recon_loss_auto_follows_the_value_range():
    kind, reason = choose_recon_loss((0.0, 1.0))
    assert kind == "bce" and "[0, 1]" in reason and "\n" not in reason
    assert choose_recon_loss((-1.0, 1.0))[0] == "mse"
    assert choose_recon_loss(None)[0] == "mse"  # standardised data: range unknown, real-valued
    assert choose_recon_loss((0.0, 1.0), "l1") == ("l1", "reconstruction loss l1: set by recon_loss=l1")
    with pytest.raises(ConfigError, match="needs inputs in \\[0, 1\\]"):
        choose_recon_loss((-1.0, 1.0), "bce")


def test_model_output_follows_the_loss():
    assert create_model("ae", **DIGITS).output == "sigmoid"
    assert create_model("ae", input_shape=(5,)).output == "linear"
    assert create_model("ae", input_shape=(5,), value_range=(0, 1), recon_loss="mse").output == "sigmoid"
    with pytest.raises(ConfigError, match="needs output=sigmoid"):
        create_model("ae", **DIGITS, output="linear")


def test_reconstruction_losses_hand_values():
    logits = torch.tensor([[0.0, math.log(3.0)], [-2.0, 0.0]])
    target = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    # row 1: ln 2 + ln 4; row 2: softplus(-2) + ln 2 → mean 1.449758
    assert reconstruction_loss(logits, target, "bce").item() == pytest.approx(1.449758, abs=1e-6)
    values = torch.tensor([[1.0, 2.0], [0.0, 0.0]])
    zeros_ones = torch.tensor([[0.0, 0.0], [0.0, 1.0]])
    assert reconstruction_loss(values, zeros_ones, "mse").item() == pytest.approx(3.0)  # (5 + 1) / 2
    assert reconstruction_loss(values, zeros_ones, "l1").item() == pytest.approx(2.0)  # (3 + 1) / 2


# -- regularisers -------------------------------------------------------------------------------------
def test_gaussian_kl_hand_value_and_zero_at_prior():
    mu = torch.tensor([[1.0, 0.0]])
    logvar = torch.tensor([[0.0, math.log(4.0)]])
    # −½(1 + 0 − 1 − 1) + −½(1 + ln 4 − 0 − 4) = 0.5 + 1.5 − ln 2
    assert gaussian_kl(mu, logvar).item() == pytest.approx(1.306853, abs=1e-6)
    assert gaussian_kl(torch.zeros(3, 4), torch.zeros(3, 4)).item() == 0.0


def test_gaussian_kl_matches_monte_carlo():
    mu = torch.tensor([[0.5, -1.0, 2.0]])
    logvar = torch.tensor([[0.0, -1.0, 0.7]])
    gen = torch.Generator().manual_seed(0)
    std = torch.exp(0.5 * logvar)
    z = mu + std * torch.randn(400_000, 3, generator=gen)
    log_q = (-0.5 * ((z - mu) / std) ** 2 - torch.log(std)).sum(1)
    log_p = (-0.5 * z**2).sum(1)  # the 2π terms cancel
    monte_carlo = (log_q - log_p).mean().item()
    assert gaussian_kl(mu, logvar).item() == pytest.approx(monte_carlo, abs=0.02)


def test_kl_sparsity_hand_value():
    code = torch.tensor([[0.1, 0.5], [0.3, 0.5]])  # ρ̂ = (0.2, 0.5)
    # KL(0.05‖0.2) = 0.05 ln(0.25) + 0.95 ln(0.95/0.8); KL(0.05‖0.5) = 0.05 ln(0.1) + 0.95 ln(1.9)
    assert kl_sparsity(code, 0.05).item() == pytest.approx(0.0939430 + 0.4946319, abs=1e-5)
    assert kl_sparsity(torch.full((4, 3), 0.05), 0.05).item() == pytest.approx(0.0, abs=1e-6)


def test_l1_sparsity_and_weight_l2_hand_values():
    assert l1_sparsity(torch.tensor([[1.0, -2.0], [0.0, 3.0]])).item() == 3.0
    layer = nn.Linear(2, 2)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([[1.0, 2.0], [3.0, 4.0]]))
        layer.bias.fill_(10.0)  # biases are not penalised
    assert weight_l2(layer).item() == 30.0
    assert weight_l2(layer, layer).item() == 30.0  # a shared parameter counts once


def test_contractive_closed_form_hand_value():
    weight = torch.tensor([[1.0, 2.0], [0.0, -1.0]])
    code = torch.tensor([[0.5, 0.2]])
    # (0.5·0.5)²·(1 + 4) + (0.2·0.8)²·(0 + 1) = 0.3125 + 0.0256
    assert contractive_sigmoid(code, weight).item() == pytest.approx(0.3381, abs=1e-6)


def test_contractive_closed_form_equals_autograd_value_and_gradient():
    torch.manual_seed(0)
    model = create_model("contractive_ae", input_shape=(10,), code_size=6)
    x = torch.randn(5, 10)
    closed = model.contractive_penalty(x, model(x).code)
    autograd = jacobian_frobenius(model.encode, x)
    assert closed.item() == pytest.approx(autograd.item(), rel=1e-5)
    weight = model.encoder[0].weight
    grad_closed, = torch.autograd.grad(closed, weight)
    grad_autograd, = torch.autograd.grad(autograd, weight)
    torch.testing.assert_close(grad_closed, grad_autograd, rtol=1e-4, atol=1e-6)


def test_contractive_uses_autograd_for_deep_encoders():
    model = create_model("contractive_ae", input_shape=(6,), hidden=(5,), code_size=3)
    x = torch.randn(4, 6)
    assert model.sigmoid_encoder_weight() is None
    assert model.loss(x, model(x))["contractive"].item() == pytest.approx(
        0.1 * jacobian_frobenius(model.encode, x).item(), rel=1e-6)
    closed = create_model("contractive_ae", input_shape=(6,), hidden=(5,), jacobian="closed_form")
    with pytest.raises(ConfigError, match="jacobian=autograd"):
        closed.loss(x, closed(x))


def test_loss_terms_are_weighted_and_sum_to_total():
    torch.manual_seed(0)
    model = create_model("ae", input_shape=(6,), hidden=(5,), code_size=4, code_activation="sigmoid",
                         weight_penalty=0.01, sparsity="l1", contractive_weight=0.5)
    assert model.sparsity_weight == 1e-3  # the L1 default
    x = torch.randn(7, 6)
    out = model(x)
    terms = model.loss(x, out)
    assert set(terms) == {"recon", "l2", "sparsity", "contractive", "total"}
    assert terms["recon"].item() == pytest.approx(((out.reconstruction - x) ** 2).sum().item() / 7, rel=1e-6)
    assert terms["l2"].item() == pytest.approx(0.01 * weight_l2(model).item(), rel=1e-6)
    assert terms["sparsity"].item() == pytest.approx(1e-3 * out.code.abs().sum().item() / 7, rel=1e-6)
    jacobian = jacobian_frobenius(model.encode, x).item()
    assert terms["contractive"].item() == pytest.approx(0.5 * jacobian, rel=1e-6)
    parts = sum(v.item() for k, v in terms.items() if k != "total")
    assert terms["total"].item() == pytest.approx(parts, rel=1e-6)


# -- noise --------------------------------------------------------------------------------------------
def test_masking_noise_zeroes_an_exact_fraction_per_example_uniformly():
    x = torch.rand(4000, 1, 8, 8) + 1.0  # no component is zero before masking
    for q, expected in ((0.25, 16), (0.5, 32)):
        noisy = masking_noise(x, q, torch.Generator().manual_seed(1))
        zeros = noisy == 0
        assert (zeros.flatten(1).sum(1) == expected).all()  # exactly round(q·64) per example
        assert torch.equal(noisy[~zeros], x[~zeros])  # the others untouched
        per_component = zeros.float().mean(0)  # each component masked with probability q
        assert (per_component - q).abs().max().item() < 0.04
    again = masking_noise(x, 0.25, torch.Generator().manual_seed(1))
    assert torch.equal(again, masking_noise(x, 0.25, torch.Generator().manual_seed(1)))


def test_salt_and_pepper_and_gaussian_noise():
    x = torch.full((2000, 20), 0.5)
    noisy = salt_and_pepper_noise(x, 0.3, 0.0, 1.0, torch.Generator().manual_seed(2))
    changed = noisy != 0.5
    assert (changed.sum(1) == 6).all()
    assert set(noisy[changed].unique().tolist()) == {0.0, 1.0}
    assert (noisy[changed] == 1.0).float().mean().item() == pytest.approx(0.5, abs=0.02)
    standardised = create_model("ae", input_shape=(20,), noise="salt_pepper", noise_level=0.3)
    x = torch.linspace(-2.0, 3.0, 20).repeat(4, 1)  # unknown range: the batch's min and max are used
    noisy = standardised.corrupt(x, torch.Generator().manual_seed(4))
    assert set(noisy[noisy != x].tolist()) <= {-2.0, 3.0}
    shifted = gaussian_noise(torch.zeros(100_000), 0.3, torch.Generator().manual_seed(3))
    assert shifted.std().item() == pytest.approx(0.3, rel=0.02)
    assert shifted.mean().item() == pytest.approx(0.0, abs=0.005)


def test_denoising_model_corrupts_and_compares_with_clean_input():
    model = create_model("denoising_ae", **DIGITS, noise_level=0.5)
    x = torch.rand(3, 1, 8, 8) + 0.01
    noisy = model.corrupt(x, torch.Generator().manual_seed(0))
    assert ((noisy == 0).flatten(1).sum(1) == 32).all()
    out = model(noisy)
    expected = reconstruction_loss(out.reconstruction, x, "bce")
    assert model.loss(noisy, out, target=x)["recon"].item() == pytest.approx(expected.item())


# -- tied weights -------------------------------------------------------------------------------------
def _weight_matrices(model: nn.Module) -> list[torch.Tensor]:
    return [p for p in model.parameters() if p.dim() == 2]  # parameters() lists a shared tensor once


def test_tied_weights_halve_the_weight_matrices_and_train_both_mappings():
    untied = create_model("ae", **DIGITS, hidden=(32,), code_size=16)
    tied = create_model("ae", **DIGITS, hidden=(32,), code_size=16, tied=True)
    assert len(_weight_matrices(untied)) == 4 and len(_weight_matrices(tied)) == 2
    tied_count, untied_count = (sum(p.numel() for p in _weight_matrices(m)) for m in (tied, untied))
    assert 2 * tied_count == untied_count == 2 * (64 * 32 + 32 * 16)
    assert tied.decoder[-1].weight is tied.encoder[0].weight  # the same Parameter, the same storage
    assert "decoder.2.weight" not in tied.state_dict()

    torch.manual_seed(0)
    x, code = torch.rand(8, 1, 8, 8), torch.randn(2, 16)
    before_encode, before_decode = tied.encode(x).detach(), tied.decode(code).detach()
    optim = torch.optim.SGD(tied.parameters(), lr=0.5)
    tied.loss(x, tied(x))["total"].backward()
    optim.step()
    assert not torch.allclose(tied.encode(x), before_encode)
    assert not torch.allclose(tied.decode(code), before_decode)
    decoder_input = tied.decoder[-1](torch.eye(32))  # rows: Wᵀ e_k + b = the k-th row of W plus b
    torch.testing.assert_close(decoder_input - tied.decoder[-1].bias, tied.encoder[0].weight)


# -- VAE and AAE ---------------------------------------------------------------------------------------
def test_vae_sampling_and_interpolation_shapes():
    torch.manual_seed(0)
    model = create_model("vae", **DIGITS, code_size=4, hidden=(32,)).eval()
    samples = model.sample(5, torch.Generator().manual_seed(0))
    assert samples.shape == (5, 1, 8, 8) and samples.min() >= 0 and samples.max() <= 1
    x1, x2 = torch.rand(1, 8, 8), torch.rand(1, 8, 8)
    path = model.interpolate(x1, x2, steps=7)
    assert path.shape == (7, 1, 8, 8)
    ends = model.output_values(model.decode(model.encode(torch.stack([x1, x2]))))
    torch.testing.assert_close(path[0], ends[0])
    torch.testing.assert_close(path[-1], ends[1])
    assert model.interpolate(torch.rand(3, 1, 8, 8), torch.rand(3, 1, 8, 8), steps=4).shape == (4, 3, 1, 8, 8)


def test_vae_loss_is_summed_bce_plus_beta_kl():
    torch.manual_seed(0)
    model = create_model("vae", **DIGITS, code_size=3, hidden=(16,), beta=2.0)
    x = torch.rand(6, 1, 8, 8)
    out = model(x)
    terms = model.loss(x, out)
    recon = torch.nn.functional.binary_cross_entropy_with_logits(out.reconstruction, x, reduction="sum") / 6
    assert terms["recon"].item() == pytest.approx(recon.item(), rel=1e-6)
    assert terms["kl"].item() == pytest.approx(2.0 * gaussian_kl(out.mu, out.logvar).item(), rel=1e-6)
    assert terms["total"].item() == pytest.approx(terms["recon"].item() + terms["kl"].item(), rel=1e-6)


def test_aae_adversarial_losses_hand_values():
    model = create_model("aae", **DIGITS, code_size=3)
    model.discriminator = nn.Linear(3, 1)
    with torch.no_grad():  # D(z) = z₀ as a logit
        model.discriminator.weight.copy_(torch.tensor([[1.0, 0.0, 0.0]]))
        model.discriminator.bias.zero_()
    real = torch.tensor([[2.0, 5.0, 5.0]])
    fake = torch.tensor([[-1.0, 0.0, 0.0]], requires_grad=True)
    d_loss = model.discriminator_loss(real, fake)
    assert d_loss.item() == pytest.approx(0.440190, abs=1e-6)  # softplus(−2) + softplus(−1)
    d_loss.backward()
    assert fake.grad is None  # the discriminator's loss does not reach the encoder
    assert model.generator_loss(fake).item() == pytest.approx(1.313262, abs=1e-6)  # softplus(1)


def test_aae_priors():
    gaussian = create_model("aae", **DIGITS, code_size=4)
    z = gaussian.sample_prior(20_000, torch.Generator().manual_seed(0))
    assert z.shape == (20_000, 4)
    assert z.mean().abs().item() < 0.03 and z.std().item() == pytest.approx(1.0, abs=0.03)
    mixture = create_model("aae", **DIGITS, code_size=4, prior="mixture")
    z = mixture.sample_prior(20_000, torch.Generator().manual_seed(0))
    nearest = torch.cdist(z, mixture.mixture_means).argmin(1)
    counts = torch.bincount(nearest, minlength=10).float() / len(z)
    assert (counts - 0.1).abs().max().item() < 0.02  # ten equally likely components
    radius = z[:, :2].norm(dim=1)
    assert radius.median().item() == pytest.approx(4.0, abs=0.1)
    assert mixture.sample(3).shape == (3, 1, 8, 8)


# -- registry and configuration ------------------------------------------------------------------------
def test_registered_metadata_and_parameter_counts():
    # default input: MNIST 1×28×28 (784 inputs), as in the papers
    hand = {
        "ae": (784 * 64 + 64) + (64 * 32 + 32) + (32 * 64 + 64) + (64 * 784 + 784),
        "sparse_ae": (784 * 64 + 64) + (64 * 784 + 784),
        "denoising_ae": 784 * 128 + 128 + 784,  # tied: one weight matrix, two biases
        "contractive_ae": 784 * 128 + 128 + 784,
        "conv_ae": (1 * 32 * 9 + 64) + (32 * 64 * 9 + 128) + (64 * 32 * 16 + 64) + (32 * 1 * 16 + 1),
        "vae": (784 * 256 + 256) + (256 * 32 + 32) + (16 * 256 + 256) + (256 * 784 + 784),
        "aae": (784 * 256 + 256) + (256 * 8 + 8) + (8 * 256 + 256) + (256 * 784 + 784)
        + (8 * 64 + 64) + (64 * 64 + 64) + (64 + 1),
    }
    for name in VARIANTS:
        entry = model_entry(name)
        assert entry.meta["family"] == "autoencoder" and entry.meta["task"] == "reconstruct"
        assert entry.meta["params"] == hand[name], name
        assert sum(p.numel() for p in create_model(name).parameters()) == hand[name], name


def test_options_by_keyword_and_errors():
    assert accepted_kwargs("ae", {"num_classes": 10, "in_chans": 1, "input_shape": (1, 8, 8)}) == {
        "in_chans": 1, "input_shape": (1, 8, 8)}
    with pytest.raises(ConfigError, match="does not take"):
        create_model("ae", dropout=0.5)
    with pytest.raises(ConfigError, match="code_activation=sigmoid"):
        create_model("ae", sparsity="kl")
    with pytest.raises(ConfigError, match="divisible by 4"):
        create_model("conv_ae", input_shape=(3, 10, 10))
    with pytest.raises(ConfigError, match="noise="):
        create_model("ae", noise="pink")
    with pytest.raises(ConfigError, match=r"built for inputs of shape \(1, 8, 8\)"):
        create_model("ae", **DIGITS).encode(torch.rand(2, 1, 28, 28))
    with pytest.raises(ConfigError, match=r"built for inputs of shape \(1, 8, 8\)"):
        create_model("vae", **DIGITS)(torch.rand(2, 64))
    colour = create_model("conv_ae", input_shape=(3, 16, 16), in_chans=1, out_chans=3)
    assert colour(torch.rand(2, 1, 16, 16)).reconstruction.shape == (2, 3, 16, 16)


@pytest.mark.parametrize("size", [8, 16, 32, 64])
def test_conv_ae_keeps_the_input_size(size):
    for down, up in (("stride", "transpose"), ("pool", "upsample")):
        model = create_model("conv_ae", input_shape=(3, size, size), down=down, up=up, code_size=10)
        out = model(torch.rand(2, 3, size, size))
        assert out.reconstruction.shape == (2, 3, size, size) and out.code.shape == (2, 10)


# -- every variant learns ----------------------------------------------------------------------------
def _train(model: nn.Module, data: torch.Tensor, steps: int = 30) -> list[float]:
    """Adam steps on batches of 128 digits; AAE adds its discriminator and generator steps."""
    torch.manual_seed(0)
    adversarial = hasattr(model, "discriminator")
    ae_params = [p for name, p in model.named_parameters() if not name.startswith("discriminator")]
    optim = torch.optim.Adam(ae_params, lr=3e-3)
    if adversarial:
        d_optim = torch.optim.Adam(model.discriminator.parameters(), lr=1e-3)
        g_optim = torch.optim.Adam(model.encoder.parameters(), lr=1e-3)
    losses = []
    for step in range(steps):
        x = data[(step * 128) % 1024:][:128]
        x_in = model.corrupt(x)
        terms = model.loss(x_in, model(x_in), target=x)
        optim.zero_grad()
        terms["total"].backward()
        optim.step()
        losses.append(terms["total"].item())
        if adversarial:
            d_optim.zero_grad()
            model.discriminator_loss(model.sample_prior(len(x)), model.encode(x)).backward()
            d_optim.step()
            g_optim.zero_grad()
            model.generator_loss(model.encode(x)).backward()
            g_optim.step()
    return losses


@pytest.mark.parametrize("name,options", [(name, {}) for name in VARIANTS] + [("vae", {"conv": True})])
def test_every_variant_trains(name, options, digits):
    model = create_model(name, **DIGITS, **options)
    losses = _train(model, digits)
    first, last = sum(losses[:5]) / 5, sum(losses[-5:]) / 5
    assert last < 0.85 * first, (name, first, last)
