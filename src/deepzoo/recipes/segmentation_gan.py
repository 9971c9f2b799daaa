"""The segmentation GAN (task ``segmentation-gan``): Luc, Couprie, Chintala & Verbeek 2016, "Semantic
Segmentation using Adversarial Networks" (NIPS Workshop on Adversarial Training, arXiv:1611.08408).

    deepzoo train --model unet --task segmentation-gan --data shapes
    deepzoo train --model unet --task segmentation-gan --data shapes --set task_args.adversarial_weight=0.1

**The game** (Luc et al. §2, Eq. 1). The segmentation network s — any model the ``segmentation`` task
trains, the ``unet`` by default — is the generator. An adversary a judges an image x with a label map:
the truth y as one-hot planes, or the prediction s(x) as class probabilities (the softmax of its
scores). a minimises BCE(a(x, y), 1) + BCE(a(x, s(x)), 0); s minimises its segmentation loss
+ λ·BCE(a(x, s(x)), 1) — the non-saturating form Luc et al. take from Goodfellow et al. 2014 instead of
−λ·BCE(a(x, s(x)), 0), for stronger gradients while the adversary rejects the predictions (§2). The
segmentation loss is the ``segmentation`` task's own (:meth:`SegmentationRecipe.segmentation_loss`:
per-pixel cross-entropy, and its ``dice``, ``class_weights`` and ``ignore_index`` options). One
adversary step then one segmentation step per batch, both on the same prediction, as
:class:`~deepzoo.recipes.gan.AdversarialRecipe` plays every GAN here. Pixels whose mask value is ignored
are zero in both maps the adversary sees (a prediction's probabilities sum to one there, a one-hot
truth has no class), so it cannot tell the two apart by them.

**The adversary** is the PatchGAN of pix2pix (:class:`~deepzoo.models.pix2pix.PatchGAN`, batch norm,
initialised from N(0, 0.02)) on the image and the label map concatenated on channels — Luc et al.'s
"basic" input with the image, which their Stanford Background adversary reads too. Luc et al. use small
convnets that end in one output per image; the PatchGAN already judges (condition, output) pairs for
pix2pix, and on the 32–64 px images a CPU trains on, each of its 70×70 patches (``d_layers=3``) covers
the whole image, so every logit judges the whole map as their adversary does. ``d_width`` (64) and
``d_layers`` (3) size it; a map too small for ``d_layers`` halvings is a one-line error.

**λ** (``adversarial_weight``). Luc et al.'s Eq. 1 adds λ times one BCE per image to a cross-entropy
*summed* over the label map's pixels, and the paper chooses λ for each adversary on validation data.
Here both terms are means — the cross-entropy over the labelled pixels, the BCE over the patches — so λ
weighs the adversarial term against the cross-entropy of one pixel: a λ of Luc et al. is λ/(h·w) here
(λ/4096 on 64×64 maps). The default, 0.01, is the λ_adv of the semi-supervised follow-up by Hung et al.
2018 ("Adversarial Learning for Semi-Supervised Semantic Segmentation", BMVC), whose fully convolutional
discriminator and per-pixel losses have these units. ``adversarial_weight=0`` trains the segmentation
network exactly as the ``segmentation`` task does (the same weights, tested) while the adversary
learns beside it: the baseline is ``--task segmentation`` with the same seed.

**Training settings.** No preset: the optimizer, schedule and batch are the run's, as for the
``segmentation`` task, so that the two compare on the same settings (each player gets its own
optimizer). Early stopping and the best weights follow ``valid/miou``, as for the ``segmentation`` task:
here, unlike an image GAN's losses, the metric measures the output's quality.

**Metrics and outputs** are the ``segmentation`` task's (mIoU, Dice, pixel accuracy, per class on the
test split, the majority-class baseline, ``plots/segmentation.png``), plus the GAN's ``generator.safetensors``
(the segmentation network alone, which ``--task segmentation --weights FILE`` takes), ``evaluation.json``
and the watchdog on the adversary's loss. ``deepzoo predict`` writes masks as for any segmentation run.

**Options** (``--set task_args.KEY=VALUE``): ``adversarial_weight`` (0.01), ``d_width`` (64),
``d_layers`` (3), the segmentation task's ``dice``, ``class_weights`` and ``ignore_index``, and the game's
``k``, ``saturating``, ``label_smoothing`` and ``fresh_noise`` (:class:`~deepzoo.recipes.gan.AdversarialRecipe`).
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, ClassVar

import torch
import torch.nn.functional as F

from ..config import RunConfig
from ..data import DataBundle
from ..errors import ConfigError
from ..models.dcgan import dcgan_init_
from ..models.gan import AdversarialPair
from ..models.pix2pix import PatchGAN, patch_grid
from ..models.unet import centre_crop
from .base import TASKS, DeviceAugmentation, Option
from .gan import AdversarialRecipe
from .segmentation import SegmentationRecipe

LUC_2016 = "Luc, Couprie, Chintala & Verbeek 2016, Semantic Segmentation using Adversarial Networks"
ADVERSARIAL_WEIGHT = 0.01  # Hung et al. 2018's λ_adv, per pixel (see the module docstring)


def label_map(labels: torch.Tensor, num_classes: int, labelled: torch.Tensor) -> torch.Tensor:
    """What the adversary reads of a label map, (N, K, h, w) floats: a mask of class numbers (N, h, w) as
    one-hot planes, or class scores (N, K, h, w) as their softmax — zero at the pixels where ``labelled``
    (N, h, w) is False, in both."""
    if labels.is_floating_point():
        probabilities = labels.float().softmax(1)
    else:
        probabilities = F.one_hot(labels.long().where(labelled, 0), num_classes).permute(0, 3, 1, 2).float()
    return probabilities * labelled.unsqueeze(1)


class SegmentationGanRecipe(AdversarialRecipe, SegmentationRecipe):
    """A segmentation network trained with an adversary on (image, label map) pairs (Luc et al. 2016)."""

    default_monitor = "valid/miou"
    options: ClassVar[dict[str, Option]] = {
        **AdversarialRecipe.options,
        **SegmentationRecipe.options,
        "adversarial_weight": Option(ADVERSARIAL_WEIGHT, "λ: the adversarial term's weight against the per-pixel "
                                     "cross-entropy (Luc et al. Eq. 1; their λ is λ/(h·w) here)"),
        "d_width": Option(64, "the PatchGAN's first width (64, 128, 256, 512 at the default)"),
        "d_layers": Option(3, "the PatchGAN's stride-2 layers: 3 judges 70×70 patches, 2 34×34, 1 16×16"),
    }

    def __init__(self, config: RunConfig, data: DataBundle):
        super().__init__(config, data)  # the segmentation network (SegmentationRecipe), then the game's options
        self.adversarial_weight = self.args["adversarial_weight"]
        if self.adversarial_weight < 0:
            raise ConfigError(f"task_args.adversarial_weight={self.adversarial_weight}: a loss weight must be ≥ 0")
        network = self.model
        self.map_size = output_size(network, tuple(data.meta.input_shape))
        layers, width = self.args["d_layers"], self.args["d_width"]
        if width < 1:
            raise ConfigError(f"task_args.d_width={width}: the PatchGAN needs at least one channel")
        if layers >= 1 and patch_grid(min(self.map_size), layers) < 1:
            raise ConfigError(f"task_args.d_layers={layers}: the PatchGAN's {layers} halvings leave no patch of a "
                              f"{self.map_size[0]}×{self.map_size[1]} label map; lower d_layers")
        k = data.meta.num_classes
        adversary = PatchGAN(data.meta.input_shape[0] + k, width, layers)  # checks layers ≥ 1
        adversary.apply(dcgan_init_)
        self.model = AdversarialPair(network, adversary, (k, *self.map_size))
        self.log_lines.append(self.describe_adversary())
        self._labelled: torch.Tensor | None = None

    def describe_adversary(self) -> str:
        """The run-log line of the game."""
        d = self.model.discriminator
        return (f"segmentation GAN ({LUC_2016}): the segmentation network is the generator; a PatchGAN ("
                f"{d.receptive_field}×{d.receptive_field} patches) judges (image, label map) — the truth one-hot, "
                f"the prediction's softmax; generator loss = segmentation loss + {self.adversarial_weight:g}·"
                f"adversarial; {self.describe_game()}")

    # -- steps ----------------------------------------------------------------------------------------
    def prepare_batch(self, batch):
        """The images and masks, augmented together once for all the batch's phases."""
        return self.augmented(*batch)

    def split_batch(self, batch) -> tuple[torch.Tensor, torch.Tensor]:
        """(the true masks, the images): the real items and the generator's condition."""
        images, masks = batch
        return masks, images

    def generate(self, condition: torch.Tensor, n: int, frozen: bool = False) -> torch.Tensor:
        """The segmentation network's class scores (N, K, h, w) for images ``condition``."""
        return self.player("generator", frozen)(condition)

    def discriminate(self, x: torch.Tensor, condition: torch.Tensor | None = None,
                     frozen: bool = False) -> torch.Tensor:
        """The PatchGAN's logits for (image, label map): ``x`` is a mask of class numbers (the truth) or
        class scores (a prediction), read by :func:`label_map` on the pixels of the step's mask."""
        maps = label_map(centre_crop(x, self.map_size), self.data.meta.num_classes, self._labelled)
        return self.player("discriminator", frozen)(torch.cat([centre_crop(condition, self.map_size), maps], 1))

    def discriminator_step(self, real: torch.Tensor, condition: torch.Tensor) -> dict[str, torch.Tensor]:
        """The game's adversary step on the labelled pixels of the masks ``real``."""
        self._labelled = self.labelled(real)
        return super().discriminator_step(real, condition)

    def generator_step(self, real: torch.Tensor, condition: torch.Tensor) -> dict[str, torch.Tensor]:
        """The game's network step on the labelled pixels of the masks ``real``."""
        self._labelled = self.labelled(real)
        return super().generator_step(real, condition)

    def labelled(self, masks: torch.Tensor) -> torch.Tensor:
        """Where the masks (cropped to the network's output) hold a class, not the ignore index: what
        :meth:`discriminate` reads in both maps of the step (the step's pieces when ``k`` > 1)."""
        return centre_crop(masks, self.map_size) != self.ignore_index

    def generator_objective(self, adversarial: torch.Tensor, fake: torch.Tensor,
                            real: torch.Tensor) -> dict[str, torch.Tensor]:
        """The segmentation loss of the scores ``fake`` against the masks ``real``, + λ·adversarial (Eq. 1)."""
        losses = self.segmentation_loss(fake, real)
        segmentation = losses.pop("loss")
        return {"loss": segmentation + self.adversarial_weight * adversarial, "segmentation_loss": segmentation,
                **losses, "adversarial": adversarial}

    # -- outputs and state ------------------------------------------------------------------------------
    def on_train_end(self, run_dir: Path | None) -> dict[str, float]:
        """The segmentation task's baseline and overlays, then ``generator.safetensors`` and
        ``evaluation.json``."""
        metrics = SegmentationRecipe.on_train_end(self, run_dir)
        if run_dir is not None:
            self.save_outputs(run_dir, {"task": self.task, "adversarial_weight": self.adversarial_weight,
                                        "paper": LUC_2016})
        return metrics

    def state_dict(self) -> dict[str, Any]:
        return {**AdversarialRecipe.state_dict(self), **DeviceAugmentation.state_dict(self)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        AdversarialRecipe.load_state_dict(self, state)
        DeviceAugmentation.load_state_dict(self, state)


def output_size(network: torch.nn.Module, input_shape: tuple[int, ...]) -> tuple[int, int]:
    """The (h, w) of ``network``'s output for one input of ``input_shape`` (C, H, W): the input's size for
    the padded U-Net, smaller for the paper's. Computed on a copy on the meta device (shapes only)."""
    with torch.no_grad():
        probe = copy.deepcopy(network).to("meta").eval()
        return tuple(probe(torch.empty(1, *input_shape, device="meta")).shape[-2:])


TASKS.register("segmentation-gan", recipe="segmentation_gan", paper=LUC_2016)(SegmentationGanRecipe)
