"""Loading local weight files into a model: completely or not at all (never downloads; torchvision's
weights by name are fetched by :mod:`deepzoo.models.pretrained`, which loads them through here).

Files are read with ``torch.load(weights_only=True)`` or safetensors, so no code in a file ever runs. A
model may define ``convert_state_dict(state) -> state`` to map another project's key names
(torchvision's) to its own.

A file loads only when every tensor of the model is in it with the model's shape and it holds nothing
else. The one exception is transfer learning (``reset_classifier=True``): the classifier — the tensors
under the model's ``classifier_prefixes``, ``head.`` by default (GoogLeNet adds its auxiliary
classifiers' last layers) — may be absent or of another class count, and is then left freshly
initialised. Anything else that is missing, unexpected or of another shape is a one-line error naming
the first few, so a half-loaded model can never train as if it were pretrained (PyTorch's
``strict=False`` and timm's ``pretrained_strict=False`` load what fits silently).
"""

from __future__ import annotations

import pickle
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from ..errors import ConfigError, one_line

SHOWN = 3  # tensors named per kind of mismatch in an error


def read_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """Read a flat ``{name: tensor}`` state dict from ``.safetensors`` or a ``torch.save`` file."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: weights file not found")
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            state = load_file(str(path))
        else:
            state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:  # torch's message relays advice to drop weights_only: not ours
        if "GLOBAL" in str(err):
            raise ConfigError(f"{path}: refused: it holds pickled Python objects besides tensors, and deepzoo "
                              "never runs code from a file; save model.state_dict() or .safetensors") from None
        raise ConfigError(f"{path}: not a readable weights file (neither a torch.save file nor "
                          ".safetensors)") from None
    except Exception as err:  # noqa: BLE001 - any parse failure is a bad user file
        raise ConfigError(f"{path}: not a readable weights file ({type(err).__name__}: {one_line(err)})") from None
    if isinstance(state, dict) and "model" in state and isinstance(state["model"], dict):
        state = state["model"]  # a deepzoo checkpoint
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ConfigError(f"{path}: expected a state dict of tensors")
    return state


@dataclass
class LoadedWeights:
    """What :func:`load_weights` did: tensors loaded out of the model's total, and the classifier
    tensors left freshly initialised (empty unless the head was reset for transfer)."""

    loaded: int
    total: int
    reset: list[str] = field(default_factory=list)

    def describe(self, source: str | Path) -> str:
        """The run-log line; ``source`` is the file, or the named weights and their cached file."""
        line = f"weights: loaded {self.loaded} of {self.total} tensors from {source}"
        if self.reset:
            line += f"; the head ({', '.join(self.reset)}) was re-initialised for this task's outputs"
        return line


def _shape(t: torch.Tensor | torch.Size) -> str:
    return "(" + ", ".join(str(d) for d in t) + ")"


def shape_reason(file_shape: torch.Size, own_shape: torch.Size) -> str:
    """Why two shapes of one tensor differ, where the shapes tell (a convolution's kernel or input
    channels), else an empty string."""
    if len(file_shape) == len(own_shape) == 4:
        if file_shape[2:] != own_shape[2:]:
            (fh, fw), (oh, ow) = file_shape[2:], own_shape[2:]
            why = f"{fh}×{fw} kernels in the file, {oh}×{ow} here"
            if (fh, oh) == (7, 3):
                why += ": an ImageNet 7×7 stem against the small-input 3×3 stem (set input_size to match the file)"
            return why
        if file_shape[0] == own_shape[0] and file_shape[1] != own_shape[1]:
            return f"{file_shape[1]} input channels in the file, {own_shape[1]} here (in_chans)"
    return ""


def load_weights(model: nn.Module, path: str | Path, reset_classifier: bool = False) -> LoadedWeights:
    """Load the state dict at ``path`` into ``model`` (through ``model.convert_state_dict`` if any),
    completely or not at all; with ``reset_classifier`` the classifier may differ (see the module
    docstring)."""
    return load_state(model, read_state_dict(path), path, reset_classifier)


def load_state(model: nn.Module, state: dict[str, torch.Tensor], source: str | Path,
               reset_classifier: bool = False) -> LoadedWeights:
    """Load ``state`` into ``model`` as :func:`load_weights` does; ``source`` names where it came from
    (a file, or named weights and their cached file) in the error."""
    convert = getattr(model, "convert_state_dict", None)
    if convert is not None:
        state = convert(state)
    own = model.state_dict()
    head = tuple(getattr(model, "classifier_prefixes", ("head.",))) if reset_classifier else ()
    is_head = (lambda k: k.startswith(head)) if head else (lambda k: False)
    shapes = [k for k, v in state.items() if k in own and own[k].shape != v.shape and not is_head(k)]
    missing = [k for k in own if k not in state and not is_head(k)]
    unexpected = [k for k in state if k not in own and not is_head(k)]
    if shapes or missing or unexpected:
        raise ConfigError(f"{source}: does not fit {type(model).__name__} "
                          f"({len(shapes) + len(missing) + len(unexpected)} of {len(own)} tensors differ): "
                          + "; ".join(_mismatches(state, own, shapes, missing, unexpected)))
    fits = {k: v for k, v in state.items() if k in own and own[k].shape == v.shape}
    model.load_state_dict(fits, strict=False)
    reset = [k for k in own if k not in fits]
    return LoadedWeights(len(fits), len(own), reset)


def _mismatches(state: dict[str, torch.Tensor], own: dict[str, torch.Tensor], shapes: list[str],
                missing: list[str], unexpected: list[str]) -> list[str]:
    """The error's parts: the first few tensors of each kind of mismatch."""
    parts = []
    for k in shapes[:SHOWN]:
        reason = shape_reason(state[k].shape, own[k].shape)
        parts.append(f"{k} is {_shape(state[k].shape)} in the file, {_shape(own[k].shape)} here"
                     + (f" ({reason})" if reason else ""))
    for what, keys in (("missing from the file", missing), ("not in the model", unexpected)):
        if keys:
            more = f" and {len(keys) - SHOWN} more" if len(keys) > SHOWN else ""
            parts.append(f"{what}: {', '.join(keys[:SHOWN])}{more}")
    return parts
