"""What a run exports: the module, its named inputs (a batch of real ones) and its named outputs.

Each family says which of its networks leaves Python and in which units its outputs come back:

- **supervised** runs (every zoo classifier, MLPs on tables, regressors): the trained model followed by
  the task head's prediction step, so the outputs are exactly ``deepzoo predict``'s — ``probability``
  (softmax or sigmoid) and ``label`` (argmax or the threshold), or ``value`` in the target's units;
- **GANs** (``gan``, ``dcgan``; ``cgan``/``acgan`` with their ``labels`` input): the generator, from noise
  to items in the data's raw units (pixels in [0, 1]);
- **image-to-image** (pix2pix and next-frame, CycleGAN's A → B generator, SRGAN): the generator, from the
  normalised condition to pixels in [0, 1], in eval mode (no dropout: a deterministic mapping — pix2pix's
  ``task_args.inference=paper`` keeps dropout on at test time, which an exported graph does not);
- **autoencoders**: ``--part encoder`` (input → code) or ``--part decoder`` (code → reconstruction in the
  data's units).

The inputs are the first items of the run's test split in the run's preprocessing (the first split that
has items, if the test split is empty), or seeded noise and labels for a generator, so the verification
after writing compares PyTorch and the exported file on real data.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import torch
from torch import nn

from ..errors import ConfigError
from ..recipes.autoencoder import AutoencoderRecipe
from ..recipes.cyclegan import CycleGanRecipe
from ..recipes.gan import GanRecipe
from ..recipes.pix2pix import Pix2PixRecipe
from ..recipes.super_resolution import SuperResolutionRecipe
from ..recipes.supervised import SupervisedRecipe

#: the seed of a generator's verification noise and labels
NOISE_SEED = 0


@dataclass
class ExportTarget:
    """One network ready to export: ``module`` (eval mode, on the CPU, float32) maps the tensors of
    ``inputs`` (name → a batch of real inputs, in order) to a tuple of tensors named as ``outputs``
    (name → what it holds); ``part`` names the network (``model``, ``generator``, ``encoder``, ``decoder``);
    ``preprocessing`` says what the inputs are when they are not the run's items in its preprocessing."""

    module: nn.Module
    inputs: dict[str, torch.Tensor]
    outputs: dict[str, str]
    part: str
    preprocessing: str | None = None


class HeadPredictions(nn.Module):
    """A supervised model followed by its task head's prediction step (the outputs of ``deepzoo predict``),
    returned as a tuple in the head's order."""

    def __init__(self, model: nn.Module, head):
        super().__init__()
        self.model = model
        self.head = head

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return tuple(self.head.predict(self.model(x)).values())


class Affine(nn.Module):
    """A network whose outputs are mapped by ``y * scale + shift`` (model units → the data's units),
    with an optional clamp to [0, 1] for pixels; a conditional generator also reads ``labels``."""

    def __init__(self, network: nn.Module, scale, shift, clamp: bool = False):
        super().__init__()
        self.network = network
        self.register_buffer("scale", torch.as_tensor(scale, dtype=torch.float32))
        self.register_buffer("shift", torch.as_tensor(shift, dtype=torch.float32))
        self.clamp = clamp

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        y = (self.network(x) if labels is None else self.network(x, labels)).float() * self.scale + self.shift
        return y.clamp(0, 1) if self.clamp else y


class AutoencoderPart(nn.Module):
    """One half of an autoencoder: ``encoder`` (input → code) or ``decoder`` (code → the reconstruction in
    the data's units, through the model's output activation)."""

    def __init__(self, autoencoder: nn.Module, part: str):
        super().__init__()
        self.autoencoder = autoencoder
        self.part = part

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.part == "encoder":
            return self.autoencoder.encode(x)
        return self.autoencoder.output_values(self.autoencoder.decode(x))


def _on_cpu(module: nn.Module) -> nn.Module:
    """A float32 CPU copy of ``module`` in eval mode (the run's own module stays where it is)."""
    return copy.deepcopy(module).cpu().float().eval()


def real_items(recipe, n: int) -> torch.Tensor:
    """The first ``n`` inputs of the run's test split (else valid, else train) as the model reads them."""
    for split in ("test", "valid", "train"):
        for batch in recipe.loader(split, n):
            x = batch[0] if isinstance(batch, (tuple, list)) else batch
            return x.detach().cpu().float()
    raise ConfigError(f"{recipe.data.meta.name}: the run's data has no items to verify the export with")


def _pixel_generator(network: nn.Module) -> nn.Module:
    """An image-to-image generator (outputs in [−1, 1]) mapped to pixels in [0, 1]."""
    return Affine(_on_cpu(network), 0.5, 0.5, clamp=True)


def _parts(recipe) -> tuple[str, ...]:
    """The parts ``--part`` may name for this run (the first is the default; none for supervised runs)."""
    if isinstance(recipe, AutoencoderRecipe):
        return ("encoder", "decoder")
    if isinstance(recipe, (GanRecipe, Pix2PixRecipe, CycleGanRecipe, SuperResolutionRecipe)):
        return ("generator",)
    if isinstance(recipe, SupervisedRecipe):
        return ("model",)
    return ()


def export_target(loaded, part: str | None, n: int) -> ExportTarget:
    """The network of the finished run ``loaded`` to export (``part`` for an autoencoder), with ``n`` real
    inputs; a run of a family that does not export is a one-line :class:`ConfigError`."""
    recipe, config = loaded.recipe, loaded.config
    parts = _parts(recipe)
    if not parts:
        why = ("its inputs are graphs (node features with an edge list whose size varies), which a fixed "
               "tensor graph does not take" if config.task in ("node", "link", "graph") else
               "only supervised models, GAN and image-to-image generators and autoencoders export")
        raise ConfigError(f"{loaded.dir}: {config.model.name} ({config.task} run) cannot be exported: {why}")
    if part is None:
        if len(parts) > 1:
            raise ConfigError(f"{loaded.dir}: an autoencoder exports one half: --part {' or --part '.join(parts)}")
        part = parts[0]
    if part not in parts:
        raise ConfigError(f"--part {part}: a {config.task} run exports {' or '.join(parts)}")
    if isinstance(recipe, SupervisedRecipe):
        x = real_items(recipe, n)
        names = recipe.head.predict(torch.zeros(1, recipe.data.meta.num_outputs)).keys()
        return ExportTarget(HeadPredictions(_on_cpu(recipe.model), recipe.head), {"input": x},
                            {name: OUTPUT_UNITS[name] for name in names}, part)
    if isinstance(recipe, GanRecipe):
        return _gan_target(recipe, n)
    if isinstance(recipe, AutoencoderRecipe):
        return _autoencoder_target(recipe, part, n)
    return _image_to_image_target(recipe, n)


#: what each supervised output holds
OUTPUT_UNITS = {"probability": "class probabilities (softmax; sigmoid for binary and multi-label runs)",
                "label": "the predicted class index (argmax; probability ≥ threshold for binary and multi-label)",
                "value": "predicted values in the target's units"}


def _gan_target(recipe: GanRecipe, n: int) -> ExportTarget:
    """A GAN's generator: seeded noise (and, for cGAN/AC-GAN, class labels 0, 1, … in turn) → items in the
    data's raw units (``GanRecipe.to_raw``)."""
    meta = recipe.data.meta
    seeded = torch.Generator().manual_seed(NOISE_SEED)
    inputs = {"noise": recipe.noise_batch(n, seeded, device=torch.device("cpu"))}
    if recipe.conditional:
        inputs["labels"] = torch.arange(n) % meta.num_classes
    view = (-1,) + (1,) * (len(meta.input_shape) - 1)
    mean = torch.tensor(meta.mean).view(view) if meta.mean is not None else 0.0
    std = torch.tensor(meta.std).view(view) if meta.std is not None else 1.0
    what = ("U(−1, 1)" if recipe.noise == "uniform" else "N(0, 1)") + f" noise of width {recipe.model.latent_dim}"
    if recipe.conditional:
        what += f" and int64 class labels (0 to {meta.num_classes - 1}: {', '.join(meta.class_names)})"
    return ExportTarget(Affine(_on_cpu(recipe.model.generator), std, mean), inputs,
                        {"sample": "generated items in the data's raw units (pixels in [0, 1])"}, "generator",
                        f"none: the inputs are {what}")


def _autoencoder_target(recipe: AutoencoderRecipe, part: str, n: int) -> ExportTarget:
    """An autoencoder's encoder (real inputs → codes) or decoder (the codes of real inputs → reconstructions)."""
    x = recipe.inputs_and_target(real_items(recipe, n).to(recipe.device))[0].cpu()
    model = _on_cpu(recipe.model)
    if part == "encoder":
        return ExportTarget(AutoencoderPart(model, "encoder"), {"input": x}, {"code": "the code of each item"}, part)
    with torch.no_grad():
        code = model.encode(x)
    return ExportTarget(AutoencoderPart(model, "decoder"), {"code": code},
                        {"reconstruction": "decoded items in the data's (normalised) units"}, part,
                        "none: the inputs are codes (the encoder's outputs)")


def _image_to_image_target(recipe, n: int) -> ExportTarget:
    """pix2pix / next-frame (A → B), CycleGAN (A → B) or SRGAN (low → high resolution): the generator from
    the condition in the run's units to pixels in [0, 1]."""
    if isinstance(recipe, SuperResolutionRecipe):
        low = recipe.pairs(recipe.data.test if len(recipe.data.test) else recipe.data.valid).x[:n]
        return ExportTarget(_pixel_generator(recipe.model.generator), {"input": low.cpu().float()},
                            {"image": "super-resolved images, pixels in [0, 1]"}, "generator",
                            f"low-resolution images, pixels in [0, 1] (×{recipe.scale} bicubic downscales of the "
                            "training crops)")
    if isinstance(recipe, CycleGanRecipe):
        a = recipe.domains(recipe.data.test if len(recipe.data.test) else recipe.data.valid)[0][:n]
        return ExportTarget(_pixel_generator(recipe.model.generator_ab), {"input": a.cpu().float()},
                            {"image": "domain-A images translated to domain B, pixels in [0, 1]"}, "generator")
    source = real_items(recipe, n)
    return ExportTarget(_pixel_generator(recipe.model.generator), {"input": source},
                        {"image": "translated images (A → B), pixels in [0, 1]"}, "generator")
