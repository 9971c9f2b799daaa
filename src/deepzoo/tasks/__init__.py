"""Supervised tasks: heads, losses, metrics and learnable activations (the task itself is inferred from
the targets by :mod:`deepzoo.data.targets`)."""

from .activations import OUTPUT_ACTIVATIONS, BentIdentity, SoftExponential, no_weight_decay_params, output_activation

__all__ = ["OUTPUT_ACTIVATIONS", "BentIdentity", "SoftExponential", "no_weight_decay_params", "output_activation"]
