"""Paired image-to-image translation with pix2pix (task ``pix2pix``, Isola et al. 2017), and the shared
machinery of next-frame prediction (:mod:`deepzoo.recipes.next_frame`).

**The game** (§3.1, Eq. 4): the U-Net generator G maps an input x to G(x) with dropout as its only noise;
the PatchGAN D judges the pair (x, y) — input and output concatenated on channels — one logit per 70×70
patch (:mod:`deepzoo.models.pix2pix`). G minimises the non-saturating cGAN loss −log D(x, G(x)) plus
λ·‖y − G(x)‖₁ with λ = 100 (Eq. 4, §4); D minimises −log D(x, y) − log(1 − D(x, G(x))), halved "to slow
down the rate at which D learns relative to G" (§3.3; the official ``loss_D × 0.5``). BCE on logits,
averaged over the patches. One D step then one G step per batch on the same fakes, as the official code
(:class:`~deepzoo.recipes.gan.AdversarialRecipe`). ``task_args.adversarial=false`` trains the same
U-Net on λ·L1 alone — the paper's "L1" ablation (Table 1), the baseline a GAN has to beat on sharpness
while L1 to the target favours it.

**Paper preset** (``task_args.preset=paper``, the default): Adam lr 2e-4, β = (0.5, 0.999), batch 1,
200 epochs with the rate constant for the first half then decaying linearly (``sched.name=linear_decay``;
100 + 100 in the official code). Settings the user gave are kept and the run log says so. With the
jitter (``task_args.jitter``, on): each training pair is resized to 286/256 of its size, cropped back at
a random place and flipped with probability 0.5, the same for input and target
(:func:`~deepzoo.data.pairs.paired_jitter`; appendix 6.2).

**Inference** (``task_args.inference``). ``paper`` (the default): evaluation, pictures and ``predict``
run the generator as in training, as §3.3 does at test time — dropout on, batch norm from the test
batch's own statistics, in batches of ``train.batch_size`` (at the paper's batch 1, instance
normalisation) — with the dropout drawn from a fixed seed (the run's seed + 21) so that the scores
repeat, the training RNG untouched and the running statistics restored afterwards. ``eval``: the usual
``model.eval()`` (no dropout, running statistics), deterministic without a seed.

**Metrics** (each epoch on the validation split, at the end on the test split): ``l1`` (mean absolute
error in [0, 1] pixel units), ``psnr`` (dB over all channels, peak 1; :func:`~deepzoo.metrics.image.psnr`)
and ``ssim`` (on the luma channel; :func:`~deepzoo.metrics.image.ssim_y`) of G(x) against y, beside the
same three for two baselines computed on the same items: ``nearest_*``, the target of the training pair
whose input is nearest (Euclidean) to x — what a lookup table would answer — and, where the input could
stand for the output, a copy (``identity_*`` for pairs of equal channels, ``last_frame_*`` for next-frame
prediction). Early stopping is off unless ``early_stop.monitor`` is set (``valid/l1``): the paper trains a
fixed schedule, and L1 favours the blurry L1-only generator over the GAN.

**Outputs.** ``plots/samples/epoch_NNN.png`` (input, output, target of four validation pairs) each
epoch, ``plots/translations.png`` at the end (eight test pairs beside both baselines),
``generator.safetensors`` and ``evaluation.json``.

**Options** (``--set task_args.KEY=VALUE``): ``preset`` (paper | none), ``l1_weight`` (100),
``adversarial`` (true), ``jitter`` (true), ``inference`` (paper | eval) and the game's ``k``,
``saturating``, ``label_smoothing`` and ``fresh_noise``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import torch
from torch import nn

from ..config import RunConfig
from ..data import DataBundle
from ..data.pairs import paired_jitter
from ..errors import ConfigError
from ..models import accepted_kwargs, create_model, model_entry
from ..models.gan import load_pair_weights
from .base import TASKS, Option, apply_preset
from .gan import AdversarialRecipe, disable_default_early_stopping

# Isola et al. 2017 §4 and the official code's defaults: Adam 2e-4, β1 0.5, batch 1, 100 + 100 epochs.
PIX2PIX_PRESET = {"optim.name": "adam", "optim.lr": 2e-4, "optim.betas": (0.5, 0.999), "train.batch_size": 1,
                  "train.epochs": 200, "sched.name": "linear_decay"}
L1_WEIGHT = 100.0  # λ of Eq. 4
DISCRIMINATOR_SCALE = 0.5  # §3.3: D's objective divided by 2
INFERENCE_SEED_OFFSET = 21  # the dropout of test-time inference, from the run's seed
SHOWN_PER_EPOCH, SHOWN_AT_END = 4, 8  # validation / test pairs in the pictures


def l1_loss(output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean absolute error ‖y − G(x)‖₁ / pixels (Isola et al. Eq. 3), in the units of the tensors."""
    return (output - target).abs().mean()


def image_scores(output: torch.Tensor, target: torch.Tensor) -> dict[str, torch.Tensor]:
    """Per-image L1, PSNR (all channels, peak 1) and SSIM (luma) of images in [0, 1]: (N,) each."""
    from ..metrics.image import psnr, ssim_y

    return {"l1": (output - target).abs().flatten(1).mean(1), "psnr": psnr(output, target, 1.0),
            "ssim": ssim_y(output, target)}


def nearest_targets(inputs: torch.Tensor, train_inputs: torch.Tensor, train_targets: torch.Tensor,
                    chunk: int = 256) -> torch.Tensor:
    """For each input, the target of the training pair whose input is nearest in Euclidean distance: the
    answer of a lookup table of the training set, a baseline that knows the data and nothing else."""
    flat = train_inputs.flatten(1).float()
    picks = [torch.cdist(inputs[i:i + chunk].flatten(1).float(), flat).argmin(1) for i in range(0, len(inputs), chunk)]
    return train_targets[torch.cat(picks)]


class Pix2PixRecipe(AdversarialRecipe):
    """pix2pix on paired images (``pairs:DIR``, ``facades``, ``shapes-pairs``, ``digits-edges``)."""

    #: the data kind (``meta.task``) this task trains on, and where such data comes from (for the error)
    data_kind, data_sources = "pairs", "pairs:DIR, facades, shapes-pairs or digits-edges"
    options: ClassVar[dict[str, Option]] = {
        **AdversarialRecipe.options,
        "preset": Option("paper", "paper: Adam 2e-4, β1 0.5, batch 1, 200 epochs with linear decay (Isola et al. "
                         "§4); none keeps the config", choices=("paper", "none")),
        "l1_weight": Option(L1_WEIGHT, "λ, the weight of the L1 term in the generator's loss (Eq. 4)"),
        "adversarial": Option(True, "false: the U-Net on λ·L1 alone, the paper's L1 ablation"),
        "jitter": Option(True, "the paper's random jitter (resize 286/256, random crop, flip) of each training pair"),
        "inference": Option("paper", "paper: the generator at test time as in training (dropout, the test batch's "
                            "statistics); eval: model.eval()", choices=("paper", "eval")),
    }

    def __init__(self, config: RunConfig, data: DataBundle):
        super().__init__(config, data)
        self.task = config.task or model_entry(config.model.name).meta.get("task")
        name, meta = config.model.name, data.meta
        self._check_data(meta)
        if config.data.augment:
            raise ConfigError(f"task {self.task} does not take data.augment: task_args.jitter moves the input and "
                              "the target together")
        if model_entry(name).meta.get("task") != "pix2pix":
            raise ConfigError(f"task {self.task} trains the pix2pix model; {name} is not it")
        if self.args["preset"] == "paper":
            self.log_lines.append(apply_preset(config, PIX2PIX_PRESET, "Isola et al. 2017 §4 and the official code"))
        self.adversarial = self.args["adversarial"]
        self.l1_weight = self.args["l1_weight"]
        if self.l1_weight < 0:
            raise ConfigError(f"task_args.l1_weight={self.l1_weight} must be at least 0")
        if not self.adversarial:
            self.phases = ("generator",)
            self.default_monitor = "valid/l1"
        self.log_lines.append(disable_default_early_stopping(config, "valid/l1"))
        self.log_lines.append(self.describe_loss())
        channels, height, width = meta.input_shape
        if height != width:
            raise ConfigError(f"{meta.name}: {self.task} trains on square images, these are {width}×{height}; load "
                              "them with size=N")
        candidates = {"image_size": height, "in_channels": channels, "out_channels": meta.extra["target_shape"][0]}
        self.model = create_model(name, **{**accepted_kwargs(name, candidates), **config.model.args})
        if config.model.weights:
            self.log_lines.append(f"weights: {config.model.weights} → "
                                  f"{load_pair_weights(self.model, config.model.weights)}")
        self.jitter = self.args["jitter"]
        self._baselines: dict[str, dict[str, float]] = {}

    def _check_data(self, meta) -> None:
        """The data must be of this task's kind (paired images, or clips for next-frame prediction)."""
        if meta.task == self.data_kind:
            return
        hint = " (clips: train them with --task next-frame)" if meta.task == "next-frame" else ""
        raise ConfigError(f"task {self.task} trains on {self.data_sources}; {meta.name} is not such data{hint}")

    def describe_loss(self) -> str:
        """The run-log line that says what each player minimises."""
        if not self.adversarial:
            return f"loss: the generator alone on {self.l1_weight:g}·L1 (the paper's L1 ablation; no discriminator)"
        return (f"loss: G: cGAN −log D(x, G(x)) + {self.l1_weight:g}·L1; D: ½·BCE on the PatchGAN's logits of "
                f"(input, target) and (input, output); {self.describe_game()}")

    def optimizer_modules(self) -> dict[str, nn.Module]:
        if not self.adversarial:
            return {"generator": self.model.generator}
        return super().optimizer_modules()

    # -- steps --------------------------------------------------------------------------------------------
    def prepare_batch(self, batch):
        """The pairs, jittered once for all the batch's phases (the D steps and the G step see the same pairs)."""
        a, b = batch
        return paired_jitter(a, b) if self.jitter else (a, b)

    def split_batch(self, batch) -> tuple[torch.Tensor, torch.Tensor]:
        source, target = batch
        return target, source

    def generate(self, condition: torch.Tensor, n: int, frozen: bool = False) -> torch.Tensor:
        return self.player("generator", frozen)(condition)

    def discriminate(self, x: torch.Tensor, condition: torch.Tensor | None = None,
                     frozen: bool = False) -> torch.Tensor:
        """The PatchGAN's logits for the pair (condition, x), concatenated on channels (§2.1: D sees the input)."""
        return self.player("discriminator", frozen)(torch.cat([condition, x], 1))

    def discriminator_step(self, real: torch.Tensor, condition: torch.Tensor) -> dict[str, torch.Tensor]:
        out = super().discriminator_step(real, condition)
        out["loss"] = DISCRIMINATOR_SCALE * out["loss"]
        return out

    def generator_step(self, real: torch.Tensor, condition: torch.Tensor) -> dict[str, torch.Tensor]:
        if not self.adversarial:
            l1 = l1_loss(self.generate(condition, len(real)), real)
            return {"loss": self.l1_weight * l1, "l1": l1}
        return super().generator_step(real, condition)

    def generator_objective(self, adversarial: torch.Tensor, fake: torch.Tensor,
                            real: torch.Tensor) -> dict[str, torch.Tensor]:
        """cGAN + λ·L1 (Isola et al. Eq. 4)."""
        l1 = l1_loss(fake, real)
        return {"loss": adversarial + self.l1_weight * l1, "adversarial": adversarial, "l1": l1}

    # -- inference ------------------------------------------------------------------------------------------
    @contextlib.contextmanager
    def inference(self) -> Iterator[int]:
        """The generator as ``task_args.inference`` runs it at test time; yields the batch size to run it at.

        ``paper``: in training mode (dropout on, batch norm from each batch's own statistics, batches of
        ``train.batch_size``), the dropout drawn from a fixed seed inside a forked RNG, and the running
        statistics put back afterwards. ``eval``: ``model.eval()``, batches of ``train.eval_batch_size``."""
        was_training = self.model.training
        if self.args["inference"] == "eval":
            self.model.eval()
            try:
                yield self.config.train.eval_batch_size
            finally:
                self.model.train(was_training)
            return
        generator = self.model.generator
        kept = {name: buffer.clone() for name, buffer in generator.named_buffers()}
        devices = [self.device] if self.device.type == "cuda" else []
        with torch.random.fork_rng(devices=devices, device_type=self.device.type):
            torch.manual_seed(self.config.seed + INFERENCE_SEED_OFFSET)
            generator.train()
            try:
                yield self.config.train.batch_size
            finally:
                for name, buffer in generator.named_buffers():
                    buffer.copy_(kept[name])
                self.model.train(was_training)

    @torch.no_grad()
    def translate(self, inputs: torch.Tensor) -> torch.Tensor:
        """G(x) in [0, 1] for inputs (N, C, H, W) in [−1, 1] (the data's units), run as the paper does at test
        time (:meth:`inference`)."""
        with self.inference() as size:
            return torch.cat([(self.model.generator(inputs[i:i + size].to(self.device)).float() + 1) / 2
                              for i in range(0, len(inputs), size)]).clamp(0, 1)

    def baseline_outputs(self, inputs: torch.Tensor) -> dict[str, torch.Tensor]:
        """The baselines' answers in [0, 1] for inputs in [−1, 1]: ``nearest`` (the training target of the
        nearest training input) and, where the data names one, the copy (``identity``, ``last_frame``)."""
        train = self.data.train
        out = {"nearest": (nearest_targets(inputs, train.x.to(inputs.device), train.y.to(inputs.device)) + 1) / 2}
        copy = self.data.meta.extra.get("copy_baseline")
        if copy:
            low, high = copy["channels"]
            out[copy["name"].replace(" ", "_")] = (inputs[:, low:high] + 1) / 2
        return out

    # -- evaluation -------------------------------------------------------------------------------------------
    @torch.no_grad()
    def evaluate(self, loader, split: str) -> dict[str, float]:
        """L1, PSNR and SSIM of G(x) against y, then the same for the baselines (not on the training split,
        where the nearest training pair is the pair itself)."""
        batches = [self.transfer(b) for b in loader]
        if not batches:
            return {}
        inputs, targets = (torch.cat(parts) for parts in zip(*batches))
        targets = (targets.float() + 1) / 2
        metrics = {k: float(v.double().mean()) for k, v in image_scores(self.translate(inputs), targets).items()}
        metrics["loss"] = metrics["l1"]
        if split != "train":
            if split not in self._baselines:
                self._baselines[split] = {f"{name}_{k}": float(v.double().mean())
                                          for name, output in self.baseline_outputs(inputs).items()
                                          for k, v in image_scores(output, targets).items()}
            metrics.update(self._baselines[split])
        return metrics

    # -- pictures and outputs ---------------------------------------------------------------------------------
    def picture_columns(self, inputs: torch.Tensor, targets: torch.Tensor,
                        with_baselines: bool) -> list[tuple[str, torch.Tensor]]:
        """The columns of a comparison picture, images in [0, 1]: input, output, (baselines,) target."""
        columns = [("input", (inputs + 1) / 2), (self.config.model.name if self.adversarial else "L1 only",
                                                 self.translate(inputs).cpu())]
        if with_baselines:
            baselines = self.baseline_outputs(inputs)
            columns += [(name.replace("_", " "), output.cpu()) for name, output in baselines.items()]
        return columns + [("target", (targets + 1) / 2)]

    def save_pictures(self, split, count: int, path: Path, title: str, with_baselines: bool) -> None:
        """``count`` pairs of ``split`` as columns (:meth:`picture_columns`)."""
        from ..plots.gan import sr_comparison_figure

        inputs, targets = split.x[:count], split.y[:count]
        sr_comparison_figure(self.picture_columns(inputs, targets, with_baselines), path, title)

    def on_epoch_end(self, epoch: int, run_dir: Path | None) -> None:
        """The watchdog, and input / output / target of four validation pairs (``plots/samples/epoch_NNN.png``)."""
        super().on_epoch_end(epoch, run_dir)
        split = self.shown_split()
        if run_dir is not None and self.config.train.plots and split is not None:
            self.save_pictures(split, SHOWN_PER_EPOCH, run_dir / "plots" / "samples" / f"epoch_{epoch:03d}.png",
                               f"{self.task}, epoch {epoch}", with_baselines=False)

    def shown_split(self, prefer: str = "valid"):
        """The split whose first pairs the pictures show: ``prefer``, else the other held-out one."""
        for name in (prefer, "test" if prefer == "valid" else "valid"):
            split = getattr(self.data, name)
            if split is not None and len(split):
                return split
        return None

    def on_train_end(self, run_dir: Path | None) -> dict[str, float]:
        """``generator.safetensors``, ``evaluation.json`` and ``plots/translations.png``."""
        if run_dir is None:
            return {}
        self.save_outputs(run_dir, {"task": self.task, "adversarial": self.adversarial, "l1_weight": self.l1_weight,
                                    "inference": self.args["inference"]})
        split = self.shown_split("test")
        if self.config.train.plots and split is not None:
            self.save_pictures(split, SHOWN_AT_END, run_dir / "plots" / "translations.png",
                               f"{self.task}: test pairs", with_baselines=True)
        return {}

    def predict(self, x: torch.Tensor) -> dict[str, Any]:
        """G(x) in [0, 1] for inputs in [−1, 1]."""
        return {"image": self.translate(x)}


TASKS.register("pix2pix", recipe="pix2pix")(Pix2PixRecipe)

