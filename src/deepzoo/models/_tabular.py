"""Learned embeddings for a table's wide categorical columns, in front of any classifier of the zoo.

An encoded table row (see :mod:`deepzoo.data.table_encoding`) is a dense block — numbers, one-hot and
missing-indicator columns — followed by one integer code per embedded column (0 = a category not seen in
training). :class:`TabularEncoder` looks every code up in its column's ``nn.Embedding`` (entity
embeddings, Guo & Berkhahn 2016, arXiv:1604.06737, §3: one learned vector per category, trained with the
network), concatenates the vectors to the dense block and hands the result to the backbone (an MLP, or
the linear model). It keeps timm's classifier interface: the backbone's head becomes the wrapper's
``head``, so freezing the backbone, re-initialising the classifier and ``forward_features`` work as for
the plain MLP.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from ..data.table_encoding import TableEncoding, embedding_dim
from . import create_model
from ._base import Classifier


class TabularEncoder(Classifier):
    """``backbone(dense ‖ embedding₁(code₁) ‖ … ‖ embedding_E(code_E))``, with the backbone's head as its own.

    ``cardinalities`` are the codes per embedded column (categories + 1 for the unknown code 0);
    ``dims`` the embedding widths (default: :func:`~deepzoo.data.table_encoding.embedding_dim`). The
    backbone must take ``num_dense + sum(dims)`` input features.
    """

    def __init__(self, backbone: Classifier, num_dense: int, cardinalities: Sequence[int],
                 dims: Sequence[int] | None = None):
        super().__init__()
        dims = [embedding_dim(n) for n in cardinalities] if dims is None else list(dims)
        self.num_dense = num_dense
        self.embeddings = nn.ModuleList(nn.Embedding(n, d) for n, d in zip(cardinalities, dims))
        head, backbone.head = backbone.head, nn.Identity()
        self.backbone = backbone
        self.head = head
        self.num_features = backbone.num_features

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Encoded rows (N, num_dense + E) → (N, num_dense + sum(dims)): each code replaced by its vector."""
        codes = x[:, self.num_dense:].long()
        vectors = [table(codes[:, j]) for j, table in enumerate(self.embeddings)]
        return torch.cat([x[:, :self.num_dense], *[v.to(x.dtype) for v in vectors]], dim=1)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """The backbone's features of the embedded rows (for an MLP its last hidden layer, N × num_features)."""
        return self.backbone.forward_features(self.embed(x))

    def forward_head(self, x: torch.Tensor, pre_logits: bool = False) -> torch.Tensor:
        """The backbone's pooling (an identity for an MLP), then this model's head unless ``pre_logits``."""
        x = self.backbone.forward_head(x, pre_logits=True)
        return x if pre_logits else self.head(x)


def create_table_model(name: str, table: dict[str, Any] | None, **kwargs: Any) -> nn.Module:
    """``create_model(name, **kwargs)``; when ``table`` (a run's ``meta.extra["table"]``) embeds columns,
    the backbone is built for the embedded width and wrapped in a :class:`TabularEncoder`."""
    encoding = None if table is None else TableEncoding.from_dict(table)
    if encoding is None or not encoding.cardinalities:
        return create_model(name, **kwargs)
    cardinalities = encoding.cardinalities
    dims = [embedding_dim(n) for n in cardinalities]
    backbone = create_model(name, **{**kwargs, "input_shape": (encoding.dense_width + sum(dims),)})
    return TabularEncoder(backbone, encoding.dense_width, cardinalities, dims)
