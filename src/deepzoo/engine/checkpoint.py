"""Atomic checkpoints: a kill at any moment leaves the previous file loadable.

Files are written to a temporary file in the destination folder (never ``$TMPDIR``, which can be a
small disk on clusters), flushed, fsynced and moved into place with ``os.replace``; the folder is
fsynced too. They are read back with ``torch.load(weights_only=True)``: only tensors and plain Python
containers, never arbitrary objects.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import torch

from ..errors import TrainingError


def atomic_save(obj: Any, path: str | Path) -> None:
    """``torch.save`` to ``path`` atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(obj, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


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
