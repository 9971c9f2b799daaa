"""Supervised tasks: inference from the targets, heads, losses, metrics and learnable activations."""

from .inference import SUPERVISED_TASKS, infer_task

__all__ = ["SUPERVISED_TASKS", "infer_task"]
