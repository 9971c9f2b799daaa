"""Class-conditional GANs (tasks ``cgan`` and ``acgan``): DCGAN's game with the label in both players.

**cGAN** (Mirza & Osindero 2014): G(z, y) and D(x, y) (:mod:`deepzoo.models.conditional_gan`); the game
and its losses are the unconditional GAN's (:mod:`deepzoo.recipes.gan`: BCE on logits, non-saturating
generator loss, k discriminator steps, reused fakes), every term now conditioned on y (Eq. 2).

**AC-GAN** (Odena, Olah & Shlens 2017 §3): D reads only the image and predicts its source S and its class
C. With L_S = E[log P(S = real | X_real)] + E[log P(S = fake | X_fake)] and L_C = E[log P(C = c | X_real)]
+ E[log P(C = c | X_fake)], "D is trained to maximize L_S + L_C while G is trained to maximize L_C − L_S":
the class term is in **both** players' losses, and D's covers real **and** fake items. As a loss here:
D minimises BCE(S) + CE(C on reals) + CE(C on fakes); G minimises its source term — non-saturating
−log D(G(z)) by default, as for every GAN here — plus CE(C on fakes). The class logits go to
``cross_entropy`` directly (no Softmax first).

**Labels.** Real items are shown with their own labels; the fakes of a batch are generated for the same
labels — a draw from the data's class distribution p_c (Odena et al.: c ~ p_c) that needs no extra random
numbers and gives D the same class mix on both sides. The data must be labelled classes (``digits``,
an image folder ...); images are fitted to DCGAN's sizes as for ``dcgan`` (8×8 digits stay 8×8, or are
upsampled to ``model.image_size``).

**Paper preset** (``task_args.preset=paper``): the backbone's settings, Adam lr 0.0002, β1 = 0.5, batch 128
(Radford et al. §4). Mirza & Osindero's own settings (SGD with momentum 0.5 → 0.7, lr 0.1 decaying,
dropout 0.5) are for their MLPs, not for a DCGAN.

**Evaluation.** Everything the unconditional recipe reports (FCD, classifier score, coverage, D outputs),
with the fakes generated for the split's own labels, plus, from the same judge classifier:
``conditional_accuracy`` (the share of fakes the judge assigns to the class they were generated for;
``conditional_accuracy_real``, the judge's accuracy on the real items, is its ceiling), and the FCD of each
class's fakes against that class's real items, ``fcd_class_<k>``, beside ``fcd_class_<k>_real_floor``
(that class's real items against as many training items of the class) and their means over the classes.

**Samples.** ``plots/samples/epoch_NNN.png`` holds one row per class; each column keeps its noise vector
down the rows, so a column is one "style" drawn as every class. :meth:`ConditionalGanRecipe.sample`
takes the labels (indices or class names; ``deepzoo sample RUN --label 7``).
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from ..config import RunConfig
from ..data import DataBundle
from ..errors import ConfigError
from .base import TASKS
from .gan import DCGAN_OPTIMIZER, FIXED_NOISE_OFFSET, REFERENCE_OFFSET, GanRecipe, discriminator_loss, generator_loss

# Radford et al. 2015 §4, the backbone's settings.
CONDITIONAL_PRESETS: dict[str, tuple[str, dict[str, Any]]] = {
    name: ("the DCGAN backbone's, Radford et al. 2015 §4", {**DCGAN_OPTIMIZER, "train.batch_size": 128})
    for name in ("cgan", "acgan")
}
GRID_COLUMNS = 8  # fixed-noise samples per class in the epoch grids


# -- AC-GAN's losses ----------------------------------------------------------------------------------


def acgan_discriminator_loss(real_source: torch.Tensor, real_classes: torch.Tensor, fake_source: torch.Tensor,
                             fake_classes: torch.Tensor, labels: torch.Tensor,
                             real_label: float = 1.0) -> dict[str, torch.Tensor]:
    """D's loss −(L_S + L_C) of Odena et al. §3 from logits: the source BCE (real vs fake, one-sided
    smoothing with ``real_label`` < 1) plus the class cross-entropy on real items and on fakes, each a mean
    over its items; ``labels`` are the reals' classes and the classes the fakes were generated for."""
    source = discriminator_loss(real_source, fake_source, real_label)
    classes = F.cross_entropy(real_classes, labels) + F.cross_entropy(fake_classes, labels)
    return {"loss": source + classes, "source_loss": source, "class_loss": classes}


def acgan_generator_loss(fake_source: torch.Tensor, fake_classes: torch.Tensor, labels: torch.Tensor,
                         saturating: bool = False) -> dict[str, torch.Tensor]:
    """G's loss −(L_C − L_S) of Odena et al. §3, with the source term non-saturating (−log D(G(z))) unless
    ``saturating``: the adversarial term plus the class cross-entropy of the fakes for their labels."""
    adversarial = generator_loss(fake_source, saturating)
    classes = F.cross_entropy(fake_classes, labels)
    return {"loss": adversarial + classes, "adversarial": adversarial, "class_loss": classes}


# -- the recipes ----------------------------------------------------------------------------------------


class ConditionalGanRecipe(GanRecipe):
    """cGAN (task ``cgan``): the unconditional recipe's game with the labels in both players."""

    model_task = "cgan"
    model_names = "the cgan model"
    presets = CONDITIONAL_PRESETS
    conditional = True

    def __init__(self, config: RunConfig, data: DataBundle):
        meta = data.meta
        if meta.task not in ("multiclass", "binary") or (meta.num_classes or 0) < 2:
            raise ConfigError(f"{meta.name}: task {config.task} generates a chosen class and needs items labelled "
                              f"with classes (such as digits), not {meta.task} data")
        super().__init__(config, data)
        if self.model.num_classes != meta.num_classes:
            raise ConfigError(f"model.num_classes={self.model.num_classes}: {meta.name} has {meta.num_classes} "
                              "classes; leave it out to take the data's")
        k = meta.num_classes
        self.class_names = list(meta.class_names or map(str, range(k)))
        self.fixed_labels = torch.arange(k).repeat_interleave(GRID_COLUMNS)
        self.fixed_noise = self.noise_batch(GRID_COLUMNS, self._seeded(FIXED_NOISE_OFFSET)).repeat(k, 1)

    def discriminate(self, x: torch.Tensor, condition: torch.Tensor | None = None,
                     frozen: bool = False) -> torch.Tensor:
        """D(x, y): the items shown with their labels (Mirza & Osindero Eq. 2)."""
        return self.player("discriminator", frozen)(x, condition)

    # -- labels and sampling -------------------------------------------------------------------------
    def class_indices(self, labels: int | str | Sequence[int | str] | None) -> list[int]:
        """Class indices for ``labels`` — class names or indices, one or several; every class when None.

        A label is first matched against the class names (digits' names are "0" to "9"), then read as an
        index; anything else is a :class:`ConfigError` in one line with the closest names."""
        names = self.class_names
        if labels is None:
            return list(range(len(names)))
        out = []
        for label in [labels] if isinstance(labels, (int, str)) else labels:
            text = str(label).strip()
            if text in names:
                out.append(names.index(text))
            elif text.lstrip("-").isdigit() and 0 <= int(text) < len(names):
                out.append(int(text))
            else:
                close = difflib.get_close_matches(text, names, n=3)
                hint = f"; did you mean {', '.join(close)}?" if close else ""
                raise ConfigError(f"label {text!r} is not a class of {self.data.meta.name}{hint} "
                                  f"(classes: {', '.join(names)}, or their indices 0-{len(names) - 1})")
        return out

    def sample(self, n: int, generator: torch.Generator | None = None,
               labels: int | str | Sequence[int | str] | None = None) -> torch.Tensor:
        """``n`` generated items of each class in ``labels`` (names or indices; every class when None),
        grouped by class in the order given, in the training data's units ([−1, 1]), from ``generator``'s
        noise (the global RNG when None), the generator in eval mode."""
        classes = self.sample_labels(n, labels)
        return self.generate_all(self.noise_batch(len(classes), generator), classes)

    def sample_labels(self, n: int, labels: int | str | Sequence[int | str] | None = None) -> torch.Tensor:
        """The class of each item :meth:`sample` returns for the same ``n`` and ``labels``."""
        return torch.tensor(self.class_indices(labels)).repeat_interleave(n)

    # -- evaluation -----------------------------------------------------------------------------------
    def judge_scores(self, fake: torch.Tensor, real: torch.Tensor, condition: torch.Tensor | None) -> dict[str, float]:
        """The unconditional scores plus conditional accuracy and the per-class FCDs (their floors from
        as many training items of each class)."""
        scores = super().judge_scores(fake, real, condition)
        reference = self._class_reference(condition)
        scores.update(self.judge.conditional_scores(self.to_raw(fake), self.to_raw(real),
                                                    self.to_raw(reference.to(self.device)), condition.cpu()))
        return scores

    def _class_reference(self, labels: torch.Tensor) -> torch.Tensor:
        """Training items with the same labels as ``labels``, item for item (a fixed random choice within
        each class; a class with fewer training items than asked repeats them)."""
        train = self.data.train
        order = torch.randperm(len(train.x), generator=self._seeded(REFERENCE_OFFSET))
        labels = labels.cpu()
        index = torch.empty(len(labels), dtype=torch.long)
        for k in labels.unique():
            pool = order[train.y[order] == k]
            wanted = (labels == k).nonzero().flatten()
            index[wanted] = pool[torch.arange(len(wanted)) % len(pool)]
        return train.x[index]

    # -- outputs ------------------------------------------------------------------------------------
    def save_samples(self, path: Path, title: str) -> None:
        """The fixed-noise grid: one row per class, one noise vector per column."""
        from ..plots.gan import class_rows_figure

        samples = self.generate_all(self.fixed_noise, self.fixed_labels)
        class_rows_figure(samples, self.fixed_labels, self.class_names, self.data.meta, path, title)

    def predict(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """cGAN's discriminator needs a label with every item: it has no label-free prediction."""
        raise NotImplementedError


class AuxiliaryClassifierGanRecipe(ConditionalGanRecipe):
    """AC-GAN (task ``acgan``): D predicts the source and the class; both players' losses hold the class
    cross-entropy (Odena et al. §3)."""

    model_task = "acgan"
    model_names = "the acgan model"

    def describe_game(self) -> str:
        return super().describe_game() + ("; plus the auxiliary classifier's cross-entropy, for D on real "
                                          "and fake items, for G on its fakes (Odena et al. 2017 §3)")

    def discriminate(self, x: torch.Tensor, condition: torch.Tensor | None = None,
                     frozen: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
        """D(x) → (source logits, class logits); the labels are what D predicts, not an input."""
        return self.player("discriminator", frozen)(x)

    def discriminator_step(self, real: torch.Tensor, labels: torch.Tensor) -> dict[str, torch.Tensor]:
        fake = self.discriminator_fakes(labels, len(real))
        real_source, real_classes = self.discriminate(real)
        fake_source, fake_classes = self.discriminate(fake.detach())
        out = acgan_discriminator_loss(real_source, real_classes, fake_source, fake_classes, labels, self.real_label)
        self._d_losses.append(out["source_loss"].detach())  # the watchdog reads the real-vs-fake game
        return {**out, "d_real": real_source.detach().sigmoid().mean(),
                "d_fake": fake_source.detach().sigmoid().mean(),
                "class_accuracy_real": (real_classes.detach().argmax(1) == labels).float().mean()}

    def generator_step(self, real: torch.Tensor, labels: torch.Tensor) -> dict[str, torch.Tensor]:
        fake = self.generator_fakes(labels, len(real))
        source, classes = self.discriminate(fake, frozen=True)
        out = acgan_generator_loss(source, classes, labels, self.saturating)
        return {**out, "d_fake": source.detach().sigmoid().mean()}

    @torch.no_grad()
    def predict(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """The discriminator's probability that each (normalised) item is real, and its auxiliary
        classifier's class probabilities."""
        self.model.eval()
        source, classes = self.model.discriminator(x.to(self.device))
        return {"p_real": source.float().sigmoid(), "probability": classes.float().softmax(1)}


TASKS.register("cgan", recipe="conditional_gan")(ConditionalGanRecipe)
TASKS.register("acgan", recipe="conditional_gan")(AuxiliaryClassifierGanRecipe)
