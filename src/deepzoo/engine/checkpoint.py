"""Atomic checkpoints: a kill at any moment leaves the previous file loadable.

Files are written through :func:`deepzoo.files.atomic_path` (a temporary file in the destination
folder, fsynced, moved into place with ``os.replace``). They are read back with
``torch.load(weights_only=True)``: only tensors and plain Python containers, never arbitrary objects.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from ..errors import TrainingError
from ..files import atomic_path


def atomic_save(obj: Any, path: str | Path) -> None:
    """``torch.save`` to ``path`` atomically."""
    with atomic_path(path) as tmp:
        torch.save(obj, tmp)


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Read a checkpoint written by :func:`atomic_save` (weights only, on the CPU)."""
    path = Path(path)
    if not path.is_file():
        raise TrainingError(f"{path}: no checkpoint to resume from")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 - a damaged file is the user's to know about
        raise TrainingError(f"{path}: checkpoint cannot be read ({type(err).__name__})") from None


def copy_state(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    """A detached copy of ``module``'s state dict (kept on its device)."""
    return {k: v.detach().clone() for k, v in module.state_dict().items()}
