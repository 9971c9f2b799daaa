"""The classifier interface shared by every classifier of the zoo, with timm's names and meaning.

``forward(x) = forward_head(forward_features(x))``, where

- ``forward_features(x)`` returns the **unpooled** features: the last stage's map (N, C, H, W) of a 2-D
  convnet (N, C, L for a 1-D one), the token sequence (N, 1 + T, D) of a ViT after its final layer norm
  (class token first), and for models without a spatial map (MLP, linear) the flat vector (N, D). This is
  what attribution maps, segmentation decoders and feature pyramids read;
- ``forward_head(x, pre_logits=False)`` pools those features as the paper does (global average pooling,
  ViT's class token, AlexNet's and VGG's adaptive pool + fully connected layers ...) and applies the final
  linear layer; ``pre_logits=True`` stops before it and returns the pooled vector (N, ``num_features``);
- ``num_features`` is the width of that pre-logits vector, the input of the final linear layer;
- ``get_classifier()`` returns the final layer and ``reset_classifier(num_classes)`` replaces it by a
  fresh linear layer (transfer learning), leaving the backbone alone; ``num_classes=0`` gives an identity,
  so ``forward`` returns the pre-logits (an encoder for SSL probes and feature statistics).
"""

from __future__ import annotations

import torch
from torch import nn

from ..errors import ConfigError


class Classifier(nn.Module):
    """Base class of the zoo's classifiers (timm's interface; see the module docstring).

    Subclasses build ``self.head`` (an ``nn.Linear``, or ``nn.Identity`` without classes), set
    ``num_features`` and implement :meth:`forward_features`; models whose features are pooled by more than
    an identity override :meth:`forward_head` too.
    """

    num_features: int
    head: nn.Module
    #: state-dict prefixes of the classifier, the only tensors a transfer may re-initialise
    classifier_prefixes: tuple[str, ...] = ("head.",)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """The unpooled features of a batch (see the module docstring for their shape per kind of model)."""
        raise NotImplementedError

    def forward_head(self, x: torch.Tensor, pre_logits: bool = False) -> torch.Tensor:
        """Pool the features ``x`` of :meth:`forward_features` and classify them; ``pre_logits`` returns
        the pooled vector (N, num_features) instead. Here the features are already that vector."""
        return x if pre_logits else self.head(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Outputs (logits for classifiers): ``forward_head(forward_features(x))``."""
        return self.forward_head(self.forward_features(x))

    def get_classifier(self) -> nn.Module:
        """The final layer, which maps the pre-logits vector to the outputs (timm's name)."""
        return self.head

    def reset_classifier(self, num_classes: int, global_pool: str | None = None) -> None:
        """Replace the final layer by a fresh linear layer with ``num_classes`` outputs, on the model's
        device and dtype; 0 gives an identity, so :meth:`forward` returns the pre-logits vector.

        ``global_pool`` is timm's argument to change the pooling; a deepzoo model pools as its paper does
        (take the unpooled features from :meth:`forward_features`), so only None is accepted.
        """
        if global_pool is not None:
            raise ConfigError(f"{type(self).__name__}.reset_classifier: global_pool={global_pool!r} is not "
                              "supported (the pooling is the paper's; forward_features gives the unpooled "
                              "features)")
        first = next(self.parameters(), None)
        where = {} if first is None else {"device": first.device, "dtype": first.dtype}
        self.head = nn.Linear(self.num_features, num_classes, **where) if num_classes else nn.Identity()
