"""The autoencoder family: plain, sparse, denoising, contractive, convolutional, variational, adversarial.

Registered as ``ae``, ``sparse_ae``, ``denoising_ae``, ``contractive_ae``, ``conv_ae``, ``vae`` and
``aae`` (``family="autoencoder"``, ``task="reconstruct"``). The first four are one fully connected
model (:class:`MLPAutoEncoder`) with the paper's regulariser switched on; every option is a keyword
(``--set model.tied=true``).

Interface shared by every model (a training recipe needs nothing else):

- ``encode(x) -> code`` — the deterministic code (the mean μ for the VAE).
- ``decode(code) -> raw`` — the raw output in the shape of one example: **logits** when the output is
  ``sigmoid``, **values** when it is ``linear``. ``output_values(raw)`` maps raw outputs to data values
  and ``reconstruct(x)`` does both steps.
- ``forward(x) -> AEOutput(reconstruction, code, mu, logvar)`` — ``reconstruction`` is the raw output.
- ``corrupt(x, generator=None)`` — the configured input noise (identity unless ``noise`` is set).
- ``loss(x, out, target=None) -> dict`` — named, already weighted terms (``recon``, ``l2``,
  ``sparsity``, ``contractive``, ``kl``; only the active ones) and their sum ``total``. ``x`` is the
  tensor the model was run on; ``target`` is what the output must match (the clean input of a
  denoising model, the colour image of a colouriser), ``x`` when omitted.
- ``interpolate(x1, x2, steps)`` — decoded straight-line interpolation between two codes.

A training step is then::

    x_in = model.corrupt(x)                  # denoising: noisy copy; others: x itself
    out = model(x_in)
    terms = model.loss(x_in, out, target=x)  # the loss compares with the clean input
    terms["total"].backward()

The VAE adds ``sample(n)``; the AAE adds ``.discriminator``, ``sample_prior(n)``,
``discriminator_loss(prior_codes, codes)``, ``generator_loss(codes)`` and ``sample(n)``, so the recipe
steps the reconstruction phase (encoder + decoder on ``loss``), then the discriminator, then the
encoder (Makhzani et al. 2016, §2).

Reconstruction loss: ``recon_loss="auto"`` chooses BCE with logits and a sigmoid output for inputs in
[0, 1] and squared error with a linear output otherwise, from the ``value_range`` the caller passes
(``DatasetMeta.value_range``); ``recon_reason`` holds the one-line reason for the run log. Losses are
summed over the components of one example and averaged over the batch (see :mod:`.ae_losses`).
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Sequence
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import ConfigError
from . import register_model
from .ae_blocks import conv_hourglass, make_activation, mlp_hourglass, resolve_input_shape
from .ae_losses import (
    choose_recon_loss,
    contractive_sigmoid,
    gaussian_kl,
    jacobian_frobenius,
    kl_sparsity,
    l1_sparsity,
    reconstruction_loss,
    weight_l2,
)
from .ae_noise import NOISE_KINDS, apply_noise


class AEOutput(NamedTuple):
    """What ``forward`` returns: the raw reconstruction (logits for a sigmoid output), the code, and
    for a VAE the encoder's Gaussian (μ, log σ²), of which ``code`` is a reparameterised sample."""

    reconstruction: torch.Tensor
    code: torch.Tensor
    mu: torch.Tensor | None = None
    logvar: torch.Tensor | None = None


class AutoEncoder(nn.Module):
    """Base class: reconstruction loss and output choice, input noise, weight penalty, interpolation.

    Subclasses build ``self.encoder`` and ``self.decoder`` and implement :meth:`encode` and
    :meth:`decode`; they extend :meth:`regularisers` with their own loss terms.

    Options: ``recon_loss`` (auto | bce | mse | l1), ``value_range`` (the data's (min, max), None when
    standardised), ``output`` (auto | sigmoid | linear; auto = sigmoid for BCE or data in [0, 1]),
    ``noise`` (none | mask | gaussian | salt_pepper) with ``noise_level`` (ν, or σ for gaussian), and
    ``weight_penalty`` λ for λ‖W‖².
    """

    encoder: nn.Module
    decoder: nn.Module
    _input_shape: tuple[int, ...]

    def __init__(self, *, recon_loss: str = "auto", value_range: Sequence[float] | None = None,
                 output: str = "auto", noise: str = "none", noise_level: float = 0.25,
                 weight_penalty: float = 0.0):
        super().__init__()
        self.value_range = None if value_range is None else (float(value_range[0]), float(value_range[1]))
        self.recon_kind, self.recon_reason = choose_recon_loss(self.value_range, recon_loss)
        if output == "auto":
            in_unit = self.value_range is not None and 0.0 <= self.value_range[0] <= self.value_range[1] <= 1
            output = "sigmoid" if self.recon_kind == "bce" or in_unit else "linear"
        if output not in ("sigmoid", "linear"):
            raise ConfigError(f"output={output!r} is not one of auto, sigmoid, linear")
        if output == "linear" and self.recon_kind == "bce":
            raise ConfigError("recon_loss=bce needs output=sigmoid (BCE compares probabilities)")
        if noise not in NOISE_KINDS:
            raise ConfigError(f"noise={noise!r} is not one of {', '.join(NOISE_KINDS)}")
        self.output = output
        self.noise = noise
        self.noise_level = float(noise_level)
        self.weight_penalty = float(weight_penalty)

    # -- the mapping ----------------------------------------------------------------------------
    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """The code of a batch ``x`` (N, *input_shape)."""
        raise NotImplementedError

    def decode(self, code: torch.Tensor) -> torch.Tensor:
        """The raw output for a batch of codes: logits for a sigmoid output, values for a linear one."""
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> AEOutput:
        """Encode and decode ``x``; the reconstruction is the raw output."""
        code = self.encode(x)
        return AEOutput(self.decode(code), code)

    def output_values(self, raw: torch.Tensor) -> torch.Tensor:
        """Raw decoder outputs in the data's units: sigmoid of the logits, or the values themselves."""
        return torch.sigmoid(raw) if self.output == "sigmoid" else raw

    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        """decode(encode(x)) in the data's units, for plots and metrics (deterministic: μ for a VAE)."""
        return self.output_values(self.decode(self.encode(x)))

    def corrupt(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """The input noise of a denoising autoencoder (:mod:`.ae_noise`); ``x`` itself when noise is none."""
        return apply_noise(x, self.noise, self.noise_level, value_range=self.value_range, generator=generator)

    # -- the loss -------------------------------------------------------------------------------
    def reconstruction_term(self, raw: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """The chosen reconstruction loss; BCE works on logits, the others on output values."""
        output = raw if self.recon_kind == "bce" else self.output_values(raw)
        return reconstruction_loss(output, target, self.recon_kind)

    def regularisers(self, x: torch.Tensor, out: AEOutput) -> dict[str, torch.Tensor]:
        """Weighted regularisation terms; the base class has the weight penalty λ‖W‖²."""
        if not self.weight_penalty:
            return {}
        return {"l2": self.weight_penalty * weight_l2(self.encoder, self.decoder)}

    def loss(self, x: torch.Tensor, out: AEOutput,
             target: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """Named loss terms and their sum ``total``; ``target`` defaults to ``x`` (see the module doc)."""
        terms = {"recon": self.reconstruction_term(out.reconstruction, x if target is None else target)}
        terms.update(self.regularisers(x, out))
        terms["total"] = sum(terms.values())
        return terms

    # -- exploring the code ---------------------------------------------------------------------
    @torch.no_grad()
    def interpolate(self, x1: torch.Tensor, x2: torch.Tensor, steps: int = 8) -> torch.Tensor:
        """Decode ``steps`` evenly spaced points on the segment between the codes of ``x1`` and ``x2``.

        ``x1`` and ``x2`` are single examples or batches of N; the result is (steps, *output_shape) or
        (steps, N, *output_shape), endpoints included, in the data's units. Call ``model.eval()`` first.
        """
        single = x1.dim() == len(self.input_shape)
        a, b = (t.unsqueeze(0) if single else t for t in (x1, x2))
        code_a, code_b = self.encode(a), self.encode(b)
        weights = torch.linspace(0.0, 1.0, steps, device=code_a.device).view(steps, *[1] * code_a.dim())
        codes = (1.0 - weights) * code_a + weights * code_b  # (steps, N, *code_shape)
        images = self.output_values(self.decode(codes.flatten(0, 1)))
        images = images.view(steps, a.shape[0], *images.shape[1:])
        return images[:, 0] if single else images

    @property
    def input_shape(self) -> tuple[int, ...]:
        """The shape of one input example."""
        return self._input_shape

    def _device(self) -> torch.device:
        return next(self.parameters()).device

    def _flatten_input(self, x: torch.Tensor) -> torch.Tensor:
        """(N, *input_shape) → (N, D) for the fully connected encoders, naming a shape mismatch."""
        if x.shape[1:] != self._input_shape:
            raise ConfigError(f"{type(self).__name__} was built for inputs of shape {self._input_shape}, "
                              f"got {tuple(x.shape[1:])}")
        return x.flatten(1)


class RegularisedAutoEncoder(AutoEncoder):
    """A deterministic autoencoder with the code regularisers of the course notes.

    Options: ``code_activation`` (linear | sigmoid | relu | tanh ...); ``sparsity`` (none | l1 | kl) with
    ``sparsity_weight`` (λ for L1, default 1e-3; β for KL, default 3 as in Ng 2011) and
    ``sparsity_target`` ρ (KL needs sigmoid code units); ``contractive_weight`` λ for λ‖J_f(x)‖²_F
    (Rifai et al. 2011) computed by ``jacobian``: ``closed_form`` (one sigmoid encoder layer),
    ``autograd`` (any encoder) or ``auto`` (closed form when it applies).
    """

    def __init__(self, *, code_activation: str = "linear", sparsity: str = "none",
                 sparsity_target: float = 0.05, sparsity_weight: float | None = None,
                 contractive_weight: float = 0.0,
                 jacobian: str = "auto", **options):
        super().__init__(**options)
        make_activation(code_activation)  # fail early on an unknown name
        if sparsity not in ("none", "l1", "kl"):
            raise ConfigError(f"sparsity={sparsity!r} is not one of none, l1, kl")
        if sparsity == "kl" and code_activation != "sigmoid":
            raise ConfigError("sparsity=kl needs code_activation=sigmoid (ρ̂ is a mean firing probability)")
        if jacobian not in ("auto", "closed_form", "autograd"):
            raise ConfigError(f"jacobian={jacobian!r} is not one of auto, closed_form, autograd")
        self.code_activation = code_activation
        self.sparsity = sparsity
        self.sparsity_target = float(sparsity_target)
        if sparsity_weight is None:
            sparsity_weight = 3.0 if sparsity == "kl" else 1e-3
        self.sparsity_weight = float(sparsity_weight)
        self.contractive_weight = float(contractive_weight)
        self.jacobian = jacobian

    def sigmoid_encoder_weight(self) -> torch.Tensor | None:
        """W when the encoder is one layer h = sigmoid(Wx + b) (the contractive closed form applies)."""
        return None

    def contractive_penalty(self, x: torch.Tensor, code: torch.Tensor) -> torch.Tensor:
        """‖J_f(x)‖²_F averaged over the batch, in closed form when possible (see ``jacobian``)."""
        weight = self.sigmoid_encoder_weight() if self.jacobian != "autograd" else None
        if weight is not None:
            return contractive_sigmoid(code, weight)
        if self.jacobian == "closed_form":
            raise ConfigError("jacobian=closed_form needs hidden=() and code_activation=sigmoid "
                              "(one sigmoid encoder layer); use jacobian=autograd")
        return jacobian_frobenius(self.encode, x)

    def regularisers(self, x: torch.Tensor, out: AEOutput) -> dict[str, torch.Tensor]:
        """The weight penalty, the sparsity penalty on the code and the contractive penalty, weighted."""
        terms = super().regularisers(x, out)
        if self.sparsity == "l1":
            terms["sparsity"] = self.sparsity_weight * l1_sparsity(out.code)
        elif self.sparsity == "kl":
            terms["sparsity"] = self.sparsity_weight * kl_sparsity(out.code, self.sparsity_target)
        if self.contractive_weight:
            terms["contractive"] = self.contractive_weight * self.contractive_penalty(x, out.code)
        return terms


class MLPAutoEncoder(RegularisedAutoEncoder):
    """Fully connected autoencoder: flatten → hidden… → code → …hidden → unflatten (Hinton &
    Salakhutdinov 2006).

    ``code_size`` smaller than the input gives an undercomplete model; an overcomplete one
    (code ≥ input) needs a regulariser: ``weight_penalty``, sparsity, noise or the contractive term.
    ``tied=True`` decodes with the transposed encoder weights (W* = Wᵀ, the same storage), halving the
    weight matrices.
    """

    def __init__(self, *, input_shape: Sequence[int] | None = None, in_chans: int | None = None,
                 input_size: int | Sequence[int] | None = None, code_size: int = 32,
                 hidden: Sequence[int] = (64,), activation: str = "relu", tied: bool = False, **options):
        super().__init__(**options)
        self._input_shape = resolve_input_shape(input_shape, in_chans, input_size)
        self.hidden = tuple(int(h) for h in hidden)
        self.code_size = int(code_size)
        self.encoder, self.decoder = mlp_hourglass(
            math.prod(self._input_shape), self.hidden, self.code_size, activation=activation,
            code_activation=self.code_activation, tied=tied)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(self._flatten_input(x))

    def decode(self, code: torch.Tensor) -> torch.Tensor:
        return self.decoder(code).view(-1, *self._input_shape)

    def sigmoid_encoder_weight(self) -> torch.Tensor | None:
        if not self.hidden and self.code_activation == "sigmoid":
            return self.encoder[0].weight
        return None


class ConvAutoEncoder(RegularisedAutoEncoder):
    """Convolutional hourglass autoencoder (Masci et al. 2011) for images of any size divisible by
    2^len(widths): 8×8 digits with two stages, 16, 32 or 64 pixels.

    ``down`` (stride | pool) halves the resolution, ``up`` (transpose | upsample) doubles it back;
    ``norm`` (batch | none); ``code_size`` None keeps the last feature map as the code, an integer adds a
    linear layer to a code vector. ``out_chans`` (default ``in_chans``) lets the same class map
    grayscale to colour (colourisation: in_chans=1, out_chans=3, target = the colour image).
    """

    def __init__(self, *, in_chans: int | None = None, out_chans: int | None = None,
                 input_size: int | Sequence[int] | None = None, input_shape: Sequence[int] | None = None,
                 widths: Sequence[int] = (32, 64), code_size: int | None = None, down: str = "stride",
                 up: str = "transpose", norm: str = "batch", activation: str = "relu", **options):
        super().__init__(**options)
        self._input_shape = resolve_input_shape(input_shape, in_chans, input_size)
        if len(self._input_shape) != 3:
            raise ConfigError(f"conv_ae needs images (C, H, W); the input shape is {self._input_shape}")
        if self.contractive_weight and norm == "batch":
            raise ConfigError("the contractive penalty needs per-example encodings: set norm=none")
        chans, height, width = self._input_shape
        self.out_chans = int(out_chans or chans)
        self.encoder, self.decoder = conv_hourglass(
            chans, self.out_chans, (height, width), tuple(widths), code_size=code_size, down=down, up=up,
            norm=norm, activation=activation, code_activation=self.code_activation)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x)

    def decode(self, code: torch.Tensor) -> torch.Tensor:
        return self.decoder(code)


class VariationalAutoEncoder(AutoEncoder):
    """Variational autoencoder (Kingma & Welling 2014): a Gaussian encoder q(z|x) = N(μ, σ²), a
    standard normal prior and a Bernoulli (BCE) or Gaussian (squared error) decoder.

    The loss is the negative ELBO, recon + β·KL with the analytic KL of Appendix B (β = 1 is the paper;
    other values give a β-VAE). ``forward`` draws z = μ + σ⊙ε (the reparameterisation trick, §2.4);
    ``encode`` returns μ. ``conv=True`` swaps the MLP for the convolutional hourglass of ``conv_ae``
    (``widths``, ``down``, ``up``, ``norm``) with a linear layer to (μ, log σ²).
    """

    def __init__(self, *, input_shape: Sequence[int] | None = None, in_chans: int | None = None,
                 input_size: int | Sequence[int] | None = None, code_size: int = 16,
                 hidden: Sequence[int] = (256,), activation: str = "relu", beta: float = 1.0,
                 conv: bool = False, widths: Sequence[int] = (32, 64), down: str = "stride",
                 up: str = "transpose", norm: str = "none", **options):
        super().__init__(**options)
        self._input_shape = resolve_input_shape(input_shape, in_chans, input_size)
        self.code_size = int(code_size)
        self.beta = float(beta)
        if conv:
            if len(self._input_shape) != 3:
                raise ConfigError(
                    f"vae with conv=true needs images (C, H, W); the input shape is {self._input_shape}")
            chans, height, width = self._input_shape
            self.encoder, self.decoder = conv_hourglass(
                chans, chans, (height, width), tuple(widths), code_size=self.code_size, down=down, up=up,
                norm=norm, activation=activation, encoder_outputs=2 * self.code_size)
        else:
            self.encoder, self.decoder = mlp_hourglass(
                math.prod(self._input_shape), tuple(hidden), self.code_size, activation=activation,
                encoder_outputs=2 * self.code_size)
        self._flat = not conv

    def moments(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The encoder's Gaussian: (μ, log σ²), each (N, code_size)."""
        stats = self.encoder(self._flatten_input(x) if self._flat else x)
        mu, logvar = stats.chunk(2, dim=1)
        return mu, logvar

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.moments(x)[0]

    def decode(self, code: torch.Tensor) -> torch.Tensor:
        return self.decoder(code).view(-1, *self._input_shape)

    def forward(self, x: torch.Tensor) -> AEOutput:
        mu, logvar = self.moments(x)
        z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
        return AEOutput(self.decode(z), z, mu, logvar)

    def regularisers(self, x: torch.Tensor, out: AEOutput) -> dict[str, torch.Tensor]:
        """β·KL(q(z|x) ‖ N(0, I)) and the weight penalty."""
        return {**super().regularisers(x, out), "kl": self.beta * gaussian_kl(out.mu, out.logvar)}

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """Decode ``n`` draws z ~ N(0, I) of the prior: (n, *input_shape) in the data's units."""
        z = torch.randn(n, self.code_size, generator=generator, device=self._device())
        return self.output_values(self.decode(z))


class AdversarialAutoEncoder(MLPAutoEncoder):
    """Adversarial autoencoder (Makhzani et al. 2016): an autoencoder whose code distribution is pushed
    to a prior by a discriminator on codes, instead of a KL term.

    ``prior`` is ``gaussian`` (N(0, I)) or ``mixture``: ``mixture_components`` Gaussians of standard
    deviation ``mixture_std`` whose means lie on a circle of radius ``mixture_radius`` in the first two
    code dimensions (the paper's 2-D mixture of 10 Gaussians, Fig. 2). ``disc_hidden`` sets the
    discriminator's ReLU layers (the paper: two of 1000 units); it outputs one logit.
    """

    def __init__(self, *, prior: str = "gaussian", mixture_components: int = 10, mixture_radius: float = 4.0,
                 mixture_std: float = 0.5, disc_hidden: Sequence[int] = (64, 64), **options):
        super().__init__(**options)
        if prior not in ("gaussian", "mixture"):
            raise ConfigError(f"prior={prior!r} is not one of gaussian, mixture")
        if prior == "mixture" and self.code_size < 2:
            raise ConfigError("prior=mixture puts its means in the first two code dimensions: code_size ≥ 2")
        self.prior = prior
        self.mixture_std = float(mixture_std)
        angles = 2.0 * math.pi * torch.arange(int(mixture_components)) / int(mixture_components)
        means = torch.zeros(int(mixture_components), self.code_size)
        means[:, 0], means[:, 1] = mixture_radius * torch.cos(angles), mixture_radius * torch.sin(angles)
        self.register_buffer("mixture_means", means, persistent=False)
        sizes = [self.code_size, *(int(h) for h in disc_hidden), 1]
        layers: list[nn.Module] = []
        for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
            layers.append(nn.Linear(a, b))
            if i < len(sizes) - 2:
                layers.append(nn.ReLU())
        self.discriminator = nn.Sequential(*layers)

    def sample_prior(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """``n`` codes drawn from the prior, (n, code_size), on the model's device."""
        device = self._device()
        noise = torch.randn(n, self.code_size, generator=generator, device=device)
        if self.prior == "gaussian":
            return noise
        pick = torch.randint(len(self.mixture_means), (n,), generator=generator, device=device)
        return self.mixture_means[pick] + self.mixture_std * noise

    def discriminator_loss(self, code_real_prior: torch.Tensor, code_fake: torch.Tensor) -> torch.Tensor:
        """−[mean log D(z_prior) + mean log(1 − D(z_code))], with BCE on logits (Goodfellow et al. 2014).

        Codes of training examples are detached: this loss steps the discriminator only.
        """
        real = self.discriminator(code_real_prior)
        fake = self.discriminator(code_fake.detach())
        return (F.binary_cross_entropy_with_logits(real, torch.ones_like(real))
                + F.binary_cross_entropy_with_logits(fake, torch.zeros_like(fake)))

    def generator_loss(self, code: torch.Tensor) -> torch.Tensor:
        """−mean log D(z_code): the non-saturating loss that steps the encoder to fool the discriminator."""
        logits = self.discriminator(code)
        return F.binary_cross_entropy_with_logits(logits, torch.ones_like(logits))

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """Decode ``n`` prior samples: (n, *input_shape) in the data's units."""
        return self.output_values(self.decode(self.sample_prior(n, generator)))


# -- registration -------------------------------------------------------------------------------------
def options_signature(cls: type[nn.Module]) -> inspect.Signature:
    """Every keyword option of ``cls``, gathered along its base classes (each forwards ``**options``)."""
    params: dict[str, inspect.Parameter] = {}
    for klass in cls.__mro__:
        if klass is nn.Module:
            break
        if "__init__" not in vars(klass):
            continue
        for param in list(inspect.signature(klass.__init__).parameters.values())[1:]:
            if param.kind is not param.VAR_KEYWORD and param.name not in params:
                params[param.name] = param
    return inspect.Signature(list(params.values()))


def _register(name: str, cls: type[AutoEncoder], doc: str, *, paper: str, params: int, **defaults):
    """Register ``cls`` with the paper's ``defaults`` as model ``name``.

    The factory's signature lists every option with its default, so ``create_model`` rejects unknown
    keywords and ``accepted_kwargs`` passes only what the model takes.
    """
    signature = options_signature(cls)
    signature = signature.replace(parameters=[p.replace(default=defaults[p.name]) if p.name in defaults else p
                                              for p in signature.parameters.values()])

    def factory(**kwargs) -> AutoEncoder:
        return cls(**{**defaults, **kwargs})

    factory.__name__ = factory.__qualname__ = name
    factory.__doc__ = doc
    factory.__signature__ = signature
    register_model(name, family="autoencoder", task="reconstruct", paper=paper, input_size=(1, 28, 28),
                   params=params)(factory)
    return factory


ae = _register(
    "ae", MLPAutoEncoder,
    "Fully connected autoencoder, code 32, one hidden layer of 64 ReLU units; weight_penalty for λ‖W‖².",
    paper="Hinton & Salakhutdinov 2006, Reducing the Dimensionality of Data with Neural Networks",
    params=105_392)
sparse_ae = _register(
    "sparse_ae", MLPAutoEncoder,
    "Sparse autoencoder: one sigmoid code layer of 64 units, β Σ KL(ρ‖ρ̂_j) with ρ = 0.05, β = 3, "
    "weight decay 5e-5 (Ng's λ/2 with λ = 1e-4).",
    paper="Ng 2011, Sparse Autoencoder (CS294A lecture notes)", params=101_200,
    hidden=(), code_size=64, code_activation="sigmoid", sparsity="kl", sparsity_weight=3.0,
    weight_penalty=5e-5)
denoising_ae = _register(
    "denoising_ae", MLPAutoEncoder,
    "Denoising autoencoder: one sigmoid code layer of 128 units, tied weights, masking noise ν = 0.25; "
    "the loss compares the output with the clean input.",
    paper="Vincent, Larochelle, Bengio & Manzagol 2008, Extracting and Composing Robust Features with "
          "Denoising Autoencoders", params=101_264,
    hidden=(), code_size=128, code_activation="sigmoid", tied=True, noise="mask", noise_level=0.25)
contractive_ae = _register(
    "contractive_ae", MLPAutoEncoder,
    "Contractive autoencoder: one sigmoid code layer of 128 units, tied weights, λ‖J_f(x)‖²_F with "
    "λ = 0.1 (closed form for the sigmoid layer).",
    paper="Rifai, Vincent, Muller, Glorot & Bengio 2011, Contractive Auto-Encoders: Explicit Invariance "
          "During Feature Extraction", params=101_264,
    hidden=(), code_size=128, code_activation="sigmoid", tied=True, contractive_weight=0.1)
conv_ae = _register(
    "conv_ae", ConvAutoEncoder,
    "Convolutional hourglass autoencoder: stages of 32 and 64 channels (stride-2 convolutions down, "
    "transposed convolutions up, batch norm); out_chans for grayscale → colour.",
    paper="Masci, Meier, Cireşan & Schmidhuber 2011, Stacked Convolutional Auto-Encoders for "
          "Hierarchical Feature Extraction", params=52_257)
vae = _register(
    "vae", VariationalAutoEncoder,
    "Variational autoencoder: MLP with 256 hidden ReLU units, 16 latent dimensions, negative ELBO loss "
    "(summed BCE for [0, 1] data + analytic KL); conv=true for the convolutional hourglass.",
    paper="Kingma & Welling 2014, Auto-Encoding Variational Bayes", params=415_024)
aae = _register(
    "aae", AdversarialAutoEncoder,
    "Adversarial autoencoder: MLP with 256 hidden ReLU units, 8-dimensional code, discriminator 64-64 "
    "on codes pushing them to a Gaussian or mixture prior.",
    paper="Makhzani, Shlens, Jaitly, Goodfellow & Frey 2016, Adversarial Autoencoders (arXiv:1511.05644)",
    params=411_609, hidden=(256,), code_size=8)
