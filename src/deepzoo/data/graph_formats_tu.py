"""The TU graph-classification files (Morris et al. 2020, "TUDataset"): ``tu:dir/MUTAG`` reads
``MUTAG_A.txt``, ``MUTAG_graph_indicator.txt``, ``MUTAG_graph_labels.txt`` and, when present,
``MUTAG_node_labels.txt`` / ``MUTAG_node_attributes.txt`` from ``dir/MUTAG/`` or PyTorch Geometric's
``dir/MUTAG/raw/``. Written here, with validation, rather than through PyG's ``TUDataset``.

The format: node ``i`` (1-based line number of ``graph_indicator``) belongs to the graph on that line,
nodes of a graph are consecutive; each line of ``A`` is an edge ``i, j`` (1-based node ids, both
directions listed); ``graph_labels`` has one label per graph. Node features are the one-hot node labels
(one block per label column, width max − min + 1, as PyG builds them), plus the continuous
``node_attributes`` with ``attributes=true``; without node labels every node has the feature 1. Graph
labels, whatever their values (MUTAG: −1/1), become 0…K−1 in sorted order. Edge labels are not read.

Splits follow the protocol of Xu et al. 2019 (GIN), 10-fold cross-validation: the graphs are dealt into
``folds`` stratified folds (shuffled by ``seed``), fold ``fold`` is the test split and ``valid_fraction``
(0.1) of the other folds, stratified, the validation split. Running ``fold=0`` … ``fold=9`` with one
seed and averaging the test accuracy gives the 10-fold estimate.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..errors import DataError
from . import FORMATS
from .build import _split, option_names, reject_unknown
from .bundle import DataBundle
from .formats_common import bool_option, existing_file, int_option, quote, whitespace_rows
from .graphs import clean_edges, fraction_option, graph_set_bundle

#: the files every TU set has; node labels and attributes are optional
TU_REQUIRED = ("A", "graph_indicator", "graph_labels")


def tu_folder(path: str) -> tuple[Path, str]:
    """``dir/NAME`` → the folder holding ``NAME_A.txt`` (``dir/NAME`` or PyG's ``dir/NAME/raw``) and NAME;
    ``dir/NAME/raw`` itself works too."""
    given = Path(path)
    candidates = [(given, given.name), (given / "raw", given.name), (given, given.parent.name)]
    for folder, name in candidates:
        if (folder / f"{name}_A.txt").is_file():
            return folder, name
    raise DataError(f"{path}: no {given.name}_A.txt here or in {given / 'raw'} (a TU set's files are "
                    "NAME_A.txt, NAME_graph_indicator.txt, NAME_graph_labels.txt ...)")


def finite_float(text: str) -> float:
    """``text`` as a float; NaN and infinity are refused (ValueError) like any other non-number."""
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(text)
    return value


#: what each parser accepts, for the error message
PARSED = {int: "an integer", finite_float: "a finite number"}


def number_rows(path: Path, parse: Callable[[str], Any], width: int | None = None) -> np.ndarray:
    """A text table of ``path`` — fields separated by commas and/or spaces, blank lines skipped — as a
    (rows, width) array (int64 for ``int``, float32 for :func:`finite_float`); ``width`` None takes the
    first row's. A :class:`DataError` names the line of a wrong field count or of a field ``parse``
    rejects."""
    rows = []
    for number, fields in whitespace_rows(path, commas=True):
        width = width or len(fields)
        if len(fields) != width:
            raise DataError(f"{path}: line {number} has {len(fields)} fields, expected {width}")
        row = []
        for field in fields:
            try:
                row.append(parse(field))
            except ValueError:
                raise DataError(f"{path}: line {number}: {quote(field)} is not {PARSED[parse]}") from None
        rows.append(row)
    if not rows:
        raise DataError(f"{path}: is empty")
    return np.array(rows, dtype=np.int64 if parse is int else np.float32)


def graph_ranges(indicator: np.ndarray, path: Path) -> np.ndarray:
    """The first node of each graph and one past the last (G + 1 offsets) from ``graph_indicator``,
    which must number the graphs 1…G in order, every graph with at least one node."""
    steps = np.diff(indicator, prepend=0)
    bad = np.flatnonzero((steps != 0) & (steps != 1))
    if len(bad) or indicator[0] != 1:
        node = int(bad[0]) + 1 if len(bad) else 1
        after = f"node {node - 1}'s graph {indicator[node - 2]}" if node > 1 else "the start"
        raise DataError(f"{path}: node {node} is in graph {indicator[node - 1]}, after {after}; graphs must be "
                        "numbered 1, 2, … with the nodes of each graph on consecutive lines")
    return np.searchsorted(indicator, np.arange(1, int(indicator[-1]) + 2))


def one_hot_columns(labels: np.ndarray) -> np.ndarray:
    """Each integer column one-hot over min…max (PyG's TUDataset encoding), the blocks side by side."""
    blocks = []
    for column in labels.T:
        shifted = column - column.min()
        blocks.append(np.eye(int(shifted.max()) + 1, dtype=np.float32)[shifted])
    return np.concatenate(blocks, axis=1)


def read_tu_graphs(folder: Path, name: str, attributes: bool) -> tuple[list[Any], list[str]]:
    """The graphs of a TU folder (PyG ``Data`` with ``x``, ``edge_index``, ``y`` of shape (1,)) and the
    class names (the sorted distinct graph labels as written)."""
    files = {part: existing_file(folder / f"{name}_{part}.txt") for part in TU_REQUIRED}
    indicator = number_rows(files["graph_indicator"], int, 1)[:, 0]
    starts = graph_ranges(indicator, files["graph_indicator"])
    graph_labels = number_rows(files["graph_labels"], int, 1)[:, 0]
    nodes, graphs = len(indicator), len(starts) - 1
    if len(graph_labels) != graphs:
        raise DataError(f"{files['graph_labels']}: {len(graph_labels)} labels, but {files['graph_indicator'].name} "
                        f"has {graphs} graphs")
    features = []
    labels_file = folder / f"{name}_node_labels.txt"
    if labels_file.is_file():
        features.append(one_hot_columns(_per_node(number_rows(labels_file, int), nodes, labels_file)))
    if attributes:
        path = existing_file(folder / f"{name}_node_attributes.txt")
        features.append(_per_node(number_rows(path, finite_float), nodes, path))
    x = torch.from_numpy(np.concatenate(features, axis=1) if features else np.ones((nodes, 1), np.float32))
    edges = _edges(number_rows(files["A"], int, 2), indicator, files["A"])
    edge_index, _ = clean_edges(torch.from_numpy(edges.T.copy()), nodes)
    edge_starts = np.searchsorted(indicator[edge_index[0].numpy()], np.arange(1, graphs + 2))
    classes, y = np.unique(graph_labels, return_inverse=True)
    from torch_geometric.data import Data

    data = [Data(x=x[starts[g]:starts[g + 1]], edge_index=edge_index[:, edge_starts[g]:edge_starts[g + 1]] - starts[g],
                 y=torch.tensor([int(y[g])])) for g in range(graphs)]
    return data, [str(c) for c in classes.tolist()]


def _per_node(values: np.ndarray, nodes: int, path: Path) -> np.ndarray:
    if len(values) != nodes:
        raise DataError(f"{path}: {len(values)} rows for {nodes} nodes")
    return values


def _edges(pairs: np.ndarray, indicator: np.ndarray, path: Path) -> np.ndarray:
    """The ``A`` pairs as 0-based node indices, checked: ids in 1…N, both ends in one graph."""
    outside = np.flatnonzero(((pairs < 1) | (pairs > len(indicator))).any(axis=1))
    if len(outside):
        raise DataError(f"{path}: edge {outside[0] + 1} {tuple(pairs[outside[0]].tolist())} names a node "
                        f"outside 1…{len(indicator)}")
    pairs = pairs - 1
    across = np.flatnonzero(indicator[pairs[:, 0]] != indicator[pairs[:, 1]])
    if len(across):
        a, b = pairs[across[0]] + 1
        raise DataError(f"{path}: edge {across[0] + 1} ({a}, {b}) joins graph {indicator[a - 1]} to graph "
                        f"{indicator[b - 1]}")
    return pairs


def fold_parts(labels: np.ndarray, fold: int, folds: int, seed: int, valid_fraction: float,
               source: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Train, valid and test indices of fold ``fold`` of ``folds`` stratified folds (scikit-learn's
    ``StratifiedKFold``, shuffled by ``seed``): that fold is the test split, ``valid_fraction`` of the
    rest (stratified, seed + 1) the validation split."""
    from sklearn.model_selection import StratifiedKFold

    if not 2 <= folds <= len(labels):
        raise DataError(f"{source}: option folds={folds} must be between 2 and the {len(labels)} graphs")
    if not 0 <= fold < folds:
        raise DataError(f"{source}: option fold={fold} must be between 0 and {folds - 1}")
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    rest, test = list(splitter.split(np.zeros(len(labels)), labels))[fold]
    train, valid = _split(len(rest), valid_fraction, seed + 1, labels[rest], source)
    return rest[train], rest[valid], test


@FORMATS.register("tu", kind="graph",
                  summary="TU graph-classification files (NAME_A.txt, NAME_graph_indicator.txt ...); ?fold=k")
def tu_format(path: str, seed: Any = 0, fold: Any = 0, folds: Any = 10, valid_fraction: Any = 0.1,
              attributes: Any = "false", **unused: Any) -> DataBundle:
    """A TU graph-classification set (module docstring), split for fold ``fold`` of ``folds``."""
    folder, name = tu_folder(path)
    source = str(folder / name)
    reject_unknown(unused, source, option_names(tu_format))
    graphs, class_names = read_tu_graphs(folder, name, bool_option(attributes, "attributes", source))
    labels = np.array([int(g.y) for g in graphs])
    parts = fold_parts(labels, int_option(fold, "fold", source), int_option(folds, "folds", source),
                       int_option(seed, "seed", source), fraction_option(valid_fraction, "valid_fraction", source),
                       source)
    return graph_set_bundle(name, graphs, class_names, parts)
