"""Unpaired image-to-image translation (task ``cyclegan``): Zhu, Park, Isola & Efros 2017, on two domains
A and B with no pairs (:mod:`deepzoo.data.unpaired`: ``unpaired:DIR``, ``digits-inverted``, ``horse2zebra``).

**Players.** Two optimizers, as the authors' code has them: ``generators`` steps G: A → B and F: B → A
together, ``discriminators`` steps D_A and D_B together. Each player is one module (a
:class:`~deepzoo.recipes.base.Player` of two networks, run through :meth:`Recipe.player`), so under
torchrun each is one DistributedDataParallel. Per batch the generators step first, then the
discriminators on the fakes the generators made before their update, as ``optimize_parameters`` does.

**Losses** (§3–4 of the paper, the official ``cycle_gan_model.py``):

- adversarial, least squares (Mao et al. 2017, the 0-1 coding of Eq. 2; CycleGAN §4 "Training details"):
  G minimises E[(D_B(G(a)) − 1)²] and F E[(D_A(F(b)) − 1)²]; each discriminator minimises
  ½ (E[(D(real) − 1)²] + E[D(fake)²]) — the ½ "slows down the rate at which D learns relative to G".
  D's output is a PatchGAN map of logits; the squares are averaged over every patch;
- cycle consistency (Eq. 2): λ (‖F(G(a)) − a‖₁ + ‖G(F(b)) − b‖₁) with λ = 10 (Eq. 3; ``cycle_weight``);
- identity (§5.2, Taigman et al. 2017): 0.5 λ (‖G(b) − b‖₁ + ‖F(a) − a‖₁) (``identity_weight`` 0.5,
  relative to λ as in the code's ``lambda_identity``), so that a generator fed its own target domain
  leaves it alone — what keeps colours from drifting;
- the generators minimise the sum of the six terms.

**Pool of past fakes** (Shrivastava et al. 2017 §2.3; CycleGAN §4): each discriminator learns on fakes
from a buffer of the last ``pool_size`` (50) generated images: while the buffer fills, a new fake goes
in and to D; after that, with probability ½ D sees an older fake drawn uniformly from the buffer, which
the new one replaces, else the new one (:class:`ImagePool`). The draws come from the recipe's own
seeded generators, never the global RNG, and the buffers and generators are saved in checkpoints, so a
resumed run is exact.

**Paper preset** (``task_args.preset=paper``, the default; §7.1): Adam with lr 0.0002 and β1 = 0.5,
batch 1, 200 epochs — the first half at the constant rate, the second decaying linearly to zero (the
``linear_decay`` scheduler, :mod:`deepzoo.engine.optim`, whose constant part is half the epochs unless
``sched.constant_epochs`` says otherwise). Settings the user gave are kept and the run log says which.
Early stopping is off unless a monitor is named (a GAN's losses do not measure translation quality).

**Metrics** (each epoch on the validation split, at the end on the test split), pixels in [0, 1]:
``cycle_l1_a`` = mean |F(G(a)) − a| and ``cycle_l1_b`` = mean |G(F(b)) − b|; with a judge classifier
(trained on the fly on the labelled unpaired set, or ``task_args.classifier_run=RUN``) the Fréchet
classifier distance of the translations to the target domain, ``fcd_b`` = FCD(G(A), B) and ``fcd_a`` =
FCD(F(B), A), beside ``fcd_identity`` = FCD(A, B) — the identity baseline, output = input; where the
true mapping T is known (``digits-inverted``), ``translation_l1`` = mean |G(a) − T(a)| beside
``translation_l1_identity`` = mean |a − T(a)|, and ``fcd_b_true`` = FCD(T(A), B), the floor a perfect
translation reaches with these samples.

**Outputs.** ``plots/cyclegan.png``: validation images a, G(a), F(G(a)) and, when known, T(a); then b,
F(b), G(F(b)). ``predict`` translates A → B (images in [0, 1]).

**Options** (``--set task_args.KEY=VALUE``): ``preset`` (paper | none), ``cycle_weight`` (λ = 10),
``identity_weight`` (0.5, × λ; 0 turns the identity loss off), ``pool_size`` (50; 0 turns the pool
off), ``classifier_run`` (auto | none | RUN) and ``classifier_epochs`` (10).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from ..config import RunConfig
from ..data import DataBundle, TensorSplit
from ..data.unpaired import UnpairedLoader, true_translation
from ..errors import ConfigError
from ..models import accepted_kwargs, create_model, model_entry
from .base import TASKS, Option, Player, Recipe, apply_preset
from .gan import AdversarialRecipe, GanRecipe, disable_default_early_stopping

CYCLE_WEIGHT = 10.0  # λ, Zhu et al. Eq. 3
IDENTITY_WEIGHT = 0.5  # × λ, §5.2 and the code's lambda_identity
POOL_SIZE = 50  # Shrivastava et al. 2017; CycleGAN §4
POOL_SEED_OFFSETS = {"a": 21, "b": 22}  # the pools' generators, seeded from the run's seed
SHOWN = 6  # validation images in plots/cyclegan.png
# Zhu et al. §7.1: Adam (β1 = 0.5), lr 0.0002, batch 1, 100 epochs constant then 100 decaying to zero.
CYCLEGAN_PRESET = {"optim.name": "adam", "optim.lr": 2e-4, "optim.betas": (0.5, 0.999), "train.batch_size": 1,
                   "train.epochs": 200, "sched.name": "linear_decay"}


# -- losses -------------------------------------------------------------------------------------------------


def lsgan_discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """½ (E[(D(real) − 1)²] + E[D(fake)²]): least squares with targets 1 and 0 (Mao et al. 2017, Eq. 2),
    halved as CycleGAN halves its discriminators' loss."""
    return 0.5 * (F.mse_loss(real_logits, torch.ones_like(real_logits))
                  + F.mse_loss(fake_logits, torch.zeros_like(fake_logits)))


def lsgan_generator_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """E[(D(G(x)) − 1)²]: the generator pulls D's output on its fakes to the real target (Mao et al. Eq. 2)."""
    return F.mse_loss(fake_logits, torch.ones_like(fake_logits))


def cycle_loss(reconstructed: torch.Tensor, original: torch.Tensor) -> torch.Tensor:
    """‖F(G(x)) − x‖₁ averaged over pixels (Zhu et al. Eq. 2), also the identity loss's ‖G(y) − y‖₁."""
    return F.l1_loss(reconstructed, original)


# -- the pool of past fakes -----------------------------------------------------------------------------------


class ImagePool:
    """A buffer of up to ``size`` past fakes (Shrivastava et al. 2017 §2.3, as CycleGAN's ``ImagePool``).

    :meth:`query` returns, for each new fake, the fake itself while the buffer fills; once it is full,
    with probability ½ an older fake drawn uniformly from the buffer (the new one takes its place), else
    the new fake. The draws come from the pool's own seeded ``torch.Generator``; :meth:`state_dict`
    holds the buffer and the generator, so a resumed run draws and returns exactly what it would have.
    """

    def __init__(self, size: int, seed: int):
        self.size = size
        self.images: torch.Tensor | None = None  # (stored, C, H, W), on the fakes' device
        self.generator = torch.Generator()
        self.generator.manual_seed(seed)

    @torch.no_grad()
    def query(self, fakes: torch.Tensor) -> torch.Tensor:
        """The batch the discriminator learns on in place of ``fakes`` (detached)."""
        fakes = fakes.detach()
        if self.size == 0:
            return fakes
        if self.images is not None and self.images.device != fakes.device:
            self.images = self.images.to(fakes.device)
        out = []
        for fake in fakes:
            stored = 0 if self.images is None else len(self.images)
            if stored < self.size:
                new = fake[None].clone()
                self.images = new if self.images is None else torch.cat([self.images, new])
                out.append(fake)
            elif torch.rand((), generator=self.generator) < 0.5:
                index = int(torch.randint(self.size, (), generator=self.generator))
                out.append(self.images[index].clone())
                self.images[index] = fake
            else:
                out.append(fake)
        return torch.stack(out)

    def state_dict(self) -> dict[str, Any]:
        images = torch.empty(0) if self.images is None else self.images.cpu()
        return {"images": images, "generator": self.generator.get_state()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.images = state["images"] if len(state["images"]) else None
        self.generator.set_state(state["generator"])


# -- the recipe -------------------------------------------------------------------------------------------------


class CycleGanRecipe(AdversarialRecipe):
    """CycleGAN on an unpaired set: the game of two generator–discriminator pairs with cycle and identity
    losses. From :class:`~deepzoo.recipes.gan.AdversarialRecipe` it keeps the discriminator watchdog, the
    warnings and their checkpointed state; the one-generator BCE game options (``k``, ``saturating``,
    ``label_smoothing``, ``fresh_noise``) do not apply to this least-squares game of two pairs, so its
    ``__init__`` starts from :class:`Recipe`'s."""

    data_defaults = {"normalize": "symmetric"}
    phases = ("generators", "discriminators")
    default_monitor = "train/generators/loss"
    options: ClassVar[dict[str, Option]] = {
        "preset": Option("paper", "paper: Adam lr 2e-4, β1 0.5, batch 1, 200 epochs, linear decay over the second "
                         "half (Zhu et al. §7.1); none keeps the config", choices=("paper", "none")),
        "cycle_weight": Option(CYCLE_WEIGHT, "λ, the weight of the cycle-consistency loss (Eq. 3)"),
        "identity_weight": Option(IDENTITY_WEIGHT, "the identity loss's weight as a fraction of λ (0: off)"),
        "pool_size": Option(POOL_SIZE, "past fakes each discriminator draws from (0: the newest fakes only)"),
        "classifier_run": GanRecipe.options["classifier_run"],
        "classifier_epochs": GanRecipe.options["classifier_epochs"],
    }
    # the judge classifier of the translations is the GAN's: a finished classifier run, or one trained on
    # the (labelled) unpaired set before the run starts
    judge_source = GanRecipe.judge_source
    use_judge = GanRecipe.use_judge

    def __init__(self, config: RunConfig, data: DataBundle):
        Recipe.__init__(self, config, data)
        self.warnings: list[str] = []
        self._d_losses: list[torch.Tensor] = []
        self.watch = {"low_run": 0, "longest_low_run": 0, "warned": 0}
        name, meta = config.model.name, data.meta
        if model_entry(name).meta.get("task") != "cyclegan":
            raise ConfigError(f"task cyclegan trains the cyclegan model; {name} is not it")
        if "class_domain" not in meta.extra:
            raise ConfigError(f"{meta.name}: task cyclegan needs two unpaired image domains (unpaired:DIR, "
                              "digits-inverted, horse2zebra)")
        if tuple(meta.value_range or ()) != (-1.0, 1.0):
            raise ConfigError(f"{meta.name}: the generators' tanh output needs images in [-1, 1]; load them with "
                              "--set data.normalize=symmetric")
        channels, height, width = meta.input_shape
        if height != width:
            raise ConfigError(f"{meta.name}: images of {height}×{width}; CycleGAN here trains on square images "
                              "(give size=S)")
        for key in ("cycle_weight", "identity_weight", "pool_size"):
            if self.args[key] < 0:
                raise ConfigError(f"task_args.{key}={self.args[key]} must not be negative")
        if self.args["preset"] == "paper":
            self.log_lines.append(apply_preset(config, CYCLEGAN_PRESET, "Zhu et al. 2017 §7.1"))
        self.log_lines.append(disable_default_early_stopping(config, "valid/fcd_b"))
        candidates = {"channels": channels, "image_size": height}
        self.model = create_model(name, **{**accepted_kwargs(name, candidates), **config.model.args})
        self.cycle_weight = self.args["cycle_weight"]
        self.identity_weight = self.args["identity_weight"] * self.cycle_weight
        self.pools = {domain: ImagePool(self.args["pool_size"], config.seed + offset)
                      for domain, offset in POOL_SEED_OFFSETS.items()}
        self.generators = Player(self.translate, ab=self.model.generator_ab, ba=self.model.generator_ba)
        self.discriminators = Player(self.discriminate_domains, a=self.model.discriminator_a,
                                     b=self.model.discriminator_b)
        self.translation = true_translation(meta)
        self.domain_of_class = torch.tensor(meta.extra["class_domain"])
        if data.train is not None:
            a, b = self.domains(data.train)
            if not len(a) or not len(b):
                raise ConfigError(f"{meta.name}: the training split holds no images of domain {'B' if len(a) else 'A'}")
        self._fakes: tuple[torch.Tensor, torch.Tensor] | None = None
        self.judge = None
        self.log_lines.append(f"game: least-squares GAN, cycle λ={self.cycle_weight:g}, identity "
                              f"{self.identity_weight:g}, pool of {self.args['pool_size']} past fakes each")

    # -- players --------------------------------------------------------------------------------------------
    def optimizer_modules(self) -> dict[str, nn.Module]:
        return {"generators": self.generators, "discriminators": self.discriminators}

    def translate(self, real_a: torch.Tensor, real_b: torch.Tensor) -> dict[str, torch.Tensor]:
        """The generators' forward for one batch: G(a), F(b), the cycles F(G(a)) and G(F(b)) and, with the
        identity loss, G(b) and F(a). G reads a and b in one batch (as F reads b and a): instance norm
        normalises each image on its own, so this is the same as two calls."""
        g, f = self.model.generator_ab, self.model.generator_ba
        if self.identity_weight > 0:
            fake_b, same_b = g(torch.cat([real_a, real_b])).split(len(real_a))
            fake_a, same_a = f(torch.cat([real_b, real_a])).split(len(real_b))
        else:
            fake_b, same_b, fake_a, same_a = g(real_a), None, f(real_b), None
        return {"fake_b": fake_b, "fake_a": fake_a, "cycled_a": f(fake_b), "cycled_b": g(fake_a),
                "same_b": same_b, "same_a": same_a}

    def discriminate_domains(self, images_a: torch.Tensor, images_b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The discriminators' forward: D_A's logit map for images of domain A, D_B's for domain B."""
        return self.model.discriminator_a(images_a), self.model.discriminator_b(images_b)

    # -- steps -------------------------------------------------------------------------------------------------
    def training_step(self, batch, phase: str) -> dict[str, torch.Tensor]:
        real_a, real_b = batch
        if phase == "generators":
            return self.generators_step(real_a, real_b)
        return self.discriminators_step(real_a, real_b)

    def generators_step(self, real_a: torch.Tensor, real_b: torch.Tensor) -> dict[str, torch.Tensor]:
        """G and F through the frozen discriminators: adversarial + λ·cycle + 0.5λ·identity (Eq. 3)."""
        out = self.player("generators")(real_a, real_b)
        logits_a, logits_b = self.player("discriminators", frozen=True)(out["fake_a"], out["fake_b"])
        adversarial = lsgan_generator_loss(logits_b) + lsgan_generator_loss(logits_a)
        cycle = cycle_loss(out["cycled_a"], real_a) + cycle_loss(out["cycled_b"], real_b)
        loss = adversarial + self.cycle_weight * cycle
        terms = {"adversarial": adversarial.detach(), "cycle": cycle.detach()}
        if self.identity_weight > 0:
            identity = cycle_loss(out["same_b"], real_b) + cycle_loss(out["same_a"], real_a)
            loss = loss + self.identity_weight * identity
            terms["identity"] = identity.detach()
        self._fakes = (out["fake_a"].detach(), out["fake_b"].detach())
        return {"loss": loss, **terms}

    def discriminators_step(self, real_a: torch.Tensor, real_b: torch.Tensor) -> dict[str, torch.Tensor]:
        """D_A on real a against F(b), D_B on real b against G(a) — the fakes of this batch's generator step,
        through the pools."""
        fake_a, fake_b = self._fakes
        self._fakes = None
        fake_a, fake_b = self.pools["a"].query(fake_a), self.pools["b"].query(fake_b)
        logits_a, logits_b = self.player("discriminators")(torch.cat([real_a, fake_a]), torch.cat([real_b, fake_b]))
        n = len(real_a)
        loss_a = lsgan_discriminator_loss(logits_a[:n], logits_a[n:])
        loss_b = lsgan_discriminator_loss(logits_b[:n], logits_b[n:])
        loss = loss_a + loss_b
        self._d_losses.append(loss.detach())
        return {"loss": loss, "loss_a": loss_a.detach(), "loss_b": loss_b.detach()}

    # -- data ----------------------------------------------------------------------------------------------------
    def domains(self, split: TensorSplit) -> tuple[torch.Tensor, torch.Tensor]:
        """A split's images of domain A and of domain B (by the domain of each item's class)."""
        domain = self.domain_of_class[split.y.cpu()].to(split.x.device)
        return split.x[domain == 0], split.x[domain == 1]

    def loader(self, split: str, batch_size: int, *, shuffle: bool = False, seed: int = 0,
               rank: int = 0, world_size: int = 1):
        """Training batches (a, b) with each domain in its own order (:class:`UnpairedLoader`); the other
        splits as labelled images, which :meth:`evaluate` sorts by domain."""
        if split != "train" or not shuffle:
            return Recipe.loader(self, split, batch_size, shuffle=shuffle, seed=seed, rank=rank,
                                 world_size=world_size)
        a, b = (x.to(self.device) for x in self.domains(self.data.train))
        return UnpairedLoader(a, b, batch_size, seed=seed, rank=rank, world_size=world_size)

    # -- evaluation ----------------------------------------------------------------------------------------------
    @torch.no_grad()
    def translate_all(self, generator: nn.Module, x: torch.Tensor) -> torch.Tensor:
        """``generator`` (eval mode) on every image of ``x``, in evaluation batches."""
        was_training = self.model.training
        self.model.eval()
        size = self.config.train.eval_batch_size
        out = torch.cat([generator(x[i:i + size]).float() for i in range(0, len(x), size)])
        self.model.train(was_training)
        return out

    @torch.no_grad()
    def evaluate(self, loader, split: str) -> dict[str, float]:
        batches = [self.transfer(batch) for batch in loader]
        if not batches:
            return {}
        a, b = self.domains(TensorSplit(torch.cat([x for x, _ in batches]), torch.cat([y for _, y in batches])))
        if not len(a) or not len(b):
            return {}
        fake_b = self.translate_all(self.model.generator_ab, a)
        fake_a = self.translate_all(self.model.generator_ba, b)
        pixels = {"a": to_pixels(a), "b": to_pixels(b), "fake_b": to_pixels(fake_b), "fake_a": to_pixels(fake_a)}
        metrics: dict[str, float] = {}
        true_b = None if self.translation is None else self.translation(pixels["a"])
        if true_b is not None:
            metrics["translation_l1"] = mean_l1(pixels["fake_b"], true_b)
            metrics["translation_l1_identity"] = mean_l1(pixels["a"], true_b)
        if self.judge is not None and split != "train" and min(len(a), len(b)) > 1:
            from ..metrics.gan import feature_frechet_distance as feature_fcd

            features = {key: self.judge.outputs(images)[0] for key, images in pixels.items()}
            metrics["fcd_b"] = feature_fcd(features["fake_b"], features["b"])
            metrics["fcd_a"] = feature_fcd(features["fake_a"], features["a"])
            metrics["fcd_identity"] = feature_fcd(features["a"], features["b"])
            if true_b is not None:
                metrics["fcd_b_true"] = feature_fcd(self.judge.outputs(true_b)[0], features["b"])
        metrics["cycle_l1_a"] = mean_l1(to_pixels(self.translate_all(self.model.generator_ba, fake_b)), pixels["a"])
        metrics["cycle_l1_b"] = mean_l1(to_pixels(self.translate_all(self.model.generator_ab, fake_a)), pixels["b"])
        return metrics

    # -- outputs ------------------------------------------------------------------------------------------------------
    def picture_columns(self, images: torch.Tensor, domain: str = "a") -> list[tuple[str, torch.Tensor]]:
        """Columns of pixels for a figure: ``images`` of ``domain`` (model units), translated and cycled back —
        A, G(A), F(G(A)) and, where the mapping is known, the true B; or B, F(B), G(F(B))."""
        there, back = self.model.generator_ab, self.model.generator_ba
        names = ("A", "G(A)", "F(G(A))")
        if domain == "b":
            there, back, names = back, there, ("B", "F(B)", "G(F(B))")
        images = images.to(self.device)
        translated = self.translate_all(there, images)
        columns = [(name, to_pixels(x).cpu()) for name, x in zip(names, (images, translated,
                                                                          self.translate_all(back, translated)))]
        if domain == "a" and self.translation is not None:
            columns.append(("true B", self.translation(columns[0][1])))
        return columns

    def on_train_end(self, run_dir: Path | None) -> dict[str, float]:
        """``plots/cyclegan.png`` and ``plots/cyclegan_b.png``: validation (else test) images of each domain,
        translated and cycled back."""
        split = self.data.valid if self.data.valid is not None and len(self.data.valid) else self.data.test
        if run_dir is None or not self.config.train.plots or split is None or not len(split):
            return {}
        from ..plots.gan import sr_comparison_figure

        for domain, images in zip("ab", self.domains(split)):
            if len(images):
                path = run_dir / "plots" / ("cyclegan.png" if domain == "a" else "cyclegan_b.png")
                title = "A → B → A" if domain == "a" else "B → A → B"
                sr_comparison_figure(self.picture_columns(images[:SHOWN], domain), path, title)
        return {}

    @torch.no_grad()
    def predict(self, x: torch.Tensor) -> dict[str, Any]:
        """A → B translations in [0, 1] of (normalised) domain-A images."""
        return {"image": to_pixels(self.translate_all(self.model.generator_ab, x.to(self.device))).clamp(0, 1)}

    # -- checkpointed state --------------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        return {**super().state_dict(), "pools": {domain: pool.state_dict() for domain, pool in self.pools.items()}}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        for domain, pool in self.pools.items():
            pool.load_state_dict(state["pools"][domain])


def to_pixels(x: torch.Tensor) -> torch.Tensor:
    """Model units ([−1, 1]) → pixels in [0, 1]."""
    return (x.float() + 1) / 2


def mean_l1(x: torch.Tensor, y: torch.Tensor) -> float:
    """The mean absolute difference of two image batches."""
    return float((x - y).abs().mean())


TASKS.register("cyclegan", recipe="cyclegan")(CycleGanRecipe)
