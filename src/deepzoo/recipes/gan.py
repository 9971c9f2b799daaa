"""Adversarial training (task ``gan``): Goodfellow et al. 2014, with DCGAN's training settings.

**The game.** D maximises E[log D(x)] + E[log(1 − D(G(z)))] and G minimises it (Goodfellow Eq. 1).
Losses are computed on logits with ``binary_cross_entropy_with_logits`` (never Sigmoid + BCELoss, which
underflows). G minimises −log D(G(z)) by default — the *non-saturating* loss of Goodfellow §3, strong
gradients while D still rejects every fake — and log(1 − D(G(z))) with ``task_args.saturating=true``.
``task_args.label_smoothing=0.1`` trains D towards 0.9 on real items (one-sided label smoothing,
Salimans et al. 2016 §3.4); fakes keep target 0.

**Phases.** ``("discriminator",) × k + ("generator",)`` per batch (``task_args.k``, 1 by default as in
the paper's experiments). The engine freezes the other player during each phase: D learns on real items
and *detached* fakes; G then learns through the frozen D. As in Algorithm 1, each of the k discriminator
steps reads its own minibatch: a training batch holds k minibatches, so an epoch is one pass of D over
the data. With k = 1 the generator step reuses the discriminator step's noise and fakes, as the DCGAN
authors' dcgan.torch and pytorch/examples do (one generator forward per batch); ``task_args.fresh_noise``
draws new noise for the generator step (Algorithm 1 literally; the default for the MLP ``gan``).

**Paper preset** (``task_args.preset=paper``, the default): for ``dcgan`` Adam with lr 0.0002 and
β1 = 0.5 and batch 128 (Radford et al. §4 — the course blog's lr 0.001 is the value the paper found too
high); the MLP ``gan`` takes the same optimizer. A setting the user gave (argument, config file or
``--set``, whatever its value) is kept; the run log lists what was applied, and the resolved values
are saved in ``config.yaml``.

**Early stopping is off by default**: a GAN's losses do not measure sample quality, so stopping or
"restoring the best epoch" on them would pick an arbitrary generator. The recipe turns
``early_stop.enabled`` off unless ``early_stop.monitor`` is set; ``--set early_stop.monitor=valid/fcd``
stops on the Fréchet classifier distance and keeps its best epoch. ``default_monitor`` is
``train/generator/loss`` (logged, never used for stopping).

**Precision.** With ``train.precision=auto`` on CUDA the recipe times a few D+G steps in fp32 and in bf16
autocast on a copy of the model and trains in the faster (DCGAN at 64×64 is faster in fp32 on an H100);
on the CPU it trains in fp32. The measured rates go into ``summary.json``.

**Evaluation** (each epoch on the validation split, at the end on the test split): D(x) on held-out
items and D(G(z)) on fixed evaluation noise; with a classifier (``task_args.classifier_run=RUN``, or
trained on the fly on labelled data, or ``none``), the Fréchet classifier distance, classifier score and
mode coverage beside their real-versus-real values (:mod:`deepzoo.metrics.gan`); on the ``ring``
data the modes covered within 3σ and the share of such high-quality samples.

**Watchdogs.** A discriminator loss below 0.05 for 100 consecutive steps (D rejects every fake; G's
gradients vanish) and a mode coverage under half the real data's are warned about in the log and the
``deepzoo`` logger, and recorded in ``evaluation.json``.

**Outputs.** ``plots/samples/epoch_NNN.png`` from the same fixed noise every epoch (drawn from the
recipe's own generator, not the global RNG) and ``plots/samples.gif`` of their progression;
``plots/gan_training.png`` (losses, D outputs, FCD and coverage per epoch); ``plots/class_histogram.png``;
``generator.safetensors`` (the generator alone) and ``evaluation.json`` beside ``model.safetensors``.
:meth:`GanRecipe.sample` returns samples in the training data's units, [−1, 1] (``deepzoo sample``).

**Options** (``--set task_args.KEY=VALUE``; declared with their types, defaults and help in
``GanRecipe.options``, an unknown key fails naming the closest): ``k`` (1), ``saturating`` (false),
``label_smoothing`` (0), ``fresh_noise`` (the model's default), ``preset`` (paper | none), ``noise``
(normal | uniform), ``classifier_run`` (auto | none | RUN), ``classifier_epochs`` (10) and
``coverage_share`` (1/(2K)). The super-resolution recipe shares the first four.
"""

from __future__ import annotations

import contextlib
import copy
import json
import logging
import time
from pathlib import Path
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from ..config import RunConfig
from ..data import DataBundle, TensorSplit
from ..errors import ConfigError
from ..models import accepted_kwargs, create_model, model_entry
from ..models.gan import AdversarialPair, load_pair_weights
from ..runtime import rank_share
from .base import TASKS, Option, Recipe, apply_preset

log = logging.getLogger("deepzoo")

# Radford et al. 2015 §4: Adam, lr 0.0002, β1 = 0.5, minibatch 128.
DCGAN_OPTIMIZER = {"optim.name": "adam", "optim.lr": 2e-4, "optim.betas": (0.5, 0.999)}
PRESETS: dict[str, tuple[str, dict[str, Any]]] = {
    "dcgan": ("Radford et al. 2015 §4", {**DCGAN_OPTIMIZER, "train.batch_size": 128}),
    "gan": ("DCGAN's optimizer, Radford et al. 2015 §4", dict(DCGAN_OPTIMIZER)),
}
# Models whose generator step draws fresh noise by default (Goodfellow Algorithm 1 taken literally).
FRESH_NOISE_MODELS = ("gan",)
COLLAPSE_LOSS = 0.05  # a discriminator loss below this: D(x) ≈ 1 and D(G(z)) ≈ 0
COLLAPSE_STEPS = 100  # ... for this many consecutive discriminator steps
SAMPLE_GRID = 64  # fixed-noise samples shown each epoch
POINT_CLOUD = 1024  # fixed-noise points shown each epoch for 2-D data
FIXED_NOISE_OFFSET, EVAL_NOISE_OFFSET, REFERENCE_OFFSET = 11, 12, 13  # seeds derived from the run's seed
JUDGE_EPOCHS = 10  # epochs of the classifier trained on the fly
_MEASURED_PRECISION: dict[tuple, dict[str, float]] = {}  # in-process cache of the fp32/bf16 timing


# -- losses -------------------------------------------------------------------------------------------


def discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor, real_label: float = 1.0) -> torch.Tensor:
    """−E[log D(x)] − E[log(1 − D(G(z)))], Goodfellow et al. Eq. 1 as a loss, from logits.

    ``real_label`` < 1 is one-sided label smoothing (Salimans et al. 2016 §3.4): the real target becomes
    e.g. 0.9, the fake target stays 0.
    """
    real = F.binary_cross_entropy_with_logits(real_logits, torch.full_like(real_logits, real_label))
    fake = F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))
    return real + fake


def generator_loss(fake_logits: torch.Tensor, saturating: bool = False) -> torch.Tensor:
    """The generator's loss from D's logits on fakes.

    Non-saturating (default, Goodfellow §3): −E[log D(G(z))] = BCE(logits, 1).
    Saturating (the minimax form of Eq. 1): E[log(1 − D(G(z)))] = −BCE(logits, 0), whose gradient vanishes
    while D confidently rejects the fakes.
    """
    if saturating:
        return -F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))
    return F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))


# -- configuration -----------------------------------------------------------------------------------


def disable_default_early_stopping(config: RunConfig, suggestion: str) -> str:
    """Turn early stopping off unless the user named a monitor; return the run-log line, which
    suggests ``suggestion`` (a quality metric) as the monitor."""
    if config.early_stop.monitor:
        return f"early stopping: on {config.early_stop.monitor} (patience {config.early_stop.patience})"
    config.early_stop.enabled = False
    return (f"early stopping: off (a GAN's losses do not measure sample quality; --set "
            f"early_stop.monitor={suggestion} stops on it and keeps its best epoch)")


@contextlib.contextmanager
def recording_graph(module: nn.Module):
    """Build the autograd graph through ``module``'s parameters inside the block although the engine
    froze them: the discriminator step's fakes can then be reused by the generator step. The
    discriminator's loss only sees the fakes detached, so the frozen generator still gets no gradient."""
    params = list(module.parameters())
    before = [p.requires_grad for p in params]
    for p in params:
        p.requires_grad_(True)
    try:
        yield
    finally:
        for p, flag in zip(params, before):
            p.requires_grad_(flag)


def with_condition(condition: torch.Tensor | None) -> tuple[torch.Tensor, ...]:
    """The extra arguments of a player's call: ``()`` for an unconditional GAN, ``(labels,)`` for a
    conditional one (:mod:`deepzoo.recipes.conditional_gan`)."""
    return () if condition is None else (condition,)


def _piece(t: torch.Tensor | None, parts: int, index: int) -> torch.Tensor | None:
    return t if t is None or parts == 1 else torch.tensor_split(t, parts)[index]


# -- the shared two-player recipe ----------------------------------------------------------------------


class AdversarialRecipe(Recipe):
    """Two players, a discriminator step (k times) and a generator step per batch, the watchdog on the
    discriminator's loss and the generator's own weights file. Subclasses say what the generator reads
    (:meth:`split_batch`, :meth:`generate`) and may add terms to its loss (:meth:`generator_objective`)."""

    default_monitor = "train/generator/loss"
    options: ClassVar[dict[str, Option]] = {
        "k": Option(1, "discriminator steps per generator step (Goodfellow et al. Algorithm 1)"),
        "saturating": Option(False, "generator loss log(1 − D(G(z))) instead of the non-saturating −log D(G(z))"),
        "label_smoothing": Option(0.0, "one-sided label smoothing in [0, 0.5): real target 1 − this"),
        "fresh_noise": Option(None, "draw new noise for the generator step (default: only for the MLP gan)",
                              kind="bool"),
    }

    def __init__(self, config: RunConfig, data: DataBundle):
        super().__init__(config, data)
        args = self.args
        self.k = args["k"]
        if self.k < 1:
            raise ConfigError(f"task_args.k={self.k}: the discriminator needs at least one step per batch")
        self.phases = ("discriminator",) * self.k + ("generator",)
        self.saturating = args["saturating"]
        smoothing = args["label_smoothing"]
        if not 0.0 <= smoothing < 0.5:
            raise ConfigError(f"task_args.label_smoothing={smoothing} must be in [0, 0.5)")
        self.real_label = 1.0 - smoothing
        fresh = args["fresh_noise"]
        if fresh is None:
            fresh = config.model.name in FRESH_NOISE_MODELS
        self.reuse_fakes = self.k == 1 and not fresh
        self.warnings: list[str] = []
        self._fake: torch.Tensor | None = None
        self._batch: Any = None  # the batch as prepare_batch made it for its phases
        self._d_index = 0
        self._d_losses: list[torch.Tensor] = []
        self.watch = {"low_run": 0, "longest_low_run": 0, "warned": 0}

    def describe_game(self) -> str:
        """The run-log line that says how the game is played."""
        g = "saturating log(1 − D(G(z)))" if self.saturating else "non-saturating −log D(G(z))"
        noise = "reuses the discriminator step's fakes" if self.reuse_fakes else "draws fresh noise"
        smooth = f", real label {self.real_label:g} (one-sided smoothing)" if self.real_label < 1 else ""
        return (f"game: k={self.k} discriminator step(s) per generator step, BCE on logits, generator loss {g}"
                f"{smooth}; the generator step {noise}")

    def optimizer_modules(self) -> dict[str, nn.Module]:
        return {"discriminator": self.model.discriminator, "generator": self.model.generator}

    def loader(self, split: str, batch_size: int, *, shuffle: bool = False, seed: int = 0,
               rank: int = 0, world_size: int = 1):
        """Training batches hold k minibatches, one per discriminator step (Goodfellow Algorithm 1)."""
        if split == "train" and shuffle and self.k > 1:
            batch_size *= self.k
        return super().loader(split, batch_size, shuffle=shuffle, seed=seed, rank=rank, world_size=world_size)

    # -- what subclasses define -----------------------------------------------------------------
    def split_batch(self, batch) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(real items, the generator's condition or None)."""
        raise NotImplementedError

    def generate(self, condition: torch.Tensor | None, n: int, frozen: bool = False) -> torch.Tensor:
        """``n`` fakes (from noise, or from ``condition``) through ``self.player("generator", frozen)``."""
        raise NotImplementedError

    def generator_objective(self, adversarial: torch.Tensor, fake: torch.Tensor,
                            real: torch.Tensor) -> dict[str, torch.Tensor]:
        """The generator's loss terms; ``"loss"`` is what its optimizer minimises."""
        return {"loss": adversarial}

    # -- steps ----------------------------------------------------------------------------------------
    def discriminate(self, x: torch.Tensor, condition: torch.Tensor | None = None,
                     frozen: bool = False) -> torch.Tensor:
        """D's logits for ``x``; ``frozen`` inside the generator's step (see :meth:`Recipe.player`). This D
        ignores ``condition``; one that reads it (a cGAN's labels) overrides this."""
        return self.player("discriminator", frozen)(x)

    def prepare_batch(self, batch):
        """A training batch as all its phases read it, made once, at its first phase: the batch itself here; a
        recipe that augments (pix2pix's jitter, the segmentation GAN's joint augmentation) draws it here, so
        that the discriminator and the generator steps see the same items."""
        return batch

    def training_step(self, batch, phase: str) -> dict[str, torch.Tensor]:
        if phase == self.phases[0] and self._d_index == 0:
            self._batch = self.prepare_batch(batch)
        real, condition = self.split_batch(self._batch)
        if phase == "discriminator":
            index, self._d_index = self._d_index, self._d_index + 1
            return self.discriminator_step(_piece(real, self.k, index), _piece(condition, self.k, index))
        self._d_index = 0
        return self.generator_step(_piece(real, self.k, 0), _piece(condition, self.k, 0))

    def discriminator_fakes(self, condition: torch.Tensor | None, n: int) -> torch.Tensor:
        """``n`` fakes for the discriminator step (the generator is frozen; D reads them detached). Fakes
        the generator step will reuse go through the generator's own DDP wrapper: their backward, in that
        step, steps it."""
        with recording_graph(self.model.generator) if self.reuse_fakes else torch.no_grad():
            fake = self.generate(condition, n, frozen=not self.reuse_fakes)
        self._fake = fake if self.reuse_fakes else None
        return fake

    def generator_fakes(self, condition: torch.Tensor | None, n: int) -> torch.Tensor:
        """The generator step's fakes: the discriminator step's when reused, else fresh ones."""
        fake = self._fake if self._fake is not None else self.generate(condition, n)
        self._fake = None
        return fake

    def discriminator_step(self, real: torch.Tensor, condition: torch.Tensor | None) -> dict[str, torch.Tensor]:
        """D on real items and detached fakes (the generator is frozen)."""
        fake = self.discriminator_fakes(condition, len(real))
        real_logits = self.discriminate(real, condition)
        fake_logits = self.discriminate(fake.detach(), condition)
        loss = discriminator_loss(real_logits, fake_logits, self.real_label)
        self._d_losses.append(loss.detach())
        return {"loss": loss, "d_real": real_logits.detach().sigmoid().mean(),
                "d_fake": fake_logits.detach().sigmoid().mean()}

    def generator_step(self, real: torch.Tensor, condition: torch.Tensor | None) -> dict[str, torch.Tensor]:
        """G through the frozen D (on the discriminator step's fakes, or on fresh ones)."""
        fake = self.generator_fakes(condition, len(real))
        logits = self.discriminate(fake, condition, frozen=True)
        out = self.generator_objective(generator_loss(logits, self.saturating), fake, real)
        out["d_fake"] = logits.detach().sigmoid().mean()
        return out

    # -- watchdogs and outputs ------------------------------------------------------------------------
    def warn(self, message: str) -> None:
        """Record a warning for the log, the ``deepzoo`` logger and ``evaluation.json``."""
        self.warnings.append(message)
        self.log_lines.append(f"warning: {message}")
        log.warning("warning: %s", message)

    def watch_discriminator(self, epoch: int) -> None:
        """Warn once when D's loss stays below ``COLLAPSE_LOSS`` for ``COLLAPSE_STEPS`` steps in a row."""
        if not self._d_losses:
            return
        low = (torch.stack(self._d_losses) < COLLAPSE_LOSS).tolist()
        self._d_losses = []
        for flag in low:
            self.watch["low_run"] = self.watch["low_run"] + 1 if flag else 0
            self.watch["longest_low_run"] = max(self.watch["longest_low_run"], self.watch["low_run"])
        if self.watch["longest_low_run"] >= COLLAPSE_STEPS and not self.watch["warned"]:
            self.watch["warned"] = epoch
            self.warn(f"discriminator collapse by epoch {epoch}: its loss stayed below {COLLAPSE_LOSS} for "
                      f"{self.watch['longest_low_run']} steps in a row — it rejects every fake and the generator "
                      "learns nothing; try task_args.label_smoothing=0.1, a smaller discriminator or a lower lr")

    def on_epoch_end(self, epoch: int, run_dir: Path | None) -> None:
        self.watch_discriminator(epoch)

    def save_outputs(self, run_dir: Path, evaluation: dict[str, Any]) -> None:
        """``generator.safetensors`` and ``evaluation.json`` (with the warnings) in the run folder."""
        from safetensors.torch import save_model

        save_model(self.model.generator, str(run_dir / "generator.safetensors"))
        evaluation = {**evaluation, "warnings": self.warnings,
                      "longest_low_discriminator_loss_run": self.watch["longest_low_run"]}
        (run_dir / "evaluation.json").write_text(json.dumps(evaluation, indent=2))
        self.summary_extra = evaluation  # for summary.json, where the engine copies it

    def state_dict(self) -> dict[str, Any]:
        return {"watch": dict(self.watch), "warnings": list(self.warnings)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.watch.update(state.get("watch", {}))
        self.warnings[:] = state.get("warnings", [])


# -- precision by measurement --------------------------------------------------------------------------


def images_per_second(pair: AdversarialPair, real: torch.Tensor, precision: str, steps: int = 10,
                      warmup: int = 3, labels: torch.Tensor | None = None) -> float:
    """Training speed of one D step and one G step per batch, on a copy of ``pair`` (its weights stay
    untouched) with its own noise generator (the global RNG stays untouched); ``labels`` (one per item of
    ``real``) condition both players of a conditional pair."""
    from ..runtime import autocast

    model = copy.deepcopy(pair)
    if real.dim() == 4 and real.is_cuda:
        model.to(memory_format=torch.channels_last)
        real = real.contiguous(memory_format=torch.channels_last)
    opt_d = torch.optim.Adam(model.discriminator.parameters(), 2e-4, betas=(0.5, 0.999))
    opt_g = torch.optim.Adam(model.generator.parameters(), 2e-4, betas=(0.5, 0.999))
    rng = torch.Generator(device=real.device)
    rng.manual_seed(0)
    condition = with_condition(labels)

    def step() -> None:
        with autocast(precision, real.device):
            z = torch.randn(len(real), model.latent_dim, device=real.device, generator=rng)
            fake = model.generator(z, *condition)
            loss_d = discriminator_loss(model.source_logits(real, *condition),
                                        model.source_logits(fake.detach(), *condition))
        opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        opt_d.step()
        with autocast(precision, real.device):
            loss_g = generator_loss(model.source_logits(fake, *condition))
        opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        opt_g.step()

    def sync() -> None:
        if real.is_cuda:
            torch.cuda.synchronize(real.device)

    for _ in range(warmup):
        step()
    sync()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    sync()
    return steps * len(real) / (time.perf_counter() - start)


def training_device(config: RunConfig) -> torch.device:
    """The device the engine will pick for ``config`` (CUDA when present and not set otherwise)."""
    name = config.train.device
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    return torch.device(name)


# -- the GAN recipe ------------------------------------------------------------------------------------


class GanRecipe(AdversarialRecipe):
    """Unconditional GANs (``gan``, ``dcgan``) on images or points scaled to [−1, 1]."""

    data_defaults = {"normalize": "symmetric"}
    #: the ``task`` metadata of the models this recipe trains, and how its one-line error names them
    model_task: ClassVar[str] = "gan"
    model_names: ClassVar[str] = "the GAN models (gan, dcgan)"
    #: paper presets by model name: (source, settings)
    presets: ClassVar[dict[str, tuple[str, dict[str, Any]]]] = PRESETS
    #: whether both players read the batch's labels (a conditional GAN); split_batch then returns them
    conditional: ClassVar[bool] = False
    options: ClassVar[dict[str, Option]] = {
        **AdversarialRecipe.options,
        "preset": Option("paper", "paper: DCGAN's optimizer (and batch 128 for dcgan); none keeps the config",
                         choices=("paper", "none")),
        "noise": Option("normal", "the noise prior: normal N(0, 1) or uniform U(-1, 1)", choices=("normal", "uniform")),
        "classifier_run": Option("auto", "the judge classifier for FCD and coverage: auto (trained on labelled "
                                 "data), none, or a classifier run folder"),
        "classifier_epochs": Option(JUDGE_EPOCHS, "epochs of the judge classifier trained on the fly"),
        "coverage_share": Option(None, "the share of samples a class needs to count as covered (default "
                                 "1/(2K), half the uniform share)", kind="float"),
    }

    def __init__(self, config: RunConfig, data: DataBundle):
        super().__init__(config, data)
        meta = data.meta
        name = config.model.name
        if model_entry(name).meta.get("task") != self.model_task:
            raise ConfigError(f"task {self.model_task} trains {self.model_names}; {name} is not one of them")
        if meta.value_range is None or meta.value_range[0] < -1 - 1e-6 or meta.value_range[1] > 1 + 1e-6:
            raise ConfigError(f"{meta.name}: a GAN's tanh output needs data in [-1, 1]; "
                              "load it with --set data.normalize=symmetric")
        if self.args["preset"] == "paper" and name in self.presets:
            source, preset = self.presets[name]
            self.log_lines.append(apply_preset(config, preset, source))
        self.log_lines.append(disable_default_early_stopping(config, "valid/fcd"))
        shape = tuple(meta.input_shape)
        candidates = {"data_shape": shape, "channels": shape[0], "image_size": shape[-1],
                      "num_classes": meta.num_classes}
        self.model: AdversarialPair = create_model(name, **{**accepted_kwargs(name, candidates),
                                                            **config.model.args})
        if config.model.weights:
            self.log_lines.append(f"weights: {config.model.weights} → "
                                  f"{load_pair_weights(self.model, config.model.weights)}")
        self._fit_data_to_model()
        self.noise = self.args["noise"]
        self.fixed_noise = self.noise_batch(SAMPLE_GRID, self._seeded(FIXED_NOISE_OFFSET))
        self.log_lines.append(self.describe_game() + f"; noise {self.noise}, {self.model.latent_dim} dimensions")
        self.judge = None  # set by the API before training (judge_source, use_judge)
        self.last_histogram: tuple[torch.Tensor, torch.Tensor] | None = None
        self.measured: dict[str, float] = {}
        self._choose_precision()

    # -- set-up helpers -----------------------------------------------------------------------------
    def _fit_data_to_model(self) -> None:
        """Resize images to the generator's size (e.g. 8×8 digits to a 32×32 DCGAN) or fail clearly.

        Upsampling repeats pixels (nearest), so the judge's area downsampling gives back the data exactly
        and FCDs of runs at different sizes stay comparable; downsampling averages areas."""
        want, have = self.model.sample_shape, tuple(self.data.meta.input_shape)
        if want == have:
            return
        if len(want) != 3 or len(have) != 3 or want[0] != have[0]:
            raise ConfigError(f"model {self.config.model.name} makes items of shape {want}, "
                              f"{self.data.meta.name} has {have}")
        if self.data.train is not None:
            def resize(split: TensorSplit) -> TensorSplit:
                mode = "nearest-exact" if want[1] >= have[1] else "area"
                return TensorSplit(F.interpolate(split.x, size=want[1:], mode=mode), split.y)

            self.data = DataBundle(*(resize(s) for s in (self.data.train, self.data.valid, self.data.test)),
                                   meta=self.data.meta)
        self.log_lines.append(f"data: {self.data.meta.name} resized from {have[1]}×{have[2]} to {want[1]}×{want[2]} "
                              "to fit the model")

    def _choose_precision(self) -> None:
        """bf16 or fp32 by measurement on CUDA (only when ``train.precision`` is auto); fp32 on the CPU."""
        if self.config.train.precision != "auto":
            return
        device = training_device(self.config)
        if device.type != "cuda" or self.data.train is None:
            self.preferred_precision = "fp32"
            return
        size = self.config.train.batch_size
        batch = self.data.train.x[:size].to(device)
        labels = self.data.train.y[:size].to(device) if self.conditional else None
        key = (str(device), self.config.model.name, repr(sorted(self.config.model.args.items())), tuple(batch.shape))
        if key not in _MEASURED_PRECISION:
            pair = copy.deepcopy(self.model).to(device)
            _MEASURED_PRECISION[key] = {p: images_per_second(pair, batch, p, labels=labels) for p in ("fp32", "bf16")}
        self.measured = _MEASURED_PRECISION[key]
        self.preferred_precision = max(self.measured, key=self.measured.get)
        self.log_lines.append("precision: " + ", ".join(f"{p} {v:,.0f} img/s" for p, v in self.measured.items())
                              + f" measured on {device} → {self.preferred_precision}")

    def _seeded(self, offset: int) -> torch.Generator:
        generator = torch.Generator()
        generator.manual_seed(self.config.seed + offset)
        return generator

    # -- noise, generation, sampling ------------------------------------------------------------------
    def noise_batch(self, n: int, generator: torch.Generator | None = None,
                    device: torch.device | None = None) -> torch.Tensor:
        """``n`` noise vectors: N(0, 1) or U(−1, 1), from ``generator`` (else the global RNG) on
        ``generator``'s device, then moved to ``device``.

        Training noise (from the global RNG) under torchrun is this process's slice of one draw for the
        global batch (:func:`~deepzoo.runtime.rank_share`): every process fakes different items, and
        together the ones a single process would fake for the combined batch."""
        where = generator.device if generator is not None else (device or self.device)
        total, mine = (n, slice(None)) if generator is not None else rank_share(n)
        shape = (total, self.model.latent_dim)
        if self.noise == "uniform":
            z = torch.rand(shape, generator=generator, device=where) * 2 - 1
        else:
            z = torch.randn(shape, generator=generator, device=where)
        return z[mine].to(device or self.device)

    def split_batch(self, batch) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(items, their labels when the GAN is conditional, else None)."""
        if not isinstance(batch, (tuple, list)):
            return batch, None
        return batch[0], (batch[1] if self.conditional else None)

    def generate(self, condition: torch.Tensor | None, n: int, frozen: bool = False) -> torch.Tensor:
        return self.player("generator", frozen)(self.noise_batch(n), *with_condition(condition))

    def to_raw(self, x: torch.Tensor) -> torch.Tensor:
        """Model units ([−1, 1]) → the data's raw units (pixels in [0, 1], ring points in the unit square)."""
        meta = self.data.meta
        if meta.mean is None:
            return x
        view = (-1,) + (1,) * (x.dim() - 2) if len(meta.mean) > 1 else (1,)
        mean = torch.tensor(meta.mean, device=x.device).view(view)
        std = torch.tensor(meta.std, device=x.device).view(view)
        return x * std + mean

    def in_eval_batches(self, forward, *inputs: torch.Tensor) -> torch.Tensor:
        """``forward`` over ``train.eval_batch_size`` rows of the aligned ``inputs`` at a time (moved to
        the device), the outputs concatenated as float32."""
        size = self.config.train.eval_batch_size
        return torch.cat([forward(*(t[i:i + size].to(self.device) for t in inputs)).float()
                          for i in range(0, len(inputs[0]), size)])

    @torch.no_grad()
    def generate_all(self, noise: torch.Tensor, condition: torch.Tensor | None = None) -> torch.Tensor:
        """The generator's outputs (model units, eval mode) for every row of ``noise`` (and its label, for
        a conditional GAN), in batches."""
        was_training = self.model.training
        self.model.eval()
        out = self.in_eval_batches(self.model.generator, noise, *with_condition(condition))
        self.model.train(was_training)
        return out

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """``n`` generated items (n, *data shape) in the training data's units, ``meta.value_range`` —
        [−1, 1] for data loaded with ``normalize=symmetric`` (pixels are (x + 1)/2, ring points
        (x + 1)/2 in the unit square; :meth:`to_raw` does it) — from ``generator``'s noise (the global
        RNG when None), with the generator in eval mode (batch norm uses its running statistics)."""
        return self.generate_all(self.noise_batch(n, generator))

    # -- evaluation -----------------------------------------------------------------------------------
    def judge_source(self) -> tuple[str, Any] | None:
        """Where the classifier that scores samples comes from (``task_args.classifier_run``): ``("run",
        folder)`` for a finished classifier run, ``("train", (folder, epochs))`` for one trained on this
        data on the fly (labelled data, the default ``auto``), or None. The API builds it before
        :func:`~deepzoo.engine.fit` and hands it over with :meth:`use_judge`."""
        choice = self.args["classifier_run"]
        if choice == "none":
            return None
        if choice != "auto":
            return "run", Path(choice)
        if self.data.meta.task != "multiclass":
            return None
        folder = Path(self.config.runs_dir) / self.config.name if self.config.name else None
        return "train", (folder, self.args["classifier_epochs"])

    def use_judge(self, judge) -> None:
        """Score samples with ``judge`` (a :class:`~deepzoo.metrics.gan.JudgeClassifier`, or None)."""
        self.judge = judge
        if judge is not None:
            self.log_lines.append(f"classifier: {judge.run_dir} (sha256 {judge.sha256[:16]}…)")
        else:
            self.log_lines.append("classifier: none (unlabelled data); FCD and coverage need "
                                  "task_args.classifier_run=RUN, a classifier trained on this data")

    def _reference(self, n: int) -> torch.Tensor:
        """``n`` training items (a fixed random subset): the second real sample of the real-vs-real floor."""
        x = self.data.train.x
        index = torch.randperm(len(x), generator=self._seeded(REFERENCE_OFFSET))[:n]
        return x[index]

    @torch.no_grad()
    def evaluate(self, loader, split: str) -> dict[str, float]:
        """Scores of fakes from the fixed evaluation noise against the split's items; a conditional GAN
        fakes each item's label, so both sides hold the same classes."""
        batches = [self.split_batch(self.transfer(b)) for b in loader]
        if not batches:
            return {}
        real = torch.cat([x for x, _ in batches])
        condition = None if batches[0][1] is None else torch.cat([c for _, c in batches])
        fake = self.generate_all(self.noise_batch(len(real), self._seeded(EVAL_NOISE_OFFSET)), condition)
        metrics: dict[str, float] = {}
        if split != "train":  # quality first: the epoch line shows the first few metrics
            if self.judge is not None:
                metrics.update(self.judge_scores(fake, real, condition))
            if "mode_centers" in self.data.meta.extra:
                metrics.update(self.ring_metrics(fake, real))
        metrics.update(d_real=self.mean_probability_real(real, condition),
                       d_fake=self.mean_probability_real(fake, condition))
        if split == "test":
            self.watch_modes(metrics)
        return metrics

    def judge_scores(self, fake: torch.Tensor, real: torch.Tensor, condition: torch.Tensor | None) -> dict[str, float]:
        """The judge's FCD, classifier score and mode coverage of ``fake`` against ``real`` (model units),
        each beside its real-versus-real value."""
        scores = self.judge.scores(self.to_raw(fake), self.to_raw(real),
                                   self.to_raw(self._reference(len(real)).to(self.device)),
                                   self.args["coverage_share"])
        self.last_histogram = self.judge.last_histogram
        return scores

    def mean_probability_real(self, x: torch.Tensor, condition: torch.Tensor | None = None) -> float:
        """The discriminator's mean D(x) over ``x`` (in evaluation batches; given their labels, for a
        conditional GAN)."""
        return float(self.in_eval_batches(self.model.source_logits, x, *with_condition(condition)).sigmoid().mean())

    def ring_metrics(self, fake: torch.Tensor, real: torch.Tensor) -> dict[str, float]:
        """Ring modes covered and high-quality shares of fake and real points (in model units)."""
        from ..metrics.gan import ring_scores

        meta = self.data.meta
        mean, std = (meta.mean[0], meta.std[0]) if meta.mean is not None else (0.0, 1.0)
        centers = (torch.tensor(meta.extra["mode_centers"]) - mean) / std
        return ring_scores(fake.flatten(1), real.flatten(1), centers, meta.extra["mode_std"] / std)

    def watch_modes(self, metrics: dict[str, float]) -> None:
        """Warn when the samples cover fewer than half the classes (or ring modes) the real data covers."""
        for fake_key, real_key, what in (("mode_coverage", "mode_coverage_real", "classes"),
                                         ("modes_covered", "modes_covered_real", "ring modes")):
            if fake_key in metrics and metrics[fake_key] < 0.5 * metrics[real_key]:
                self.warn(f"mode collapse: the samples cover {metrics[fake_key]:.3g} of the {what} against "
                          f"{metrics[real_key]:.3g} for real data; see plots/class_histogram.png")

    # -- epoch and run ends -----------------------------------------------------------------------------
    def on_epoch_end(self, epoch: int, run_dir: Path | None) -> None:
        """The watchdog, and the fixed-noise samples of this epoch (``plots/samples/epoch_NNN.png``)."""
        super().on_epoch_end(epoch, run_dir)
        if run_dir is not None and self.config.train.plots:
            self.save_samples(run_dir / "plots" / "samples" / f"epoch_{epoch:03d}.png", f"epoch {epoch}")

    def save_samples(self, path: Path, title: str) -> None:
        """Fixed-noise samples: an image grid, or for 2-D points a scatter over the training points."""
        from ..plots.gan import points_figure, samples_figure

        if self.model.sample_shape == (2,):
            points = self.generate_all(self.noise_batch(POINT_CLOUD, self._seeded(FIXED_NOISE_OFFSET)))
            points_figure(self.to_raw(points).cpu(), self.to_raw(self.data.train.x).cpu(), path, title)
        else:
            samples_figure(self.generate_all(self.fixed_noise), self.data.meta, path, title)

    def on_train_end(self, run_dir: Path | None) -> dict[str, float]:
        """``generator.safetensors``, ``evaluation.json``, the GIF and the training plots."""
        if run_dir is None:
            return {}
        judge = None if self.judge is None else {"run": str(self.judge.run_dir), "sha256": self.judge.sha256,
                                                 "classes": self.judge.num_classes}
        evaluation = {"classifier": judge, "precision_images_per_second": self.measured,
                      "note": "FCD and classifier score use a deepzoo classifier's features; they are not "
                              "comparable with published Inception FIDs or Inception Scores"}
        self.save_outputs(run_dir, evaluation)
        if self.config.train.plots:
            from ..plots.gan import class_histogram_figure, gan_history_figure, progress_gif

            plots = run_dir / "plots"
            progress_gif(sorted((plots / "samples").glob("epoch_*.png")), plots / "samples.gif")
            gan_history_figure(run_dir / "metrics.csv", plots / "gan_training.png")
            if self.last_histogram is not None:
                class_histogram_figure(*self.last_histogram, self.data.meta.class_names,
                                       plots / "class_histogram.png")
        return {f"train/{p}_images_per_second": v for p, v in self.measured.items()}

    @torch.no_grad()
    def predict(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """The discriminator's probability that each (normalised) item is real."""
        self.model.eval()
        return {"p_real": self.model.discriminator(x.to(self.device)).float().sigmoid()}


TASKS.register("gan", recipe="gan")(GanRecipe)
