"""Autoencoders: train any model of the family to reconstruct its input (task ``reconstruct``).

The recipe is the one place where the family's training logic lives; the four uses of a trained
autoencoder (``embed``, ``anomaly``, ``denoise``, ``colorize``) subclass it in :mod:`.autoencoder_uses`.

- **Learning rate.** Adam at 3e-3 unless the user sets ``optim.lr`` (``ADAM_DEFAULTS``): twice as few
  epochs as 1e-3 to the same reconstruction error on digits. The adversarial autoencoder keeps Adam's
  1e-3: on other data (16×16 photo crops) its adversarial phases make 3e-3 seven times worse.
- **Loss.** The model's own ``loss`` (see :mod:`deepzoo.models.autoencoders`): the reconstruction loss
  follows the data range — inputs in [0, 1] get BCE with a sigmoid output (a Bernoulli decoder), real
  values squared error with a linear output — and the run log prints the model's ``recon_reason``.
  ``data_defaults = {"normalize": "none"}`` keeps images in [0, 1] unless the user asks otherwise.
- **Step.** ``x̃ = corrupt(x)`` (identity unless the model has input noise), ``out = model(x̃)``,
  ``loss(x̃, out, target)`` with target = the clean input (Vincent et al. 2008) or, for colourisation,
  the colour image. Noise and prior samples come from the recipe's own seeded generator, saved in the
  checkpoint, so a resumed run draws the same numbers.
- **Adversarial autoencoder** (Makhzani et al. 2016, §2): three optimizers per batch — ``autoencoder``
  (encoder + decoder on the reconstruction loss), ``discriminator`` (on prior codes vs. data codes) and
  ``generator`` (the encoder, to fool the discriminator).
- **Metrics.** ``loss`` (the model's total, on the same corruption every epoch) and ``mse``, the mean
  squared reconstruction error per component in data units (deterministic: μ for a VAE).
- **Plots.** Each epoch: a grid of validation items and their reconstructions, and for models with a
  prior (vae, aae) samples decoded from the same fixed noise every epoch (``plots/reconstructions/``,
  ``plots/samples/``); at the end the same for the best weights (``plots/reconstructions.png``,
  ``plots/samples.png``).
- **Options.** ``reconstruct``, ``denoise`` and ``colorize`` take no ``task_args`` (any key is an
  error); ``embed`` and ``anomaly`` declare theirs in :mod:`.autoencoder_uses`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..config import RunConfig
from ..data import DataBundle, DatasetMeta
from ..errors import ConfigError
from ..models import accepted_kwargs, create_model, list_models, model_entry
from ..runtime import rank_share
from .base import TASKS, Player, Recipe, apply_preset
from .gan import discriminator_loss

AUTOENCODER_FAMILY = "autoencoder"
SHOWN_EXAMPLES = 8  # items in a reconstruction grid
SHOWN_SAMPLES = 64  # samples in a sample grid (8 × 8)
# Seeds derived from the run's seed: training noise, evaluation noise (the same every epoch), sample noise.
TRAIN_NOISE_OFFSET, EVAL_NOISE_OFFSET = 1, 2
#: The family's Adam learning rate unless the user sets one, for every variant but the adversarial
#: autoencoder. Chosen on digits (benchmarks/RESULTS.md, "Autoencoders"): 3e-3 reaches a test MSE of 0.02
#: in 11 epochs where the usual 1e-3 needs 22. On other data (16×16 crops of two photos, 15 epochs) it
#: beats 1e-3 for the six non-adversarial variants too, but the aae's MSE is 0.101 against 0.0137 at
#: 1e-3, so the aae keeps 1e-3.
ADAM_DEFAULTS = {"optim.lr": 3e-3}


def autoencoder_names() -> list[str]:
    """The registered models of the autoencoder family."""
    return [n for n in list_models() if model_entry(n).meta.get("family") == AUTOENCODER_FAMILY]


def per_item_mse(output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean squared error over the components of each item: (N,)."""
    return (output.float() - target.float()).square().flatten(1).mean(1)


def data_span(meta: DatasetMeta, reference: torch.Tensor) -> float:
    """max − min of the data: from ``meta.value_range``, or from ``reference`` when standardised."""
    if meta.value_range is not None:
        return float(meta.value_range[1] - meta.value_range[0])
    return float(reference.max() - reference.min())


class AutoencoderRecipe(Recipe):
    """Train an autoencoder of the family to reconstruct its (possibly corrupted) input."""

    data_defaults = {"normalize": "none"}
    #: labels of the rows of the reconstruction grids: what the model reads, what it returns, the target
    row_labels = ("input", "reconstruction", "target")

    def __init__(self, config: RunConfig, data: DataBundle):
        super().__init__(config, data)
        self.task = config.task or "reconstruct"
        self.model = self.build_model(config, data.meta)
        self.adversarial = hasattr(self.model, "discriminator_loss")
        if config.optim.name in ("adam", "adamw") and not self.adversarial:
            self.log_lines.append(apply_preset(config, ADAM_DEFAULTS, "measured on digits", kind="autoencoder default"))
        if self.adversarial:
            self.phases = ("autoencoder", "discriminator", "generator")
            model = self.model
            self.players = {"autoencoder": Player(model.forward, encoder=model.encoder, decoder=model.decoder),
                            "discriminator": model.discriminator,
                            "generator": Player(model.encode, encoder=model.encoder)}
        self.rng: torch.Generator | None = None
        self.log_lines.append(f"task: {self.task} with {config.model.name}"
                              + (" (phases: autoencoder, discriminator, generator)" if self.adversarial else ""))
        self.log_lines.append(self.model.recon_reason)

    # -- the model ------------------------------------------------------------------------------
    def model_kwargs(self, meta: DatasetMeta) -> dict[str, Any]:
        """What the data (and the task) tell the constructor; ``--set model.X=...`` overrides it."""
        return {"input_shape": tuple(meta.input_shape), "value_range": meta.value_range}

    def build_model(self, config: RunConfig, meta: DatasetMeta) -> nn.Module:
        """The autoencoder named by the config; other families are a one-line error."""
        name = config.model.name
        family = model_entry(name).meta.get("family")
        if family != AUTOENCODER_FAMILY:
            raise ConfigError(f"task {self.task} trains autoencoders ({', '.join(autoencoder_names())}); "
                              f"{name} is not one of them (family {family or 'unknown'})")
        if config.data.augment:
            raise ConfigError(f"task {self.task} does not take data.augment: the target is the input itself")
        if config.model.freeze:
            raise ConfigError("model.freeze is for supervised fine-tuning; the autoencoder tasks train every layer")
        kwargs = {**accepted_kwargs(name, self.model_kwargs(meta)), **config.model.args}
        return create_model(name, weights=config.model.weights, **kwargs)

    def optimizer_modules(self) -> dict[str, nn.Module]:
        return self.players if self.adversarial else {"model": self.model}

    # -- randomness ----------------------------------------------------------------------------
    def noise_generator(self) -> torch.Generator:
        """The generator of training noise and prior samples (seeded, checkpointed)."""
        if self.rng is None:
            self.rng = torch.Generator(device=self.device)
            self.rng.manual_seed(self.config.seed + TRAIN_NOISE_OFFSET)
        return self.rng

    def fresh_generator(self, offset: int) -> torch.Generator:
        """A generator seeded anew: the same numbers every call (evaluation noise, fixed sample noise)."""
        generator = torch.Generator(device=self.device)
        generator.manual_seed(self.config.seed + offset)
        return generator

    def state_dict(self) -> dict[str, Any]:
        return {} if self.rng is None else {"rng": self.rng.get_state()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if "rng" in state:
            self.noise_generator().set_state(state["rng"])

    # -- training --------------------------------------------------------------------------------
    def inputs_and_target(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """What the model reads and what its output must match: the item itself for reconstruction."""
        return x, x

    def training_step(self, batch, phase: str) -> dict[str, torch.Tensor]:
        """The reconstruction step (``phase`` ``model``, or an adversarial autoencoder's ``autoencoder``)
        and the adversarial autoencoder's two others: the discriminator on prior codes against the
        (frozen) encoder's codes, then the encoder through the frozen discriminator (Makhzani et al. §2).
        Each player that steps runs through :meth:`player` (its own DDP under torchrun); the
        discriminator's loss is the GAN's (:func:`.gan.discriminator_loss`, the model's own formula) so
        that its forward can go through its wrapper."""
        x, target = self.inputs_and_target(batch[0])
        if phase == "discriminator":
            total, mine = rank_share(len(x))  # under torchrun, this process's slice of the global draw
            prior = self.model.sample_prior(total, self.noise_generator())[mine]
            discriminator = self.player("discriminator")
            return {"loss": discriminator_loss(discriminator(prior), discriminator(self.model.encode(x).detach()))}
        if phase == "generator":
            return {"loss": self.model.generator_loss(self.player("generator")(x))}
        noisy = self.model.corrupt(x, self.noise_generator())
        terms = self.model.loss(noisy, self.player(phase)(noisy), target)
        return {"loss": terms.pop("total"), **terms}

    @torch.no_grad()
    def evaluate(self, loader, split: str) -> dict[str, float]:
        """Mean loss terms and reconstruction MSE over a split, on the same corruption every epoch."""
        generator = self.fresh_generator(EVAL_NOISE_OFFSET)
        sums: dict[str, torch.Tensor] = {}
        count = 0
        for batch in loader:
            x, target = self.inputs_and_target(self.transfer(batch)[0])
            noisy = self.model.corrupt(x, generator)
            terms = self.model.loss(noisy, self.net(noisy), target)
            values = {"loss": terms.pop("total"), **terms,
                      "mse": per_item_mse(self.model.reconstruct(noisy), target).mean()}
            for key, value in values.items():
                sums[key] = sums.get(key, 0.0) + value.float() * len(x)
            count += len(x)
        return {key: float(value) / count for key, value in sums.items()} if count else {}

    # -- whole splits ----------------------------------------------------------------------------
    @torch.no_grad()
    def map_batches(self, fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor) -> torch.Tensor:
        """``fn`` over ``x`` in evaluation batches on the device, concatenated (on the device)."""
        size = self.config.train.eval_batch_size
        return torch.cat([fn(x[i:i + size].to(self.device)) for i in range(0, len(x), size)])

    def encode_all(self, x: torch.Tensor) -> torch.Tensor:
        """The codes of every item of ``x``, flattened: (N, code dimensions)."""
        return self.map_batches(lambda b: self.model.encode(self.inputs_and_target(b)[0]).flatten(1).float(), x)

    def reconstruction_errors(self, x: torch.Tensor) -> torch.Tensor:
        """Per-item reconstruction MSE of every item of ``x`` (clean inputs: no corruption)."""
        def errors(batch: torch.Tensor) -> torch.Tensor:
            inputs, target = self.inputs_and_target(batch)
            return per_item_mse(self.model.reconstruct(inputs), target)

        return self.map_batches(errors, x)

    @torch.no_grad()
    def example_rows(self, x: torch.Tensor, generator: torch.Generator) -> list[tuple[str, torch.Tensor]]:
        """Rows of a reconstruction grid: the model's input, its output and — when it differs from the
        input (noise, colourisation) — the target, each labelled by :attr:`row_labels`."""
        x = x.to(self.device)
        inputs, target = self.inputs_and_target(x)
        noisy = self.model.corrupt(inputs, generator)
        rows = [(self.row_labels[0], noisy), (self.row_labels[1], self.model.reconstruct(noisy))]
        if noisy.shape != target.shape or not torch.equal(noisy, target):
            rows.append((self.row_labels[2], target))
        return rows

    def shown_items(self) -> torch.Tensor | None:
        """The first validation items (test or train when there is no validation split), for grids."""
        for split in (self.data.valid, self.data.test, self.data.train):
            if split is not None and len(split):
                return split.x[:SHOWN_EXAMPLES]
        return None

    # -- sampling and plots ------------------------------------------------------------------------
    @property
    def can_sample(self) -> bool:
        """Whether the model decodes samples of a prior (vae, aae)."""
        return hasattr(self.model, "sample")

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """``n`` decoded prior samples (n, *input_shape) in the data's units (``deepzoo sample``)."""
        if not self.can_sample:
            raise ConfigError(f"model {self.config.model.name} has no prior to sample from; "
                              "train a vae or an aae to draw samples")
        self.model.eval()
        return self.model.sample(n, generator)

    @torch.no_grad()
    def save_grids(self, plots: Path, suffix: str, title: str) -> None:
        """The reconstruction grid (and the sample grid from fixed noise) as ``plots/<kind><suffix>``."""
        from ..plots.autoencoder import image_grid_figure, reconstruction_figure

        items = self.shown_items()
        self.model.eval()
        if items is not None:
            rows = self.example_rows(items, self.fresh_generator(EVAL_NOISE_OFFSET))
            reconstruction_figure(rows, self.data.meta, plots / f"reconstructions{suffix}", title)
        if self.can_sample:
            samples = self.model.sample(SHOWN_SAMPLES, self.fresh_generator(0))
            image_grid_figure(samples, self.data.meta, plots / f"samples{suffix}", f"samples, {title}")

    def on_epoch_end(self, epoch: int, run_dir: Path | None) -> None:
        """Reconstruction and sample grids of this epoch (the sample noise is the same every epoch)."""
        if run_dir is not None and self.config.train.plots:
            self.save_grids(run_dir / "plots", f"/epoch_{epoch:03d}.png", f"epoch {epoch}")

    def on_train_end(self, run_dir: Path | None) -> dict[str, float]:
        """Grids of the best weights; the uses add their metrics and plots."""
        if run_dir is not None and self.config.train.plots:
            self.save_grids(run_dir / "plots", ".png", "best weights")
        return {}

    @torch.no_grad()
    def predict(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Codes and per-item reconstruction error of new inputs (already normalised)."""
        self.model.eval()
        return {"error": self.reconstruction_errors(x), "code": self.encode_all(x)}


TASKS.register("reconstruct", recipe="autoencoder")(AutoencoderRecipe)
