"""Graph neural networks on PyTorch Geometric: the message-passing layer, a stack of layers with a task
head (node, graph or encoder-only for links), and link decoders.

The layer implements the general message-passing scheme of Gilmer et al. 2017, "Neural Message Passing
for Quantum Chemistry", eqs. (1)–(2), in the notes' notation::

    m_ij  = F(h_j, e_ij)                  message from sender j to receiver i
    m̄_i   = AGG_{j ∈ N(i)} m_ij           sum | mean | max | min, or several at once
    h_i'  = σ(K(H(h_i) ⊕ m̄_i))            ⊕ is + ("add") or concatenation ("concat")

With sum aggregation, affine F and H, K the identity and the add update it is
h_i' = σ(W1·h_i + Σ_j W2·h_j), the GraphConv of Morris et al. 2019, "Weisfeiler and Leman Go Neural",
eq. (5). It builds on :class:`torch_geometric.nn.MessagePassing` (gather, scatter and the aggregation
modules are PyG's own) and reads like the maths: :meth:`MessagePassingLayer.message`,
:meth:`MessagePassingLayer.aggregate`, :meth:`MessagePassingLayer.update`.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn
from torch_geometric.nn import (  # PyG's torch.jit warning is filtered in deepzoo/__init__.py
    GCNConv,
    GINConv,
    MessagePassing,
    SAGEConv,
    global_add_pool,
    global_max_pool,
    global_mean_pool,
)
from torch_geometric.nn.aggr import MultiAggregation
from torch_geometric.nn.resolver import activation_resolver

from ..errors import ConfigError
from . import register_model
from ._base import Classifier

MAP_KINDS = ("affine", "mlp", "identity")
UPDATES = ("add", "concat")
NORMS = {"batch": nn.BatchNorm1d, "layer": nn.LayerNorm}
CONVS = ("mp", "gcn", "sage", "gin")
READOUTS = {"sum": global_add_pool, "mean": global_mean_pool, "max": global_max_pool}
EMPTY_AGGREGATIONS = ("max", "min")  # the aggregations whose value on an empty neighbourhood is a choice


def activation(name: str | None) -> nn.Module:
    """The activation σ named ``name`` (any PyG/torch name: ``relu``, ``gelu``, ``elu`` ...), or the
    identity for ``None``/``"none"``."""
    if name is None or name == "none":
        return nn.Identity()
    try:
        return activation_resolver(name)
    except ValueError:
        raise ConfigError(f"unknown activation {name!r} (try relu, gelu, elu, tanh, none)") from None


def node_map(kind: str, in_width: int, out_width: int, what: str, bias: bool = True,
             hidden: int | None = None, act: str | None = "relu") -> nn.Module:
    """One of the layer's maps F, H or K: ``affine`` (W·x + b), ``mlp`` (two affine maps with σ between,
    ``hidden`` wide, default ``out_width``) or ``identity`` (widths must agree)."""
    if kind not in MAP_KINDS:
        raise ConfigError(f"{what}={kind!r} is not one of {', '.join(MAP_KINDS)}")
    if kind == "identity":
        if in_width != out_width:
            raise ConfigError(f"{what}='identity' keeps width {in_width}, but {out_width} is needed")
        return nn.Identity()
    if kind == "affine":
        return nn.Linear(in_width, out_width, bias=bias)
    width = hidden or out_width
    return nn.Sequential(nn.Linear(in_width, width), activation(act), nn.Linear(width, out_width))


class NodeOutput(nn.Module):
    """What follows a graph convolution's pre-activation ``z``: ``dropout(σ(norm(z)))``, plus the
    layer's input when ``residual`` (He et al. 2016; a bias-free projection when the widths differ).

    ``norm`` is ``batch`` (BatchNorm over the nodes, Ioffe & Szegedy 2015) or ``layer`` (LayerNorm per
    node, Ba et al. 2016) or None.
    """

    def __init__(self, in_channels: int, out_channels: int, act: str | None = "relu", dropout: float = 0.0,
                 norm: str | None = None, residual: bool = False):
        super().__init__()
        if norm is not None and norm not in NORMS:
            raise ConfigError(f"norm={norm!r} is not one of {', '.join(NORMS)} or None")
        self.norm = NORMS[norm](out_channels) if norm else nn.Identity()
        self.act = activation(act)
        self.dropout = nn.Dropout(dropout) if dropout else nn.Identity()
        self.residual = None
        if residual:
            same = in_channels == out_channels
            self.residual = nn.Identity() if same else nn.Linear(in_channels, out_channels, bias=False)

    def forward(self, z: Tensor, h: Tensor) -> Tensor:
        out = self.dropout(self.act(self.norm(z)))
        return out if self.residual is None else out + self.residual(h)


def _aggregation_names(aggr: str | Sequence[str]) -> list[str]:
    return [aggr] if isinstance(aggr, str) else list(aggr)


class MessagePassingLayer(MessagePassing):
    """A message-passing layer ``h_i' = σ(K(H(h_i) ⊕ AGG_j F(h_j, e_ij)))`` (Gilmer et al. 2017, eqs. 1–2).

    Args:
        in_channels, out_channels: node feature widths before and after the layer.
        aggr: ``sum``, ``mean``, ``max``, ``min`` (or any PyG aggregation name), or a list such as
            ``["sum", "max"]`` for PyG's multi-aggregation (Corso et al. 2020), whose results are
            concatenated by default (``aggr_kwargs={"mode": ...}`` chooses another combination).
        update: ``add`` (H(h_i) + m̄_i) or ``concat`` ([H(h_i), m̄_i]).
        message: F — ``affine`` (W2·h_j, plus We·e_ij with edge features; no bias, so that a sum
            aggregation does not add the bias once per neighbour), ``mlp`` or ``identity`` (m_ij = h_j).
        root: H — ``affine`` (W1·h_i + b, the layer's one bias), ``mlp`` or ``identity``.
        combine: K — default the identity for ``add`` when the widths allow, else ``affine``.
            A concat update with K affine is K1·H(h_i) + K2·m̄_i + b, the same function as the add update
            with the maps folded in.
        edge_dim: width of the edge features e_ij that F reads (None: no edge features).
        act: σ; ``None`` for a linear layer. dropout, norm, residual: see :class:`NodeOutput`.
        empty_value: what max and min give a node with no incoming edge (PyG's 0 by default).
        mlp_hidden, mlp_act: hidden width (default: the map's output width) and activation of the
            ``mlp`` maps.

    Efficiency: F(h_j) depends on the sender only, so it is evaluated once per node (N rows) and the
    results are gathered along the edges, instead of once per edge (E ≫ N rows): an affine F costs
    N·d_in·d_out multiply-adds rather than E·d_in·d_out, and the edge traffic (gather + scatter) is at
    F's output width. This is exact for every aggregation (max_j W2·h_j is not W2·max_j h_j, but both
    sides gather the same per-node rows). For ``sum`` and ``mean`` the affine map also commutes with the
    aggregation (Σ_j W2·h_j = W2·Σ_j h_j, mean likewise, with no bias on F), so when the input is not
    wider than the output the layer aggregates h_j first and applies W2 after, keeping the edge traffic
    at min(d_in, d_out) (GraphConv's order; on a tie it also spares the gather's backward pass when the
    input needs no gradient). Only F with edge features is evaluated per edge (its edge term We·e_ij,
    or the whole MLP).
    """

    def __init__(self, in_channels: int, out_channels: int, aggr: str | Sequence[str] = "sum",
                 update: str = "add", message: str = "affine", root: str = "affine",
                 combine: str | None = None, edge_dim: int | None = None, act: str | None = "relu",
                 dropout: float = 0.0, norm: str | None = None, residual: bool = False,
                 empty_value: float = 0.0, mlp_hidden: int | None = None, mlp_act: str = "relu",
                 aggr_kwargs: dict | None = None):
        names = _aggregation_names(aggr)
        try:
            super().__init__(aggr=aggr if isinstance(aggr, str) else names, aggr_kwargs=aggr_kwargs)
        except (ValueError, KeyError, TypeError) as err:
            raise ConfigError(f"aggr={aggr!r}: {err}") from None
        if update not in UPDATES:
            raise ConfigError(f"update={update!r} is not one of {', '.join(UPDATES)}")
        if message == "identity" and edge_dim is not None:
            raise ConfigError("message='identity' cannot read edge features; use message='affine' or 'mlp'")
        self.in_channels, self.out_channels = in_channels, out_channels
        self.update_mode, self.message_kind, self.edge_dim = update, message, edge_dim

        message_width = in_channels if message == "identity" else out_channels
        multi = isinstance(self.aggr_module, MultiAggregation)
        aggregated_width = self.aggr_module.get_out_channels(message_width) if multi else message_width

        # F split into its node-wise part (evaluated once per node) and its per-edge part.
        per_edge_mlp = message == "mlp" and edge_dim is not None
        self.message_node = (nn.Identity() if per_edge_mlp else
                             node_map(message, in_channels, message_width, "message", bias=False,
                                      hidden=mlp_hidden, act=mlp_act))
        self.message_edge: nn.Module | None = None
        if edge_dim is not None:
            self.message_edge = (node_map("mlp", in_channels + edge_dim, message_width, "message",
                                          hidden=mlp_hidden, act=mlp_act) if per_edge_mlp
                                 else nn.Linear(edge_dim, message_width, bias=False))
        self._aggregate_first = (message == "affine" and edge_dim is None and not multi
                                 and names[0] in ("sum", "mean") and in_channels <= out_channels)

        if update == "add":
            root_width = aggregated_width
            combine_in = aggregated_width
            combine = combine or ("identity" if aggregated_width == out_channels else "affine")
        else:
            root_width = in_channels if root == "identity" else out_channels
            combine_in = root_width + aggregated_width
            combine = combine or "affine"
        self.root = node_map(root, in_channels, root_width, "root", hidden=mlp_hidden, act=mlp_act)
        self.combine = node_map(combine, combine_in, out_channels, "combine", hidden=mlp_hidden, act=mlp_act)
        self.output = NodeOutput(in_channels, out_channels, act, dropout, norm, residual)

        self.empty_value = float(empty_value)
        if self.empty_value != 0.0:
            if not set(names) & set(EMPTY_AGGREGATIONS) or (multi and self.aggr_module.mode != "cat"):
                raise ConfigError(f"empty_value applies to max/min aggregation (concatenated); aggr={aggr!r}")
            columns = torch.tensor([name in EMPTY_AGGREGATIONS for name in names])
            columns = columns.repeat_interleave(message_width)
            self.register_buffer("_empty_columns", columns, persistent=False)

    def forward(self, x: Tensor, edge_index: Tensor, edge_attr: Tensor | None = None) -> Tensor:
        """New node features (N, out_channels) from features ``x`` (N, in_channels), ``edge_index``
        (2, E) of (sender, receiver) pairs and, with ``edge_dim``, edge features (E, edge_dim)."""
        if (edge_attr is None) != (self.edge_dim is None):
            raise ConfigError(f"this layer was built with edge_dim={self.edge_dim}; edge_attr must "
                              f"{'be given' if self.edge_dim else 'be None'}")
        f = x if self._aggregate_first else self.message_node(x)
        return self.propagate(edge_index, f=f, h=x, edge_attr=edge_attr)

    def message(self, f_j: Tensor, edge_attr: Tensor | None) -> Tensor:
        """m_ij = F(h_j, e_ij). ``f_j`` is the sender's row of F's node-wise part, already applied once
        per node in :meth:`forward` (see the class docstring); only the edge-feature term is per edge."""
        if self.message_edge is None:
            return f_j
        if self.message_kind == "affine":
            return f_j + self.message_edge(edge_attr)
        return self.message_edge(torch.cat([f_j, edge_attr], dim=-1))

    def aggregate(self, inputs: Tensor, index: Tensor, ptr: Tensor | None = None,
                  dim_size: int | None = None) -> Tensor:
        """m̄_i = AGG_j m_ij with PyG's aggregation module (``aggr``). With ``sum``/``mean`` and an input
        no wider than the output, W2 is applied here, after aggregating (W2·Σ_j h_j = Σ_j W2·h_j). A node
        without incoming edges gets ``empty_value`` in its max/min channels."""
        m_bar = super().aggregate(inputs, index, ptr=ptr, dim_size=dim_size)
        if self._aggregate_first:
            m_bar = self.message_node(m_bar)
        if self.empty_value != 0.0:
            isolated = torch.bincount(index, minlength=m_bar.size(0)) == 0
            m_bar = m_bar.masked_fill(isolated[:, None] & self._empty_columns, self.empty_value)
        return m_bar

    def update(self, m_bar: Tensor, h: Tensor) -> Tensor:
        """h_i' = σ(K(H(h_i) ⊕ m̄_i)), then dropout and the optional residual (see :class:`NodeOutput`)."""
        root = self.root(h)
        z = root + m_bar if self.update_mode == "add" else torch.cat([root, m_bar], dim=-1)
        return self.output(self.combine(z), h)

    def __repr__(self) -> str:
        return (f"{type(self).__name__}({self.in_channels}, {self.out_channels}, aggr={self.aggr!r}, "
                f"update={self.update_mode!r}, message={self.message_kind!r})")


class ConvBlock(nn.Module):
    """A PyG convolution followed by :class:`NodeOutput`, so that GCN, GraphSAGE and GIN layers stack
    with the same norm, activation, dropout and residual options as :class:`MessagePassingLayer`."""

    def __init__(self, conv: nn.Module, output: NodeOutput):
        super().__init__()
        self.conv, self.output = conv, output

    def forward(self, x: Tensor, edge_index: Tensor, edge_attr: Tensor | None = None) -> Tensor:
        return self.output(self.conv(x, edge_index), x)


_MP_ONLY = ("update", "message", "root", "combine", "edge_dim", "empty_value")


def graph_layer(conv: str, in_channels: int, out_channels: int, act: str | None, dropout: float,
                norm: str | None, residual: bool, aggr: str | Sequence[str] | None,
                mp_options: dict) -> nn.Module:
    """One graph layer of kind ``conv``:

    - ``mp``: :class:`MessagePassingLayer` (aggregation default ``sum``);
    - ``gcn``: Kipf & Welling 2017, eq. (2): D̂^-½ Â D̂^-½ H W with self-loops (fixed aggregation);
    - ``sage``: Hamilton et al. 2017, Algorithm 1 without the ℓ2 step: W1·h_i + W2·AGG_j h_j
      (aggregation default ``mean``);
    - ``gin``: Xu et al. 2019, eq. (4.1) with ε = 0 (GIN-0): MLP(h_i + Σ_j h_j) (fixed sum).
    """
    if conv not in CONVS:
        raise ConfigError(f"conv={conv!r} is not one of {', '.join(CONVS)}")
    if conv == "mp":
        return MessagePassingLayer(in_channels, out_channels, aggr=aggr or "sum", act=act, dropout=dropout,
                                   norm=norm, residual=residual, **mp_options)
    given = sorted(mp_options) + (["aggr"] if aggr is not None and conv != "sage" else [])
    if given:
        raise ConfigError(f"conv={conv!r} does not take {', '.join(given)} (only conv='mp' does)")
    if conv == "gcn":
        layer: nn.Module = GCNConv(in_channels, out_channels)
    elif conv == "sage":
        layer = SAGEConv(in_channels, out_channels, aggr=aggr or "mean")
    else:
        layer = GINConv(node_map("mlp", in_channels, out_channels, "gin"))
    return ConvBlock(layer, NodeOutput(in_channels, out_channels, act, dropout, norm, residual))


@register_model("gnn", family="gnn", task="node",
                paper="Gilmer et al. 2017, Neural Message Passing for Quantum Chemistry (eqs. 1-2); "
                      "Morris et al. 2019, Weisfeiler and Leman Go Neural (GraphConv, eq. 5)")
class GNN(Classifier):
    """A stack of graph layers with a task head.

    Args:
        in_chans: node feature width; num_classes: outputs (0: no head — node embeddings, or pooled
            graph embeddings, e.g. the encoder of a link predictor used with a link decoder below).
        hidden: widths of the graph layers, e.g. ``(64, 64)``.
        conv: ``mp`` (:class:`MessagePassingLayer`), ``gcn``, ``sage`` or ``gin`` (see :func:`graph_layer`).
        level: ``node`` (one output row per node) or ``graph`` (readout ``sum``/``mean``/``max`` over each
            graph's nodes with PyG's global pools, then an MLP head: Xu et al. 2019, §4.2).
        head: ``linear`` (a linear map of the last layer's features) or, for node tasks, ``conv`` (the last
            graph layer outputs the logits, as in Kipf & Welling 2017's two-layer GCN, eq. 9).
        act, dropout, norm, residual: per layer (see :class:`NodeOutput`); ``input_dropout`` drops input
            features (Kipf & Welling drop the input of every layer: ``input_dropout=dropout``).
        aggr, update, message, root, combine, edge_dim, empty_value: :class:`MessagePassingLayer`
            options (``aggr`` also for ``sage``); None keeps the layer's default.

    ``forward(x, edge_index, edge_attr=None, batch=None)``: ``batch`` (N,) assigns nodes to graphs for
    ``level="graph"`` (a PyG ``Batch``'s ``batch`` vector; None means one graph).
    """

    def __init__(self, in_chans: int = 1433, num_classes: int = 7, hidden: int | Sequence[int] = (64, 64),
                 conv: str = "mp", level: str = "node", readout: str = "mean", head: str = "linear",
                 act: str | None = "relu", dropout: float = 0.5, input_dropout: float = 0.0,
                 norm: str | None = None, residual: bool = False, aggr: str | Sequence[str] | None = None,
                 update: str | None = None, message: str | None = None, root: str | None = None,
                 combine: str | None = None, edge_dim: int | None = None, empty_value: float | None = None):
        super().__init__()
        hidden = [hidden] if isinstance(hidden, int) else list(hidden)
        if level not in ("node", "graph"):
            raise ConfigError(f"level={level!r} is not one of node, graph (links: num_classes=0 + a decoder)")
        if readout not in READOUTS:
            raise ConfigError(f"readout={readout!r} is not one of {', '.join(READOUTS)}")
        if head not in ("linear", "conv") or (head == "conv" and (level != "node" or not num_classes)):
            raise ConfigError(f"head={head!r}: use 'linear', or 'conv' for node tasks with num_classes > 0")
        if not hidden and head == "linear":
            raise ConfigError("hidden is empty: give at least one layer width")
        given = dict(update=update, message=message, root=root, combine=combine, edge_dim=edge_dim,
                     empty_value=empty_value)
        mp_options = {k: v for k, v in given.items() if v is not None}
        self.conv_kind, self.level, self.head_kind, self.act_name = conv, level, head, act
        self.dropout_p, self._layer_options = dropout, (conv, act, norm, residual, aggr, mp_options)
        self.input_dropout = nn.Dropout(input_dropout) if input_dropout else nn.Identity()
        widths = [in_chans, *hidden]
        self.layers = nn.ModuleList(
            graph_layer(conv, w_in, w_out, act, dropout, norm, residual, aggr, mp_options)
            for w_in, w_out in zip(widths[:-1], widths[1:], strict=True)
        )
        self.readout = READOUTS[readout] if level == "graph" else None
        self.num_features = widths[-1]
        self.reset_classifier(num_classes)

    def _output_conv(self, in_channels: int, num_outputs: int) -> nn.Module:
        """The last graph layer of a ``head="conv"`` model: no activation, dropout, norm or residual."""
        conv, _, _, _, aggr, mp_options = self._layer_options
        return graph_layer(conv, in_channels, num_outputs, None, 0.0, None, False, aggr, mp_options)

    def reset_classifier(self, num_classes: int, global_pool: str | None = None) -> None:
        """A fresh head with ``num_classes`` outputs (0: none, the embeddings are the output);
        ``head="conv"`` replaces the output graph layer. ``global_pool`` (timm's argument) must be None:
        the graph readout is the constructor's ``readout``."""
        if global_pool is not None:
            raise ConfigError(f"GNN.reset_classifier: global_pool={global_pool!r} is not supported "
                              "(choose the graph readout with readout=)")
        device = next(self.parameters(), torch.empty(0)).device
        if self.head_kind == "conv":
            if not num_classes:
                raise ConfigError("head='conv' needs num_classes > 0 (its last graph layer makes the logits)")
            self.output_conv = self._output_conv(self.num_features, num_classes).to(device)
            self.head = nn.Identity()
        elif not num_classes:
            self.head = nn.Identity()
        elif self.level == "node":
            self.head = nn.Linear(self.num_features, num_classes).to(device)
        else:
            width = self.num_features
            self.head = nn.Sequential(nn.Linear(width, width), activation(self.act_name),
                                      nn.Dropout(self.dropout_p), nn.Linear(width, num_classes)).to(device)

    def get_classifier(self) -> nn.Module:
        """The layer that makes the outputs: the head, or the output graph layer for ``head="conv"``."""
        return self.output_conv if self.head_kind == "conv" else self.head

    def forward_features(self, x: Tensor, edge_index: Tensor, edge_attr: Tensor | None = None,
                         batch: Tensor | None = None) -> Tensor:
        """Node embeddings (N, num_features) — the logits for ``head="conv"`` — or, for
        ``level="graph"``, one pooled row per graph (B, num_features)."""
        h = self.input_dropout(x)
        for layer in self.layers:
            h = layer(h, edge_index, edge_attr)
        if self.head_kind == "conv":
            h = self.output_conv(h, edge_index, edge_attr)
        return h if self.readout is None else self.readout(h, batch)

    def forward(self, x: Tensor, edge_index: Tensor, edge_attr: Tensor | None = None,
                batch: Tensor | None = None) -> Tensor:
        return self.forward_head(self.forward_features(x, edge_index, edge_attr, batch))


@register_model("gcn", family="gnn", task="node", params=23_063,
                paper="Kipf & Welling 2017, Semi-Supervised Classification with Graph Convolutional Networks "
                      "(eq. 9; §5.2: 2 layers, 16 hidden, dropout 0.5 → Cora 81.5%)")
def gcn(in_chans: int = 1433, num_classes: int = 7, hidden: int | Sequence[int] = 16,
        dropout: float = 0.5) -> GNN:
    """Kipf & Welling's two-layer GCN, Z = softmax(Â·ReLU(Â·X·W0)·W1) (eq. 9), with dropout on the input
    of both layers (§5.2). Defaults are Cora's widths: 1433 → 16 → 7, 23,063 parameters."""
    return GNN(in_chans, num_classes, hidden=hidden, conv="gcn", head="conv", dropout=dropout,
               input_dropout=dropout)


class DotProductDecoder(nn.Module):
    """Link logits s_ij = z_i · z_j for the node pairs in ``edge_label_index`` (2, P): the inner-product
    decoder of the graph auto-encoder, Kipf & Welling 2016, "Variational Graph Auto-Encoders", eq. (2)
    (before the sigmoid: train with BCE-with-logits)."""

    def forward(self, z: Tensor, edge_label_index: Tensor) -> Tensor:
        return (z[edge_label_index[0]] * z[edge_label_index[1]]).sum(dim=-1)


class MLPDecoder(nn.Module):
    """Link logits MLP(z_i ⊙ z_j) (``combine="hadamard"``, symmetric in i and j, as in the OGB link
    baselines, Hu et al. 2020) or MLP([z_i, z_j]) (``combine="concat"``, for directed links)."""

    def __init__(self, channels: int, hidden: int | None = None, combine: str = "hadamard",
                 act: str = "relu"):
        super().__init__()
        if combine not in ("hadamard", "concat"):
            raise ConfigError(f"combine={combine!r} is not one of hadamard, concat")
        self.combine = combine
        width = channels * (2 if combine == "concat" else 1)
        self.mlp = node_map("mlp", width, 1, "decoder", hidden=hidden or channels, act=act)

    def forward(self, z: Tensor, edge_label_index: Tensor) -> Tensor:
        z_i, z_j = z[edge_label_index[0]], z[edge_label_index[1]]
        pair = z_i * z_j if self.combine == "hadamard" else torch.cat([z_i, z_j], dim=-1)
        return self.mlp(pair).squeeze(-1)
