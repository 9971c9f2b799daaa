"""Supervised tasks: inference from the targets, heads, losses, metrics and learnable activations."""

from .activations import OUTPUT_ACTIVATIONS, BentIdentity, SoftExponential, no_weight_decay_params, output_activation
from .inference import SUPERVISED_TASKS, infer_task

__all__ = ["OUTPUT_ACTIVATIONS", "SUPERVISED_TASKS", "BentIdentity", "SoftExponential", "infer_task",
           "no_weight_decay_params", "output_activation"]
