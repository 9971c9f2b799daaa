"""Graph datasets as PyTorch Geometric ``Data`` objects, for three graph tasks.

How each task's :class:`DataBundle` looks (docs/gnn.md has the full account):

- **node** (``meta.task == "node"``): every split is a :class:`GraphSplit` of the *same* ``Data`` (``x``
  (N, F) float32, ``edge_index`` (2, E), ``y`` (N,) class indices with −1 for unlabelled nodes, or (N, 1)
  float32 with NaN for node regression) and a boolean node mask. ``meta.input_shape == (F,)``,
  ``meta.extra["target_task"]`` is ``binary``/``multiclass`` (``num_classes`` set) or ``regression``
  (``num_targets == 1``).
- **link** (``meta.task == "link"``): splits from :class:`torch_geometric.transforms.RandomLinkSplit`.
  Each is a :class:`GraphSplit` whose graph carries the edges to pass messages over in ``edge_index``
  and the node pairs to score in ``edge_label_index`` (2, P) with ``edge_label`` (P,) 1.0 for an edge
  and 0.0 for a sampled non-edge; its ``mask`` is all True over those P pairs. No split's positive
  pairs are in its own ``edge_index``: training passes messages over the training edges less a
  ``disjoint_train_ratio`` share kept for supervision, validation over all training edges, test over
  training and validation edges (the transductive protocol of PyG and OGB). ``meta.num_classes == 0``:
  the model is an encoder of node embeddings and a link decoder scores pairs.
- **graph** (``meta.task == "graph"``): each split is a list of small ``Data`` graphs, each with ``y``
  of shape (1,); batch them with ``torch_geometric.loader.DataLoader`` (or ``Batch.from_data_list``).

Generated sets (the graphs come from ``graph_seed``; the run's ``seed`` picks splits and negatives):
``karate``, ``sbm`` (node), ``sbm-link`` (link), ``cycles`` (graph). File formats are in
:mod:`deepzoo.data.graph_formats`.
"""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import torch

from ..errors import DataError
from . import DATASETS
from .build import _split, option_names, reject_unknown
from .bundle import DataBundle, DatasetMeta, GraphSplit
from .formats_common import choice_option, int_option

NORMALIZE = ("none", "row", "standard")
SELF_LOOPS = ("remove", "keep")


def float_option(value: Any, name: str, source: str, low: float = 0.0, high: float = float("inf")) -> float:
    """A number option in [low, high]."""
    try:
        out = float(value)
    except (TypeError, ValueError):
        raise DataError(f"{source}: option {name}={value!r} is not a number") from None
    if not low <= out <= high:
        raise DataError(f"{source}: option {name}={out} must be in [{low}, {high}]")
    return out


def fraction_option(value: Any, name: str, source: str) -> float:
    """A split fraction in [0, 0.9]."""
    return float_option(value, name, source, 0.0, 0.9)


def clean_edges(edge_index: torch.Tensor, num_nodes: int, self_loops: str = "remove", undirected: bool = True,
                edge_attr: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Sorted, duplicate-free edges (``coalesce``; the features of duplicates are averaged); self-loops
    kept or removed (``self_loops``); with ``undirected`` every edge also in its reverse direction
    (citation and friendship graphs are read as undirected, as PyG's Planetoid and karate data are)."""
    from torch_geometric.utils import coalesce, remove_self_loops, to_undirected

    if self_loops == "remove":
        edge_index, edge_attr = remove_self_loops(edge_index, edge_attr)
    if undirected:
        return to_undirected(edge_index, edge_attr, num_nodes=num_nodes, reduce="mean")
    return coalesce(edge_index, edge_attr, num_nodes=num_nodes, reduce="mean")


def check_features(x: torch.Tensor, source: str, names: list[str] | None = None) -> None:
    """A :class:`DataError` naming the first node (by ``names`` when given) with a NaN or inf feature."""
    bad = ~torch.isfinite(x).all(dim=1)
    if bad.any():
        row = int(bad.nonzero()[0])
        node = f"node {names[row]!r}" if names else f"node {row}"
        raise DataError(f"{source}: {node} has a NaN or infinite feature")


def normalize_features(x: torch.Tensor, train: torch.Tensor, mode: str) -> tuple[torch.Tensor, Any, Any]:
    """``none``; ``row``: each node's features divided by their sum (Kipf & Welling 2017's
    preprocessing, PyG's ``NormalizeFeatures``); ``standard``: per feature, with the mean and standard
    deviation of the training nodes. Returns the features and the (mean, std) lists or None."""
    if mode == "row":
        return x / x.sum(dim=1, keepdim=True).clamp(min=1e-12), None, None
    if mode == "standard":
        mean, std = x[train].mean(dim=0), x[train].std(dim=0, unbiased=False)
        std[std < 1e-8] = 1.0
        return (x - mean) / std, mean.tolist(), std.tolist()
    return x, None, None


Masks = tuple[torch.Tensor, torch.Tensor, torch.Tensor]


def random_node_masks(y: torch.Tensor, labelled: torch.Tensor, seed: int, valid_fraction: float,
                      test_fraction: float, stratify: bool) -> Masks:
    """Train/valid/test masks over the labelled nodes: ``test_fraction`` of them for testing, then
    ``valid_fraction`` of the rest for validation, stratified by class when ``stratify``."""
    nodes = labelled.nonzero().view(-1).numpy()
    labels = y[labelled].view(-1).numpy() if stratify else None
    rest, test = _split(len(nodes), test_fraction, seed, labels)
    train, valid = _split(len(rest), valid_fraction, seed + 1, None if labels is None else labels[rest])
    masks = []
    for index in (nodes[rest[train]], nodes[rest[valid]], nodes[test]):
        mask = torch.zeros(len(y), dtype=torch.bool)
        mask[torch.from_numpy(index)] = True
        masks.append(mask)
    return masks[0], masks[1], masks[2]


def node_bundle(name: str, data: Any, masks: Masks,
                class_names: list[str] | None, source: str, normalize: str = "none",
                reason: str = "", node_names: list[str] | None = None) -> DataBundle:
    """Validate a node-task graph and wrap it: ``data.y`` holds class indices (−1: no label) when
    ``class_names`` is given, else float regression targets (NaN: no label). Errors name nodes by
    ``node_names`` (the file's ids) when given, else by index; the ids are kept in
    ``meta.extra["node_names"]``."""
    train, valid, test = masks
    choice_option(normalize, NORMALIZE, "normalize", source)
    check_features(data.x, source, node_names)
    labelled = data.y >= 0 if class_names is not None else ~torch.isnan(data.y).view(-1)
    for split, mask in (("train", train), ("valid", valid), ("test", test)):
        missing = mask & ~labelled
        if missing.any():
            row = int(missing.nonzero()[0])
            node = repr(node_names[row]) if node_names else row
            raise DataError(f"{source}: node {node} is in the {split} split but has no label")
    if not train.any():
        raise DataError(f"{source}: no labelled node in the training split")
    data.x, mean, std = normalize_features(data.x.float(), train, normalize)
    classes = class_names is not None
    target = ("binary" if len(class_names) == 2 else "multiclass") if classes else "regression"
    meta = DatasetMeta(
        name=name, task="node", input_shape=(data.num_node_features,),
        task_reason=reason or f"one graph with {target} node targets → node-level {target}",
        num_classes=len(class_names) if classes else 0, num_targets=0 if classes else 1,
        class_names=list(class_names or []), mean=mean, std=std,
        extra={"target_task": target, "num_nodes": data.num_nodes, "num_edges": data.num_edges},
    )
    if node_names:  # the file's own ids, which plots label the nodes with
        meta.extra["node_names"] = [str(n) for n in node_names]
    return DataBundle(GraphSplit(data, train), GraphSplit(data, valid), GraphSplit(data, test), meta)


def node_split_options(options: dict[str, Any], source: str) -> dict[str, Any]:
    """Pop the options every node dataset takes: ``seed``, ``valid_fraction`` (0.2), ``test_fraction``
    (0.2) and ``normalize`` (``none``)."""
    return {
        "seed": int_option(options.pop("seed", 0), "seed", source),
        "valid_fraction": fraction_option(options.pop("valid_fraction", 0.2), "valid_fraction", source),
        "test_fraction": fraction_option(options.pop("test_fraction", 0.2), "test_fraction", source),
        "normalize": choice_option(str(options.pop("normalize", "none")), NORMALIZE, "normalize", source),
    }


def link_bundle(name: str, data: Any, source: str, seed: Any = 0, valid_fraction: Any = 0.1,
                test_fraction: Any = 0.2, disjoint_train_ratio: Any = 0.3, neg_ratio: Any = 1.0,
                normalize: Any = "none", **unused: Any) -> DataBundle:
    """Split the edges of ``data`` for link prediction with PyG's ``RandomLinkSplit`` (see the module
    docstring): ``valid_fraction``/``test_fraction`` of the edges are held out, ``disjoint_train_ratio``
    of the training edges are supervision only, and ``neg_ratio`` non-edges are sampled per positive
    pair in every split (fixed; a recipe may resample the training ones each epoch)."""
    from torch_geometric.transforms import RandomLinkSplit

    reject_unknown(unused, source, option_names(link_bundle))
    seed = int_option(seed, "seed", source)
    normalize = choice_option(str(normalize), NORMALIZE, "normalize", source)
    check_features(data.x, source)
    splitter = RandomLinkSplit(
        num_val=fraction_option(valid_fraction, "valid_fraction", source),
        num_test=fraction_option(test_fraction, "test_fraction", source),
        is_undirected=data.is_undirected(),
        disjoint_train_ratio=fraction_option(disjoint_train_ratio, "disjoint_train_ratio", source),
        neg_sampling_ratio=float_option(neg_ratio, "neg_ratio", source, 0.0, 100.0),
    )
    python_state = random.getstate()  # PyG's negative_sampling draws from Python's RNG as well as torch's
    try:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            random.seed(seed)
            splits = splitter(data)
    finally:
        random.setstate(python_state)
    if splits[0].edge_label_index.size(1) == 0:
        raise DataError(f"{source}: too few edges ({data.num_edges}) to split for link prediction")
    all_nodes = torch.ones(data.num_nodes, dtype=torch.bool)
    for split in splits:
        split.x, mean, std = normalize_features(split.x.float(), all_nodes, normalize)
    meta = DatasetMeta(
        name=name, task="link", input_shape=(data.num_node_features,), mean=mean, std=std,
        task_reason="one graph, edges as targets → link prediction (binary: edge or sampled non-edge)",
        extra={"target_task": "binary", "num_nodes": data.num_nodes, "num_edges": data.num_edges},
    )
    return DataBundle(*(GraphSplit(s, torch.ones(s.edge_label.numel(), dtype=torch.bool)) for s in splits),
                      meta=meta)


def graph_bundle(name: str, graphs: list[Any], class_names: list[str], source: str, seed: Any = 0,
                 valid_fraction: Any = 0.2, test_fraction: Any = 0.2, **unused: Any) -> DataBundle:
    """Split a list of labelled graphs (stratified by class) into train/valid/test lists."""
    reject_unknown(unused, source, option_names(graph_bundle))
    labels = np.array([int(g.y) for g in graphs])
    seed = int_option(seed, "seed", source)
    rest, test = _split(len(graphs), fraction_option(test_fraction, "test_fraction", source), seed, labels)
    train, valid = _split(len(rest), fraction_option(valid_fraction, "valid_fraction", source), seed + 1,
                          labels[rest])
    return graph_set_bundle(name, graphs, class_names, (rest[train], rest[valid], test))


def graph_set_bundle(name: str, graphs: list[Any], class_names: list[str],
                     parts: tuple[np.ndarray, np.ndarray, np.ndarray]) -> DataBundle:
    """A graph-classification bundle whose train, valid and test splits are the graphs at the three
    index arrays of ``parts``."""
    train, valid, test = ([graphs[i] for i in index] for index in parts)
    meta = DatasetMeta(
        name=name, task="graph", input_shape=(graphs[0].num_node_features,), num_classes=len(class_names),
        class_names=class_names, task_reason="many small graphs with one label each → graph classification",
        extra={"target_task": "binary" if len(class_names) == 2 else "multiclass", "num_graphs": len(graphs)},
    )
    return DataBundle(train, valid, test, meta=meta)


@DATASETS.register("karate", kind="graph",
                   summary="Zachary's karate club: 34 nodes, the two factions as labels")
def karate(labelled: str = "leaders", seed: int | str = 0, **unused: Any) -> DataBundle:
    """Zachary's karate club (networkx) with the two factions (``club``) as node labels.

    Features are one-hot node identities. By default only the two leaders (nodes 0 and 33) are
    labelled for training; every other node is in the test mask, and validation uses the labelled
    nodes (there is nothing else to validate on in the classic protocol).
    """
    import networkx as nx

    reject_unknown(unused, "karate", option_names(karate))
    if labelled != "leaders":
        raise DataError(f"karate: labelled={labelled!r}; only 'leaders' (nodes 0 and 33) is defined")
    from torch_geometric.data import Data

    g = nx.karate_club_graph()
    n = g.number_of_nodes()
    y = torch.tensor([0 if g.nodes[i]["club"] == "Mr. Hi" else 1 for i in range(n)])
    edges = torch.tensor(list(g.edges()), dtype=torch.long).t()
    edge_index = torch.cat([edges, edges.flip(0)], dim=1)
    train = torch.zeros(n, dtype=torch.bool)
    train[[0, n - 1]] = True
    data = Data(x=torch.eye(n), edge_index=edge_index, y=y)
    meta = DatasetMeta(
        name="karate", task="node", task_reason="one graph with node labels → node classification",
        input_shape=(n,), num_classes=2, class_names=["Mr. Hi", "Officer"],
    )
    splits = (GraphSplit(data, train), GraphSplit(data, train.clone()), GraphSplit(data, ~train))
    return DataBundle(*splits, meta)


def stochastic_block_model(source: str, blocks: Any = 3, size: Any = 50, p_in: Any = 0.2, p_out: Any = 0.02,
                           features: Any = "noisy", noise: Any = 1.0, dim: Any = 16,
                           graph_seed: Any = 0) -> Any:
    """A stochastic block model (Holland et al. 1983): ``blocks`` groups of ``size`` nodes, each pair
    joined with probability ``p_in`` inside a group and ``p_out`` across; ``y`` is the group.

    Features: ``noisy`` — the one-hot of the node's group plus Gaussian noise of std ``noise`` (each
    node alone is a weak hint, its neighbourhood a strong one); ``random`` — ``dim`` standard normal
    features that carry no label information, so only the structure tells the groups apart. Pairs are
    drawn densely: keep blocks × size to a few thousand nodes.
    """
    from torch_geometric.data import Data

    blocks, size = int_option(blocks, "blocks", source, 1), int_option(size, "size", source, 1)
    p_in, p_out = float_option(p_in, "p_in", source, 0.0, 1.0), float_option(p_out, "p_out", source, 0.0, 1.0)
    features = choice_option(str(features), ("noisy", "random"), "features", source)
    rng = np.random.default_rng(int_option(graph_seed, "graph_seed", source))
    y = np.repeat(np.arange(blocks), size)
    n = len(y)
    prob = np.where(y[:, None] == y[None, :], p_in, p_out)
    src, dst = np.nonzero(np.triu(rng.random((n, n)) < prob, k=1))
    edge_index, _ = clean_edges(torch.from_numpy(np.stack([src, dst])).long(), n)
    if features == "noisy":
        x = np.eye(blocks)[y] + float_option(noise, "noise", source) * rng.standard_normal((n, blocks))
    else:
        x = rng.standard_normal((n, int_option(dim, "dim", source, 1)))
    return Data(x=torch.from_numpy(x).float(), edge_index=edge_index, y=torch.from_numpy(y).long())


SBM_OPTIONS = ("blocks", "size", "p_in", "p_out", "features", "noise", "dim", "graph_seed")


@DATASETS.register("sbm", kind="graph", summary="stochastic block model, 3 × 50 nodes: node classification")
def sbm(**options: Any) -> DataBundle:
    """Node classification on a stochastic block model (see :func:`stochastic_block_model` for the
    graph options): predict each node's block; stratified random node splits (``seed``,
    ``valid_fraction``, ``test_fraction`` of 0.2 each by default)."""
    split = node_split_options(options, "sbm")
    data = stochastic_block_model("sbm", **{k: options.pop(k) for k in SBM_OPTIONS if k in options})
    reject_unknown(options, "sbm", (*SBM_OPTIONS, *split))
    blocks = int(data.y.max()) + 1
    masks = random_node_masks(data.y, torch.ones(data.num_nodes, dtype=torch.bool), split["seed"],
                              split["valid_fraction"], split["test_fraction"], stratify=True)
    return node_bundle("sbm", data, masks, [f"block {b}" for b in range(blocks)], "sbm", split["normalize"])


@DATASETS.register("sbm-link", kind="graph", summary="stochastic block model, 3 × 50 nodes: link prediction")
def sbm_link(**options: Any) -> DataBundle:
    """Link prediction on a stochastic block model: pairs inside a block are edges far more often, so
    embeddings that recover the blocks predict links (options of :func:`stochastic_block_model` and
    :func:`link_bundle`)."""
    data = stochastic_block_model("sbm-link", **{k: options.pop(k) for k in SBM_OPTIONS if k in options})
    return link_bundle("sbm-link", data, "sbm-link", **options)


def random_tree(n: int, rng: np.random.Generator) -> list[tuple[int, int]]:
    """A random recursive tree: node k joins a uniformly chosen earlier node."""
    return [(int(rng.integers(k)), k) for k in range(1, n)]


def cycle_graph_sample(rng: np.random.Generator, min_nodes: int, max_nodes: int, has_cycle: bool) -> Any:
    """One graph of the ``cycles`` set: a random tree, plus 1–2 chords when ``has_cycle`` (each chord
    between non-adjacent nodes closes a cycle); node order shuffled; one constant feature per node."""
    from torch_geometric.data import Data

    n = int(rng.integers(min_nodes, max_nodes + 1))
    edges = set(random_tree(n, rng))
    for _ in range(int(rng.integers(1, 3)) if has_cycle else 0):
        while True:
            a, b = sorted(int(v) for v in rng.choice(n, size=2, replace=False))
            if (a, b) not in edges:
                edges.add((a, b))
                break
    order = torch.from_numpy(rng.permutation(n))
    edge_index, _ = clean_edges(order[torch.tensor(sorted(edges)).t()], n)
    return Data(x=torch.ones(n, 1), edge_index=edge_index, y=torch.tensor([int(has_cycle)]))


@DATASETS.register("cycles", kind="graph", summary="400 small graphs: tree or graph with a cycle")
def cycles(graphs: Any = 400, min_nodes: Any = 6, max_nodes: Any = 16, graph_seed: Any = 0,
           **options: Any) -> DataBundle:
    """Graph classification: does the graph contain a cycle? Half the graphs are random trees
    (label 0, ``tree``), half are random trees with one or two extra edges (label 1, ``cycle``); all are
    connected, with ``min_nodes``–``max_nodes`` nodes and the constant feature 1, so only structure
    decides. A sum readout can solve it exactly: Σ_i (deg_i − 2) is −2 for a tree and ≥ 0 otherwise.

    (One ring against two rings of the same total size would not do: every node has degree 2 in both,
    so 1-WL, and therefore every message-passing network, cannot tell them apart — Xu et al. 2019.)
    """
    source = "cycles"
    count = int_option(graphs, "graphs", source, 4)
    low = int_option(min_nodes, "min_nodes", source, 4)
    high = int_option(max_nodes, "max_nodes", source, low)
    rng = np.random.default_rng(int_option(graph_seed, "graph_seed", source))
    data = [cycle_graph_sample(rng, low, high, has_cycle=bool(i % 2)) for i in range(count)]
    return graph_bundle("cycles", data, ["tree", "cycle"], source, **options)
