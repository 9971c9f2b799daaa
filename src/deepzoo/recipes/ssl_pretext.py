"""Pretext tasks with any zoo encoder: rotation, jigsaw, relative patch location and Exemplar CNN.

Each turns unlabelled inputs into a classification problem whose labels come from the data itself
(:mod:`deepzoo.ssl.pretext`, :mod:`deepzoo.ssl.exemplar`) and trains encoder + head with cross-entropy.
The evaluation after training is the same as SimCLR's (:mod:`.ssl`). ``data.augment``, when given,
is applied to each batch before the pretext transformation.

Options (``--set task_args.KEY=VALUE``, each recipe's ``options`` with their help): rotation takes only
the evaluation's (:data:`~.ssl.EVALUATION_OPTIONS`); jigsaw ``permutations``, ``permutation_seed``,
``grid``, ``min_cell``, ``tile_fraction``, ``head_hidden``; relpatch ``patch``, ``gap``, ``jitter``,
``min_patch``, ``channel_drop``, ``head_hidden``; exemplar ``seeds``, ``patch``, ``rotation``, ``copies``.
"""

from __future__ import annotations

from typing import ClassVar

import torch
from torch import Tensor, nn

from ..data import DataBundle, TensorSplit
from ..data.batching import make_loader
from ..errors import ConfigError
from ..ssl.exemplar import choose_seeds, default_patch, photometric_transform, transformed_patches
from ..ssl.pretext import (
    NEIGHBOURS_1D,
    NEIGHBOURS_2D,
    drop_colour_channels,
    hamming_permutations,
    jigsaw_batch,
    jigsaw_layout,
    patch_layout,
    relative_patch_batch,
    rotation_batch,
)
from .base import TASKS, Option
from .ssl import EVALUATION_OPTIONS, SSLRecipe, cross_entropy_step


class PretextRecipe(SSLRecipe):
    """A pretext classification task: :meth:`pretext_batch` makes (inputs, labels) from a batch."""

    def pretext_batch(self, batch: tuple[Tensor, ...], generator: torch.Generator) -> tuple[Tensor, Tensor]:
        raise NotImplementedError

    def augmented(self, x: Tensor, generator: torch.Generator) -> Tensor:
        """``x`` through ``data.augment`` when one is configured."""
        return x if self.views is None else self.views(x, generator=generator)[0]

    def pretext_step(self, batch, generator):
        return cross_entropy_step(self.net, *self.pretext_batch(batch, generator))


class RotationRecipe(PretextRecipe):
    """RotNet (Gidaris, Singh & Komodakis 2018): every image rotated by 0°, 90°, 180° and 270° in the
    same batch (4N inputs), a 4-way linear classifier on the encoder's features."""

    def configure(self, meta) -> None:
        super().configure(meta)
        shape = self.input_shape
        if len(shape) == 3 and shape[1] != shape[2]:
            raise ConfigError(f"rotation needs square images; {meta.name} is {shape[1]}×{shape[2]}")

    def describe(self) -> str:
        if len(self.input_shape) == 2:
            return "4 signal symmetries: identity, reversal, half turn, negation"
        return "4 rotations: 0°, 90°, 180°, 270°"

    def build_head(self, num_features: int) -> nn.Module:
        return nn.Linear(num_features, 4)

    def pretext_batch(self, batch, generator):
        return rotation_batch(self.augmented(batch[0], generator))

    def examples(self, x, generator):
        rotated, _ = rotation_batch(x)
        titles = ("0°", "90°", "180°", "270°") if x.dim() == 4 else ("identity", "reversed", "half turn", "negated")
        return [(title, part) for title, part in zip(titles, rotated.chunk(4))]


class JigsawRecipe(PretextRecipe):
    """Jigsaw puzzles (Noroozi & Favaro 2016): a 3×3 grid of tiles (9 segments in a row for signals)
    with gaps and jitter, shuffled by one of P permutations chosen greedily for Hamming distance; the
    encoder sees each tile on its own (shared weights, each tile standardised on its own) and a
    two-layer head on the 9 concatenated feature vectors names the permutation (P-way). Inputs too
    small for tiles of ``min_cell`` pixels are upsampled (8×8 digits → 30×30, tiles of 8×8). P defaults
    to 100 for images and 10 for signals: on MNIST-1D, whose standardised 8-sample segments carry
    little, 100 permutations stayed at chance for 30 epochs."""

    options: ClassVar[dict[str, Option]] = {
        "permutations": Option(0, "P; 0: 100 for images, 10 for signals (the paper: 1000 on ImageNet)"),
        "permutation_seed": Option(0, "seed of the greedy choice of permutations"),
        "grid": Option(0, "cells per axis; 0: 3 for images, 9 for signals"),
        "min_cell": Option(10, "smallest cell side in pixels (smaller inputs are upsampled)"),
        "tile_fraction": Option(0.85, "tile side / cell side (the paper: 64 / 75)"),
        "head_hidden": Option(512, "hidden width of the permutation head"),
        **EVALUATION_OPTIONS,
    }
    standardize_inputs = True

    def configure(self, meta) -> None:
        super().configure(meta)
        a = self.args
        spatial = self.input_shape[1:]
        self.layout = jigsaw_layout(spatial, a["grid"] or None, a["min_cell"], a["tile_fraction"])
        tiles = self.layout.grid ** len(spatial)
        if not 2 <= tiles <= 10:
            raise ConfigError(f"jigsaw: a grid of {self.layout.grid} per axis gives {tiles} tiles; use 2 to 10 tiles")
        count = a["permutations"] or (100 if len(spatial) == 2 else 10)
        self.permutations = hamming_permutations(count, a["permutation_seed"], tiles)

    def encoder_shape(self) -> tuple[int, ...]:
        return (self.input_shape[0],) + (self.layout.tile,) * (len(self.input_shape) - 1)

    def describe(self) -> str:
        lay = self.layout
        return (f"{len(self.permutations)} permutations, cells of {lay.cell} px, tiles of {lay.tile} px, "
                f"inputs upsampled to at least {lay.side} px")

    def build_head(self, num_features: int) -> nn.Module:
        tiles = self.permutations.shape[1]
        hidden = self.args["head_hidden"]
        return nn.Sequential(nn.Linear(tiles * num_features, hidden), nn.ReLU(inplace=True),
                             nn.Linear(hidden, len(self.permutations)))

    def setup(self, device: torch.device) -> None:
        super().setup(device)
        self.permutations = self.permutations.to(device)

    def pretext_batch(self, batch, generator):
        return jigsaw_batch(self.augmented(batch[0], generator), self.permutations, self.layout, generator)

    def examples(self, x, generator):
        tiles, labels = jigsaw_batch(x[:4], self.permutations.to(x.device), self.layout, generator)
        return [(f"permutation {int(label)}", item) for item, label in zip(tiles, labels)]


class RelativePatchRecipe(PretextRecipe):
    """Context prediction (Doersch, Gupta & Efros 2015): a centre patch and one of its 8 neighbours
    (2 for signals: before, after), a gap of half a patch and a jitter between them, colour channels
    but one replaced by noise in each patch (the chromatic-aberration guard); the shared encoder's two
    feature vectors are concatenated and a two-layer head names the position."""

    options: ClassVar[dict[str, Option]] = {
        "patch": Option(0, "patch side; 0: the largest that fits (at least min_patch)"),
        "gap": Option(0.5, "gap between patches, in patch sides (the paper: about half a patch)"),
        "jitter": Option(0.125, "largest jitter, in patch sides (the paper: 7 px for 96-px patches)"),
        "min_patch": Option(8, "smallest patch side in pixels (smaller inputs are upsampled)"),
        "channel_drop": Option(True, "replace all colour channels but one by noise in each patch"),
        "head_hidden": Option(512, "hidden width of the position head"),
        **EVALUATION_OPTIONS,
    }

    def configure(self, meta) -> None:
        super().configure(meta)
        a = self.args
        if a["gap"] < 0 or a["jitter"] < 0:
            raise ConfigError("relpatch: task_args.gap and task_args.jitter must be >= 0")
        self.layout = patch_layout(self.input_shape[1:], a["patch"] or None, a["gap"], a["jitter"], a["min_patch"])
        self.positions = len(NEIGHBOURS_2D if len(self.input_shape) == 3 else NEIGHBOURS_1D)

    def encoder_shape(self) -> tuple[int, ...]:
        return (self.input_shape[0],) + (self.layout.patch,) * (len(self.input_shape) - 1)

    def describe(self) -> str:
        lay = self.layout
        guard = "channel dropping" if self.args["channel_drop"] and self.input_shape[0] == 3 else "no colour guard"
        return (f"{self.positions} positions, patches of {lay.patch} px, gap {lay.gap}, jitter ±{lay.jitter}, "
                f"{guard}, inputs upsampled to at least {lay.side} px")

    def build_head(self, num_features: int) -> nn.Module:
        hidden = self.args["head_hidden"]
        return nn.Sequential(nn.Linear(2 * num_features, hidden), nn.ReLU(inplace=True),
                             nn.Linear(hidden, self.positions))

    def pretext_batch(self, batch, generator):
        pairs, labels = relative_patch_batch(self.augmented(batch[0], generator), self.layout, generator)
        if self.args["channel_drop"]:
            pairs = drop_colour_channels(pairs, generator)
        return pairs, labels

    def examples(self, x, generator):
        pairs, labels = self.pretext_batch((x[:4],), generator)
        return [(f"centre, neighbour {int(label)}", pair) for pair, label in zip(pairs, labels)]


class ExemplarRecipe(PretextRecipe):
    """Exemplar CNN (Dosovitskiy et al. 2014): N seed patches from high-gradient regions of the
    training images, each its own class; every batch shows freshly transformed copies (translation,
    scale 0.7–1.4, rotation ±20°, contrast and colour) and a linear N-way head names the seed.

    An epoch shows ``copies`` fresh transformations of every seed (the paper's K transformed samples
    per class, redrawn each epoch). ``task_args.seeds`` is resolved when the run starts and written
    back into the run's config, so the head's size is known when the run is loaded without its data."""

    options: ClassVar[dict[str, Option]] = {
        "seeds": Option(0, "N seed patches; 0: every training image up to 8000 (the paper: 8000 to 32000)"),
        "patch": Option(0, "patch side; 0: 32 px (whole images under 32 px; signals up to 64)"),
        "rotation": Option(20.0, "largest rotation in degrees"),
        "copies": Option(16, "transformed copies of every seed per epoch"),
        **EVALUATION_OPTIONS,
    }
    MAX_SEEDS = 8000

    def __init__(self, config, data: DataBundle):
        self.seed_images: Tensor | None = None
        super().__init__(config, data)

    def configure(self, meta) -> None:
        super().configure(meta)
        a = self.args
        spatial = self.input_shape[1:]
        if a["copies"] < 1 or a["seeds"] < 0:
            raise ConfigError("exemplar: task_args.copies must be >= 1 and task_args.seeds >= 0")
        self.patch = min(a["patch"] or default_patch(spatial), min(spatial))
        train = self.data.train
        if train is not None and len(train):
            count = min(len(train), a["seeds"] or self.MAX_SEEDS)
            x = self.split_tensors("train")[0].cpu()
            images, centres = choose_seeds(x, count, self.patch, torch.Generator().manual_seed(self.config.seed))
            self.seed_images, self.seed_centres = x[images], centres
            self.config.task_args["seeds"] = a["seeds"] = count  # saved, so the head's size is known
        elif not a["seeds"]:
            raise ConfigError("exemplar: task_args.seeds is needed to rebuild the model without data")
        self.count = a["seeds"]
        self.photometric = photometric_transform(self.input_shape[0], len(spatial) == 1, meta.value_range)

    def encoder_shape(self) -> tuple[int, ...]:
        return (self.input_shape[0],) + (self.patch,) * (len(self.input_shape) - 1)

    def describe(self) -> str:
        return f"{self.count} seed patches of {self.patch} px, one class each"

    def build_head(self, num_features: int) -> nn.Module:
        return nn.Linear(num_features, self.count)

    def setup(self, device: torch.device) -> None:
        super().setup(device)
        if self.seed_images is not None:
            self.seed_images, self.seed_centres = self.seed_images.to(device), self.seed_centres.to(device)

    def loader(self, split: str, batch_size: int, *, shuffle: bool = False, seed: int = 0,
               rank: int = 0, world_size: int = 1):
        """Batches of seed indices (the surrogate classes) for every split: training repeats each seed
        ``copies`` times per epoch; validation shows each once, transformed by a fixed generator."""
        if self.seed_images is None:
            return []
        seeds = torch.arange(len(self.seed_images))
        split_seeds = TensorSplit(seeds.repeat(self.args["copies"]) if shuffle else seeds)
        drop_last = shuffle and len(split_seeds) > batch_size * world_size
        return make_loader(split_seeds, batch_size, self.device, shuffle=shuffle, seed=seed,
                           resident=self.config.data.resident, rank=rank, world_size=world_size, drop_last=drop_last)

    def pretext_batch(self, batch, generator):
        classes = batch[0]
        images = self.seed_images[classes]
        patches = transformed_patches(self.augmented(images, generator), self.seed_centres[classes], self.patch,
                                      generator, self.args["rotation"])
        return self.photometric(patches, generator=generator)[0], classes

    def examples(self, x, generator):
        return [(f"seed {c}", self.pretext_batch((torch.full((8,), c, device=self.device),), generator)[0])
                for c in range(min(4, self.count))]


for _task, _cls, _paper in (("rotation", RotationRecipe, "Gidaris et al. 2018"),
                            ("jigsaw", JigsawRecipe, "Noroozi & Favaro 2016"),
                            ("relpatch", RelativePatchRecipe, "Doersch et al. 2015"),
                            ("exemplar", ExemplarRecipe, "Dosovitskiy et al. 2014")):
    TASKS.register(_task, recipe="ssl", paper=_paper)(_cls)
