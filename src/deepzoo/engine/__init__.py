"""The training engine: one loop for every recipe (see :func:`fit`)."""

from .loop import StopTraining, fit

__all__ = ["StopTraining", "fit"]
