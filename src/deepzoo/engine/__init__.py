"""The training engine: one loop for every recipe (see :func:`fit`)."""

from .loop import fit

__all__ = ["fit"]
