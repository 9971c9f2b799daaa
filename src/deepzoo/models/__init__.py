"""Model registry: ``create_model(name, **kwargs) -> nn.Module``.

Each family lives in its own module of this package (one file per family, as in timm) and registers
its variants with :data:`MODELS`. Every module here is imported on first use, so adding a family is
adding a file.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # torch is imported by the families, so that reading the catalogue does not load it
    from torch import nn

from ..errors import ConfigError
from ..registry import Registry

MODELS = Registry("model")
#: families whose module imports a heavy library (PyTorch Geometric, and with it a deprecation warning
#: from torch.jit): imported only when a name is not found in the others, so a CSV or image run never
#: loads them
DEFERRED_FAMILIES = ("gnn",)
_loaded: set[str] = set()


def _load_families(deferred: bool = False) -> None:
    """Import the modules of this package so that their ``@MODELS.register`` decorators run: every
    module but :data:`DEFERRED_FAMILIES`, and those too when ``deferred``."""
    for info in pkgutil.iter_modules(__path__):
        wanted = not info.name.startswith("_") and (deferred or info.name not in DEFERRED_FAMILIES)
        if wanted and info.name not in _loaded:
            _loaded.add(info.name)
            importlib.import_module(f"{__name__}.{info.name}")


def register_model(name: str | None = None, **meta: Any):
    """Register a model constructor. ``meta`` records family, paper, default task and reference numbers."""
    return MODELS.register(name, **meta)


def model_entry(name: str):
    """The registry entry of ``name`` (factory and metadata); unknown names list close matches."""
    _load_families()
    if name not in MODELS:
        _load_families(deferred=True)
    return MODELS.get(name)


def list_models() -> list[str]:
    """Every registered model name, sorted."""
    _load_families(deferred=True)
    return MODELS.names()


def accepted_kwargs(name: str, candidates: dict[str, Any]) -> dict[str, Any]:
    """The subset of ``candidates`` that the constructor of ``name`` accepts by keyword.

    Recipes use this to pass what the data says (``num_classes``, ``in_chans``, ``input_size`` ...)
    without every constructor having to accept every key.
    """
    params = inspect.signature(model_entry(name).factory).parameters
    if any(p.kind is p.VAR_KEYWORD for p in params.values()):
        return dict(candidates)
    return {k: v for k, v in candidates.items() if k in params}


def create_model(name: str, weights: str | None = None, **kwargs: Any) -> nn.Module:
    """Build the registered model ``name`` with the paper's knobs given by keyword.

    ``weights`` is one of

    - ``"imagenet"`` or ``"torchvision:ENUM"``: torchvision's published weights for this model
      (:mod:`deepzoo.models.pretrained`), from torch.hub's cache, downloaded once when missing and online.
      Without ``num_classes`` the model keeps the weights' 1000 classes, and ``model.pretrained`` (a
      :class:`~deepzoo.models.pretrained.PretrainedWeights`) carries their category names, preprocessing
      and accuracy; the model is built at the weights' crop size unless ``input_size``/``image_size`` is
      given (it matters for ViT's position embeddings);
    - a local state-dict file (``.pt``/``.pth`` read with ``weights_only=True``, or ``.safetensors``);
      files saved from the torchvision model of the same name load through the family's key mapping;
    - ``"hf:gpt2"`` (``hf:REPO``): OpenAI's GPT-2 weights from the Hugging Face hub's cache, sized by the
      repository's config (:mod:`deepzoo.models.gpt_weights`).

    Either loads completely; when ``num_classes`` is given, the classifier may differ (another class
    count) and is then freshly initialised, as timm's ``pretrained=True, num_classes=N`` does. A keyword
    the constructor does not take raises :class:`ConfigError` naming it and the accepted ones.
    """
    from .pretrained import check_arguments, is_named_weights, load_pretrained, resolve_weights

    entry = model_entry(name)
    params = inspect.signature(entry.factory).parameters
    if not any(p.kind is p.VAR_KEYWORD for p in params.values()):
        unknown = sorted(set(kwargs) - set(params))
        if unknown:
            raise ConfigError(
                f"model {name!r} does not take {', '.join(unknown)}; it takes {', '.join(params) or 'nothing'}"
            )
    from .gpt_weights import is_hub_weights, load_hub_gpt

    if is_hub_weights(weights):
        return load_hub_gpt(name, weights, kwargs)
    named = resolve_weights(name, weights) if is_named_weights(weights) else None
    if named is not None:
        check_arguments(named, kwargs)
        if not {"input_size", "image_size"} & kwargs.keys() and "input_size" in params:
            kwargs["input_size"] = named.input_size
    model = entry.factory(**kwargs)
    if named is not None:
        load_pretrained(model, named, kwargs, reset_classifier="num_classes" in kwargs)
    elif weights is not None:
        from ._weights import load_weights

        load_weights(model, weights, reset_classifier="num_classes" in kwargs)
    return model
