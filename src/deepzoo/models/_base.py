"""The classifier interface shared by every model of the zoo (as in timm).

``forward(x) = forward_head(forward_features(x))``; ``num_features`` is the width of the features that
enter the head; ``reset_head(n)`` swaps the head for ``n`` outputs (transfer learning) without touching
the backbone.
"""

from __future__ import annotations

import torch
from torch import nn


class Classifier(nn.Module):
    """Base class: subclasses build ``self.head`` (an ``nn.Linear`` or ``nn.Identity``) and
    implement :meth:`forward_features` returning pooled, flat features of width ``num_features``."""

    num_features: int
    head: nn.Module
    #: state-dict prefixes of the classifier, the only tensors a transfer may re-initialise
    classifier_prefixes: tuple[str, ...] = ("head.",)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def forward_head(self, features: torch.Tensor) -> torch.Tensor:
        """Map pooled features to outputs (logits for classifiers)."""
        return self.head(features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_head(self.forward_features(x))

    def reset_head(self, num_outputs: int) -> None:
        """Replace the head by a fresh linear layer with ``num_outputs`` outputs (0 gives features)."""
        device = next(self.parameters()).device
        self.head = nn.Linear(self.num_features, num_outputs).to(device) if num_outputs else nn.Identity()
