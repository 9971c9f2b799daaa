"""Loading local weight files into a model (never downloads).

Files are read with ``torch.load(weights_only=True)`` or safetensors. A model may define
``convert_state_dict(state) -> state`` to map another project's key names (torchvision's) to its own.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from ..errors import ConfigError


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
    except Exception as err:  # noqa: BLE001 - any parse failure is a bad user file
        raise ConfigError(f"{path}: not a readable weights file ({type(err).__name__}: {err})") from None
    if isinstance(state, dict) and "model" in state and isinstance(state["model"], dict):
        state = state["model"]  # a deepzoo checkpoint
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ConfigError(f"{path}: expected a state dict of tensors")
    return state


def load_weights(model: nn.Module, path: str | Path, strict: bool = True) -> None:
    """Load the state dict at ``path`` into ``model``, through ``model.convert_state_dict`` if any.

    A head whose shape differs (another class count) is skipped when ``strict`` is False, so
    pretrained backbones transfer to new tasks; with ``strict`` any mismatch is a one-line error.
    """
    state = read_state_dict(path)
    convert = getattr(model, "convert_state_dict", None)
    if convert is not None:
        state = convert(state)
    own = model.state_dict()
    mismatched = [k for k, v in state.items() if k in own and own[k].shape != v.shape]
    if not strict:
        state = {k: v for k, v in state.items() if k not in mismatched}
    elif mismatched:
        k = mismatched[0]
        raise ConfigError(
            f"{path}: {k} has shape {tuple(state[k].shape)}, the model expects {tuple(own[k].shape)}"
        )
    missing, unexpected = model.load_state_dict(state, strict=False)
    if strict and (missing or unexpected):
        raise ConfigError(
            f"{path}: does not fit this model (missing {missing[:3]}, unexpected {unexpected[:3]})"
        )
