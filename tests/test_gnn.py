"""The message-passing layer against dense adjacency-matrix maths and PyG's GraphConv, the GNN model and
the link decoders."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch_geometric.nn import GraphConv

from deepzoo.errors import ConfigError
from deepzoo.models import create_model
from deepzoo.models.gnn import GNN, DotProductDecoder, MessagePassingLayer, MLPDecoder

# 6 nodes; node 4 and node 5 receive no edge; node 1 receives from 0, 2 and 3.
EDGES = torch.tensor([[0, 2, 3, 1, 0, 5], [1, 1, 1, 2, 3, 0]])
N = 6


def graph(in_channels: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Random features and the dense adjacency A[i, j] = 1 for an edge j → i."""
    x = torch.randn(N, in_channels, generator=torch.Generator().manual_seed(seed))
    adjacency = torch.zeros(N, N)
    adjacency[EDGES[1], EDGES[0]] = 1.0
    return x, adjacency


def dense_reduce(messages: torch.Tensor, adjacency: torch.Tensor, aggr: str) -> torch.Tensor:
    """AGG_j over the senders of each receiver from the (N, N, d) table of messages j → i, written
    densely; an empty neighbourhood gives 0."""
    mask = adjacency.bool()[:, :, None]
    if aggr == "sum":
        return (messages * mask).sum(dim=1)
    if aggr == "mean":
        return (messages * mask).sum(dim=1) / adjacency.sum(dim=1, keepdim=True).clamp(min=1)
    fill = float("-inf") if aggr == "max" else float("inf")
    reduced = messages.masked_fill(~mask, fill)
    reduced = reduced.amax(dim=1) if aggr == "max" else reduced.amin(dim=1)
    return torch.where(torch.isinf(reduced), torch.zeros_like(reduced), reduced)


def sender_table(h: torch.Tensor) -> torch.Tensor:
    """messages[i, j] = h[j] for every pair (N, N, d)."""
    return h[None, :, :].expand(N, N, h.size(1))


@pytest.mark.parametrize("in_channels, out_channels", [(3, 5), (5, 3)])
def test_sum_layer_is_the_notes_equation(in_channels, out_channels):
    # h_i' = ReLU(W1·h_i + b + Σ_j W2·h_j) = ReLU(X W1ᵀ + b + A X W2ᵀ): both evaluation orders
    # (aggregate-then-map for a narrow input, map-then-aggregate otherwise).
    x, adjacency = graph(in_channels)
    layer = MessagePassingLayer(in_channels, out_channels)
    w1, b, w2 = layer.root.weight, layer.root.bias, layer.message_node.weight
    expected = torch.relu(x @ w1.T + b + adjacency @ x @ w2.T)
    assert layer._aggregate_first == (in_channels <= out_channels)
    torch.testing.assert_close(layer(x, EDGES), expected)


def test_sum_layer_equals_graphconv_with_copied_weights_and_gradients():
    x, _ = graph(4)
    ours = MessagePassingLayer(4, 3, act=None)
    theirs = GraphConv(4, 3, aggr="sum")
    with torch.no_grad():
        theirs.lin_root.weight.copy_(ours.root.weight)
        theirs.lin_rel.weight.copy_(ours.message_node.weight)
        theirs.lin_rel.bias.copy_(ours.root.bias)
    out_ours, out_theirs = ours(x, EDGES), theirs(x, EDGES)
    torch.testing.assert_close(out_ours, out_theirs)
    grad = torch.randn_like(out_ours)
    out_ours.backward(grad)
    out_theirs.backward(grad)
    torch.testing.assert_close(ours.message_node.weight.grad, theirs.lin_rel.weight.grad)
    torch.testing.assert_close(ours.root.weight.grad, theirs.lin_root.weight.grad)


def test_concat_update_with_identity_maps_equals_graphconv_max():
    # K([h_i, max_j h_j]) = K1·h_i + K2·max_j h_j + k: GraphConv's W1·h_i + W2·max_j h_j + b.
    x, _ = graph(4)
    ours = MessagePassingLayer(4, 3, aggr="max", message="identity", root="identity", update="concat", act=None)
    theirs = GraphConv(4, 3, aggr="max")
    with torch.no_grad():
        theirs.lin_root.weight.copy_(ours.combine.weight[:, :4])
        theirs.lin_rel.weight.copy_(ours.combine.weight[:, 4:])
        theirs.lin_rel.bias.copy_(ours.combine.bias)
    torch.testing.assert_close(ours(x, EDGES), theirs(x, EDGES))


@pytest.mark.parametrize("aggr", ["sum", "mean", "max", "min"])
@pytest.mark.parametrize("in_channels", [2, 7])
def test_aggregations_match_dense_maths_including_isolated_nodes(aggr, in_channels):
    x, adjacency = graph(in_channels, seed=1)
    layer = MessagePassingLayer(in_channels, 4, aggr=aggr, act=None)
    messages = sender_table(x @ layer.message_node.weight.T)  # F(h_j) = W2·h_j
    expected = x @ layer.root.weight.T + layer.root.bias + dense_reduce(messages, adjacency, aggr)
    out = layer(x, EDGES)
    torch.testing.assert_close(out, expected)
    # nodes 4 and 5 have no neighbours: only the root term remains (PyG's 0 for the aggregation)
    torch.testing.assert_close(out[4:], x[4:] @ layer.root.weight.T + layer.root.bias)


def test_empty_value_fills_only_the_max_channels_of_isolated_nodes():
    x, adjacency = graph(3)
    layer = MessagePassingLayer(3, 2, aggr=["sum", "max"], update="concat", act=None, empty_value=-5.0)
    f = sender_table(x @ layer.message_node.weight.T)
    summed, maxed = dense_reduce(f, adjacency, "sum"), dense_reduce(f, adjacency, "max")
    maxed[adjacency.sum(dim=1) == 0] = -5.0
    root = x @ layer.root.weight.T + layer.root.bias
    expected = torch.cat([root, summed, maxed], dim=1) @ layer.combine.weight.T + layer.combine.bias
    torch.testing.assert_close(layer(x, EDGES), expected)


def test_affine_message_with_edge_features_is_w2_h_plus_we_e():
    x, _ = graph(3)
    edge_attr = torch.randn(EDGES.size(1), 2, generator=torch.Generator().manual_seed(3))
    layer = MessagePassingLayer(3, 4, edge_dim=2, act=None)
    expected = x @ layer.root.weight.T + layer.root.bias
    for (j, i), e in zip(EDGES.t().tolist(), edge_attr, strict=True):
        expected[i] += layer.message_node.weight @ x[j] + layer.message_edge.weight @ e
    torch.testing.assert_close(layer(x, EDGES, edge_attr), expected)


def test_mlp_message_evaluated_per_node_equals_per_edge_evaluation():
    x, _ = graph(3)
    layer = MessagePassingLayer(3, 4, message="mlp", aggr="max", act=None)
    expected = x @ layer.root.weight.T + layer.root.bias
    per_edge = {}
    for j, i in EDGES.t().tolist():
        m = layer.message_node(x[j])
        per_edge[i] = m if i not in per_edge else torch.maximum(per_edge[i], m)
    for i, m in per_edge.items():
        expected[i] += m
    torch.testing.assert_close(layer(x, EDGES), expected)


def test_residual_adds_the_input_and_layer_norm_normalises_each_node():
    x, _ = graph(4)
    torch.manual_seed(0)
    plain = MessagePassingLayer(4, 4)
    torch.manual_seed(0)
    residual = MessagePassingLayer(4, 4, residual=True)
    torch.testing.assert_close(residual(x, EDGES), plain(x, EDGES) + x)
    normed = MessagePassingLayer(4, 8, norm="layer", act=None)(x, EDGES)
    torch.testing.assert_close(normed.mean(dim=1), torch.zeros(N), atol=1e-5, rtol=0)


def test_layer_is_permutation_equivariant():
    x, _ = graph(3)
    layer = MessagePassingLayer(3, 4, aggr=["mean", "max"], update="concat")
    perm = torch.tensor([3, 0, 5, 1, 4, 2])
    inverse = torch.argsort(perm)  # node k of the permuted graph is node perm[k]
    torch.testing.assert_close(layer(x[perm], inverse[EDGES]), layer(x, EDGES)[perm])


@pytest.mark.parametrize("kwargs, words", [
    ({"update": "multiply"}, "update"),
    ({"message": "identity", "edge_dim": 2}, "edge features"),
    ({"aggr": "sum", "empty_value": 1.0}, "empty_value"),
    ({"root": "identity"}, "root='identity'"),
    ({"act": "wiggle"}, "activation"),
    ({"norm": "group"}, "norm"),
])
def test_layer_configuration_errors_name_the_option(kwargs, words):
    with pytest.raises(ConfigError, match=words):
        MessagePassingLayer(3, 4, **kwargs)


def test_gcn_variant_has_kipf_and_wellings_parameter_count():
    # Cora: 1433·16 + 16 + 16·7 + 7 = 23,063
    model = create_model("gcn")
    assert sum(p.numel() for p in model.parameters()) == 23_063
    x = torch.randn(N, 1433)
    assert model.eval()(x, EDGES).shape == (N, 7)


@pytest.mark.parametrize("conv", ["mp", "gcn", "sage", "gin"])
def test_gnn_node_graph_and_encoder_outputs(conv):
    x, _ = graph(5)
    node = create_model("gnn", in_chans=5, num_classes=3, hidden=(8, 8), conv=conv)
    assert node(x, EDGES).shape == (N, 3)
    encoder = create_model("gnn", in_chans=5, num_classes=0, hidden=(8, 6), conv=conv)
    assert encoder(x, EDGES).shape == (N, 6)
    batch = torch.tensor([0, 0, 0, 1, 1, 1])
    graphs = create_model("gnn", in_chans=5, num_classes=2, hidden=8, conv=conv, level="graph").eval()
    assert graphs(x, EDGES, batch=batch).shape == (2, 2)


def test_graph_readout_is_invariant_to_node_order():
    x, _ = graph(5)
    model = GNN(5, 2, hidden=(8,), level="graph", readout="sum").eval()
    perm = torch.tensor([3, 0, 5, 1, 4, 2])
    torch.testing.assert_close(model(x[perm], torch.argsort(perm)[EDGES]), model(x, EDGES))


def test_reset_classifier_keeps_the_layers_and_changes_the_outputs():
    x, _ = graph(5)
    model = GNN(5, 3, hidden=(8,)).eval()
    features = model.forward_features(x, EDGES)
    model.reset_classifier(4)
    assert model(x, EDGES).shape == (N, 4)
    assert model.get_classifier() is model.head and model.head.out_features == 4
    torch.testing.assert_close(model.forward_features(x, EDGES), features)
    model.reset_classifier(0)  # no head: the node embeddings are the output
    torch.testing.assert_close(model(x, EDGES), features)
    conv_head = GNN(5, 3, hidden=(8,), conv="gcn", head="conv")
    conv_head.reset_classifier(2)
    assert conv_head(x, EDGES).shape == (N, 2)
    assert conv_head.get_classifier() is conv_head.output_conv  # the graph layer that makes the logits


def test_gnn_rejects_options_that_do_not_fit():
    with pytest.raises(ConfigError, match="does not take update"):
        GNN(5, 3, conv="gcn", update="concat")
    with pytest.raises(ConfigError, match="level"):
        GNN(5, 3, level="edge")
    with pytest.raises(ConfigError, match="head"):
        GNN(5, 0, head="conv")


def test_decoders_score_node_pairs():
    z = torch.tensor([[1.0, 2.0], [3.0, -1.0], [0.5, 0.5]])
    pairs = torch.tensor([[0, 1], [1, 2]])
    torch.testing.assert_close(DotProductDecoder()(z, pairs), torch.tensor([1.0 * 3 + 2 * -1, 3 * 0.5 - 0.5]))
    mlp = MLPDecoder(2)
    torch.testing.assert_close(mlp(z, pairs), mlp(z, pairs.flip(0)))  # Hadamard: symmetric in i, j
    assert MLPDecoder(2, combine="concat")(z, pairs).shape == (2,)


def test_sum_readout_gnn_learns_whether_a_graph_has_a_cycle(one_thread):
    # Σ_i (deg_i − 2) is −2 for a tree and ≥ 0 otherwise: sum aggregation + sum readout can learn it.
    from torch_geometric.data import Batch

    from deepzoo.data import load_dataset

    bundle = load_dataset("cycles", graphs=200)
    train, test = Batch.from_data_list(bundle.train), Batch.from_data_list(bundle.test)
    torch.manual_seed(0)
    model = create_model("gnn", in_chans=1, num_classes=2, hidden=(16, 16), level="graph", readout="sum",
                         dropout=0.0)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    for _ in range(100):
        optimizer.zero_grad()
        F.cross_entropy(model(train.x, train.edge_index, batch=train.batch), train.y).backward()
        optimizer.step()
    predicted = model.eval()(test.x, test.edge_index, batch=test.batch).argmax(dim=1)
    assert (predicted == test.y).float().mean() >= 0.9
