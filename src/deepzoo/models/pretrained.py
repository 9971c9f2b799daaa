"""Pretrained weights by name: ``weights="imagenet"`` or ``weights="torchvision:ENUM"``.

torchvision publishes ImageNet weights for the zoo models that are its own architectures (AlexNet, VGG
with and without batch norm, GoogLeNet in its torchvision variant, ResNet-18 … 152, ViT-B/16, L/16 and
H/14). Its weight registry (``torchvision.models.get_model_weights(name)``, an enum per model) gives each
file's URL, the preprocessing it was trained with (``weights.transforms()``: resize, centre crop,
interpolation, mean and std), the 1000 ImageNet category names and its measured accuracy. This module
reads that registry — metadata in torchvision's code, nothing downloaded — and loads the file from
torch.hub's cache, ``$TORCH_HOME/hub/checkpoints/<the URL's file name>``, the place where
``torchvision.models.resnet50(weights=...)`` keeps it too. Only a file missing from the cache is
downloaded (``torch.hub.download_url_to_file``, which checks the hash in the file name), and only when
``DEEPZOO_OFFLINE`` is unset and the network answers; otherwise one line names the URL and the exact path
to place the file at (:func:`deepzoo.downloads.fetch`). The file is read with ``torch.load(
weights_only=True)`` and loaded completely or not at all (:mod:`deepzoo.models._weights`): only the
classifier may be re-initialised for another class count.

``"imagenet"`` is the model's DEFAULT weights (ResNet-50: ``IMAGENET1K_V2``, 80.858% top-1);
``"torchvision:IMAGENET1K_V1"`` (or the full ``"torchvision:ResNet50_Weights.IMAGENET1K_V1"``) picks a
member of the enum. Two families need more than the file:

- GoogLeNet: torchvision's weights were ported from Caffe and read pixels in [−1, 1]; torchvision turns
  ``transform_input`` on whenever it loads them, and so does :func:`load_pretrained` (unless the
  constructor argument was given), so the model reads ImageNet-normalised pixels like every other one.
  The auxiliary classifiers in the file are not trained (torchvision warns so); they load only into a
  model built with ``aux_logits=True``.
- ViT: the position embeddings fix the image size. ``IMAGENET1K_V1`` is for 224×224 images, the SWAG
  weights for 384 (B/16), 512 (L/16) or 518 (H/14) end to end, or 224 with their linear classifier; a
  model built for another size is refused before anything is read, and :func:`deepzoo.models.create_model`
  builds at the weights' crop size unless ``input_size``/``image_size`` is given.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..downloads import fetch
from ..errors import ConfigError
from ..registry import Registry

if TYPE_CHECKING:  # torch is imported by the families; reading this module's names does not need it
    from torch import Tensor, nn

    from ._weights import LoadedWeights

IMAGENET = "imagenet"
PREFIX = "torchvision:"
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
"""The ImageNet channel statistics torchvision's classification weights normalise with."""

#: zoo models built by default as the torchvision model of the same name, whose weight files load
#: through the family's ``convert_state_dict``
TORCHVISION_WEIGHTS = frozenset({
    "alexnet", "googlenet", "resnet18", "resnet34", "resnet50", "resnet101", "resnet152", "vit_b_16",
    "vit_l_16", "vit_h_14",
    *(f"vgg{depth}{bn}" for depth in (11, 13, 16, 19) for bn in ("", "_bn")),
})
#: what to say instead, by family, when torchvision publishes no weights for a zoo model
NO_WEIGHTS_HINTS = {
    "resnet": "the CIFAR ResNets are trained from scratch; resnet18 … resnet152 have ImageNet weights",
    "mobilenet": "torchvision has weights for MobileNet v2 and v3 only, not for the paper's v1",
    "vit": "vit_b_16, vit_l_16 and vit_h_14 have ImageNet weights",
}
#: the ``variant`` (ResNet, AlexNet, GoogLeNet) that is torchvision's architecture; the others have no weights
VARIANT_DEFAULT = "torchvision"


@dataclass
class PretrainedWeights:
    """One entry of torchvision's weight registry, as deepzoo uses it (see the module docstring)."""

    model: str  #: deepzoo model name, e.g. ``"resnet50"``
    enum: str  #: torchvision's full name, e.g. ``"ResNet50_Weights.IMAGENET1K_V2"``
    url: str
    path: Path  #: torch.hub's cache file, ``$TORCH_HOME/hub/checkpoints/<basename(url)>``
    #: the class names of the outputs (``weights.meta["categories"]``); None for weights without a
    #: trained classifier (VGG-16's ``IMAGENET1K_FEATURES``) and on a model whose head was re-initialised
    categories: list[str] | None = field(repr=False)
    #: the weights' ``transforms()``: ``resize`` (shorter side), ``crop`` (centre, square),
    #: ``interpolation``, ``mean``, ``std`` (on pixels in [0, 1])
    preprocessing: dict[str, Any]
    #: what torchvision measured: ``dataset``, ``acc@1``, ``acc@5``, ``num_params``, ``recipe``
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def input_size(self) -> int:
        """The image size the weights were evaluated at (the centre crop)."""
        return self.preprocessing["crop"]

    def describe(self) -> str:
        """``torchvision ResNet50_Weights.IMAGENET1K_V2 (ImageNet-1K acc@1 80.858) at PATH``, for logs and
        errors."""
        acc = self.meta.get("acc@1")
        measured = f" ({self.meta['dataset']} acc@1 {acc})" if acc is not None and not math.isnan(acc) else ""
        return f"torchvision {self.enum}{measured} at {self.path}"


def is_named_weights(spec: str | None) -> bool:
    """Whether ``spec`` names torchvision weights (``imagenet`` or ``torchvision:ENUM``) rather than a file."""
    return isinstance(spec, str) and (spec == IMAGENET or spec.startswith(PREFIX))


def describe_weights(model: str, spec: str | Path) -> str:
    """What a log says the weights ``spec`` of ``model`` are: the named weights with their accuracy and
    cached file (:meth:`PretrainedWeights.describe`), or the local file."""
    return resolve_weights(model, spec).describe() if is_named_weights(str(spec)) else str(spec)


def _weights_enum(model: str) -> Any:
    """torchvision's weights enum of ``model``; a one-line error when it publishes none."""
    from . import model_entry

    family = model_entry(model).meta.get("family", "")  # an unknown name fails here with close matches
    if model not in TORCHVISION_WEIGHTS:
        hint = NO_WEIGHTS_HINTS.get(family)
        raise ConfigError(f"torchvision publishes no weights for {model}" + (f" ({hint})" if hint else "")
                          + "; train it from scratch or pass a local weights file")
    import torchvision.models

    return torchvision.models.get_model_weights(model)


def _member(enum: Any, model: str, name: str) -> Any:
    """The member ``name`` (``IMAGENET1K_V2``, ``DEFAULT`` or ``ResNet50_Weights.IMAGENET1K_V2``) of the
    weights enum of ``model``; an unknown one fails with the close matches and the enum's members."""
    owner, _, member = name.rpartition(".")
    if owner and owner != enum.__name__:
        raise ConfigError(f"{name} are not weights of {model} (its weights are {enum.__name__}.*)")
    members = Registry(f"torchvision weights of {model} ({enum.__name__})")
    for key, value in enum.__members__.items():  # DEFAULT is among them (an alias)
        members.register(key)(lambda value=value: value)
    return members.get(member.upper()).factory()


def resolve_weights(model: str, spec: str) -> PretrainedWeights:
    """The torchvision weights ``spec`` (``imagenet`` = the DEFAULT member, ``torchvision:ENUM``) of the
    zoo model ``model``, with their cache path, categories, preprocessing and accuracy. Reads only
    torchvision's registry: nothing is downloaded or loaded."""
    if not is_named_weights(spec):
        raise ConfigError(f"weights {spec!r}: named weights are {IMAGENET!r} or '{PREFIX}ENUM'")
    enum = _weights_enum(model)
    weights = enum.DEFAULT if spec == IMAGENET else _member(enum, model, spec[len(PREFIX):])
    import torch.hub

    transforms = weights.transforms()
    (dataset, metrics), = weights.meta["_metrics"].items()
    return PretrainedWeights(
        model=model, enum=str(weights), url=weights.url,
        path=Path(torch.hub.get_dir()) / "checkpoints" / weights.url.rsplit("/", 1)[-1],
        categories=list(weights.meta["categories"]) if weights.meta.get("categories") else None,
        preprocessing={"resize": transforms.resize_size[0], "crop": transforms.crop_size[0],
                       "interpolation": transforms.interpolation.value, "mean": list(transforms.mean),
                       "std": list(transforms.std)},
        meta={"dataset": dataset, **metrics, "num_params": weights.meta.get("num_params"),
              "recipe": weights.meta.get("recipe")},
    )


def _download(weights: PretrainedWeights) -> None:
    """Fetch the file into torch.hub's cache with torch.hub's own download (temporary file, then moved
    into place), which checks the hash prefix in the file name as ``load_state_dict_from_url`` does."""
    import torch.hub

    weights.path.parent.mkdir(parents=True, exist_ok=True)
    found = torch.hub.HASH_REGEX.search(weights.path.name)
    try:
        torch.hub.download_url_to_file(weights.url, str(weights.path), found.group(1) if found else None)
    except RuntimeError as err:
        if "hash" not in str(err):
            raise
        raise ConfigError(f"{weights.url}: the download does not match the hash in its name; "
                          "nothing was written, try again") from None


def load_pretrained_state(weights: PretrainedWeights) -> dict[str, Tensor]:
    """The state dict of ``weights`` from torch.hub's cache (``torch.load(weights_only=True)``),
    downloaded first only when the file is missing (see the module docstring)."""
    from ._weights import read_state_dict

    if not weights.path.is_file():
        fetch(f"{weights.enum} for {weights.model}", lambda: _download(weights), [weights.url], weights.path,
              ConfigError)
    return read_state_dict(weights.path)


def model_settings(weights: PretrainedWeights) -> dict[str, Any]:
    """Constructor arguments the weights need beyond the zoo model's defaults, applied unless given
    (GoogLeNet's ``transform_input``); a run records them in its config so a rebuilt model matches."""
    return {"transform_input": True} if weights.model == "googlenet" else {}


def check_arguments(weights: PretrainedWeights, args: dict[str, Any]) -> None:
    """Refuse constructor arguments ``args`` the weights cannot start: a variant torchvision has no
    weights for, or a classifier for weights without a trained one. Cheap: before a model is built."""
    variant = args.get("variant", VARIANT_DEFAULT)
    if variant != VARIANT_DEFAULT:
        raise ConfigError(f"torchvision publishes no weights for {weights.model} variant={variant!r}: "
                          f"{weights.enum} are for variant={VARIANT_DEFAULT!r} (the default)")
    if weights.categories is None:
        raise ConfigError(f"{weights.enum} hold trained convolutional features only (torchvision: the "
                          "classifier has no trained values), so they cannot start a classifier; use "
                          f"{weights.enum.split('.')[0]}.DEFAULT ('{IMAGENET}')")


def position_embeddings(model: nn.Module) -> Tensor | None:
    """A ViT's position embeddings, which fix the image size it reads; None for a convnet (any size)."""
    return getattr(getattr(model, "encoder", None), "pos_embedding", None)


def build_size(weights: PretrainedWeights, size: int) -> int:
    """The ``input_size`` to build ``weights.model`` with for data of ``size`` pixels: the weights' own
    crop size, since they were trained with that architecture (a ResNet's or AlexNet's ImageNet stem, not
    the small-input stem deepzoo builds for small images). A ViT reads only its weights' size (its
    position embeddings fix it): data of another size is a one-line error."""
    from . import model_entry

    if model_entry(weights.model).meta.get("family") == "vit" and size != weights.input_size:
        raise ConfigError(f"{weights.enum} are for {weights.input_size}×{weights.input_size} images and the data "
                          f"is {size}×{size}; a ViT's position embeddings fix its size: read the images at "
                          f"size={weights.input_size} (image folders are read so by default with these weights)")
    return weights.input_size


def _check_image_size(model: nn.Module, weights: PretrainedWeights) -> None:
    """Refuse a ViT built for another image size than the weights' (its position embeddings)."""
    pos_embedding = position_embeddings(model)
    if pos_embedding is not None:
        patch = model.conv_proj.stride[0]
        if pos_embedding.shape[1] != (weights.input_size // patch) ** 2 + 1:
            built = round(math.sqrt(pos_embedding.shape[1] - 1)) * patch
            raise ConfigError(f"{weights.enum} are for {weights.input_size}×{weights.input_size} images and this "
                              f"{weights.model} is built for {built}×{built} (its position embeddings); build "
                              f"it with input_size={weights.input_size} (data at that size) or pick weights "
                              "for your size")


def load_pretrained(model: nn.Module, weights: PretrainedWeights, args: dict[str, Any] | None = None,
                    reset_classifier: bool = False) -> LoadedWeights:
    """Load ``weights`` into ``model``, built with the constructor arguments ``args``, completely or not
    at all (``reset_classifier``: the classifier may be of another class count and is then left freshly
    initialised). Applies :func:`model_settings` not given in ``args`` and sets ``model.pretrained`` to
    the :class:`PretrainedWeights` (``categories`` None when the head was re-initialised)."""
    from ._weights import load_state

    args = args or {}
    check_arguments(weights, args)
    _check_image_size(model, weights)
    for key, value in model_settings(weights).items():
        setattr(model, key, args.get(key, value))
    loaded = load_state(model, load_pretrained_state(weights), weights.describe(), reset_classifier)
    model.pretrained = replace(weights, categories=None) if loaded.reset else weights
    return loaded
