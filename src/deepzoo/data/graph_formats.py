"""Graph file formats: an edge CSV with an optional node table, the Planetoid ``ind.<name>.*`` files
and the LINQS ``<name>.content`` / ``<name>.cites`` files. Each gives a node-task (or, for an edge
list without labels, a link-task) :class:`DataBundle` as described in :mod:`deepzoo.data.graphs`.

Every format takes ``self_loops=remove|keep`` (default ``remove``; duplicate edges are always merged by
``coalesce``) and ``undirected=true|false`` (default ``true``: each edge also in reverse). Bad input is
one :class:`DataError` line naming the file and line: an edge naming an unknown node (or
``unknown=drop`` to skip such edges), a NaN or non-numeric feature, a duplicate node id, a node in a
split without a label.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..errors import DataError
from . import FORMATS
from .build import reject_unknown
from .bundle import DataBundle
from .formats_common import bool_option, choice_option, existing_dir, existing_file, quote, whitespace_rows
from .formats_pickle import load_graph_pickle
from .graphs import SELF_LOOPS, clean_edges, link_bundle, node_bundle, node_split_options, random_node_masks
from .targets import infer_task

SPLIT_NAMES = ("train", "valid", "test")


def edge_options(options: dict[str, Any], source: str) -> dict[str, Any]:
    """Pop the edge-cleaning options: ``self_loops`` and ``undirected``."""
    return {
        "self_loops": choice_option(str(options.pop("self_loops", "remove")), SELF_LOOPS, "self_loops",
                                    source),
        "undirected": bool_option(options.pop("undirected", "true"), "undirected", source),
    }


def number(text: str, what: str, where: str) -> float:
    """``text`` as a finite float, or a :class:`DataError` naming ``where`` and ``what``."""
    try:
        value = float(text)
    except ValueError:
        raise DataError(f"{where}: {what} is {quote(text)}, not a number") from None
    if not math.isfinite(value):
        raise DataError(f"{where}: {what} is {text.strip()} (NaN and infinity are not allowed)")
    return value


def csv_rows(path: Path, required: tuple[str, ...]) -> tuple[list[str], Iterator[tuple[int, dict[str, str]]]]:
    """The header of a CSV file and its rows as ``(line number, {column: stripped text})``; a
    :class:`DataError` if it is empty or lacks a ``required`` column."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as err:
        raise DataError(f"{path}: cannot be read ({err})") from None
    reader = csv.reader(text.splitlines())
    header = [h.strip() for h in next(reader, [])]
    if not header:
        raise DataError(f"{path}: is empty (expected a header line with {', '.join(required)})")
    missing = [c for c in required if c not in header]
    if missing:
        raise DataError(f"{path}: needs column(s) {', '.join(missing)} (found {', '.join(header)})")

    def rows() -> Iterator[tuple[int, dict[str, str]]]:
        for line, row in enumerate(reader, start=2):
            if not any(cell.strip() for cell in row):
                continue
            if len(row) != len(header):
                raise DataError(f"{path}: line {line} has {len(row)} fields, the header has {len(header)}")
            yield line, {h: cell.strip() for h, cell in zip(header, row, strict=True)}

    return header, rows()


def index_edges(pairs: Iterable[tuple[int, str, str]], index_of: dict[str, int], path: Path,
                unknown: str, known_from: str) -> tuple[torch.Tensor, list[int]]:
    """Map ``(line, source id, target id)`` triples to a (2, E) index; also returns the positions of
    the kept pairs. An unknown id is an error naming the line, or the pair is skipped (``drop``)."""
    edges, kept = [], []
    for position, (line, src, dst) in enumerate(pairs):
        for role, node in (("source", src), ("target", dst)):
            if node not in index_of and unknown == "error":
                raise DataError(f"{path}: line {line}: {role} {quote(node)} is not a node of {known_from} "
                                "(add ?unknown=drop to skip such edges)")
        if src in index_of and dst in index_of:
            edges.append((index_of[src], index_of[dst]))
            kept.append(position)
    edge_index = torch.tensor(edges, dtype=torch.long).t() if edges else torch.zeros(2, 0, dtype=torch.long)
    return edge_index, kept


def encode_node_labels(labels: list[str]) -> tuple[torch.Tensor, list[str] | None]:
    """Text labels ('' = unlabelled) → class indices with −1 for no label and the class names, or
    float regression targets (N, 1) with NaN and None when the labels are real numbers."""
    given = [t for t in labels if t]
    try:
        values = np.array([float(t) for t in given])
    except ValueError:
        values = None
    if values is not None and len(values) and infer_task(values)[0] == "regression":
        y = torch.tensor([float(t) if t else math.nan for t in labels], dtype=torch.float32)
        return y.view(-1, 1), None
    if values is not None:  # integer labels: numeric order, names without a trailing ".0"
        names = [f"{v:g}" for v in sorted(set(values.tolist()))]
        label_of = {t: names.index(f"{float(t):g}") for t in set(given)}
    else:
        names = sorted(set(given))
        label_of = {t: names.index(t) for t in names}
    return torch.tensor([label_of[t] if t else -1 for t in labels]), names


def labelled_node_bundle(name: str, data: Any, class_names: list[str] | None, source: str,
                         split_of: list[str] | None, options: dict[str, Any], ids: list[str]) -> DataBundle:
    """A node bundle with the masks from ``split_of`` (one of train/valid/test/'' per node) when given,
    else a random split of the labelled nodes (stratified for classes)."""
    split = node_split_options(options, source)
    reject_unknown(options, source)
    if split_of is not None:
        masks = tuple(torch.tensor([s == part for s in split_of]) for part in SPLIT_NAMES)
    else:
        labelled = data.y >= 0 if class_names is not None else ~torch.isnan(data.y.view(-1))
        masks = random_node_masks(data.y, labelled, split["seed"], split["valid_fraction"],
                                  split["test_fraction"], stratify=class_names is not None)
    return node_bundle(name, data, masks, class_names, source, split["normalize"], node_names=ids)


def read_node_table(path: Path) -> tuple[list[str], torch.Tensor, list[str] | None, list[str] | None]:
    """``id``, feature columns, optional ``label`` and ``split`` columns → (ids, features, labels, splits)."""
    header, rows = csv_rows(path, ("id",))
    feature_names = [h for h in header if h not in ("id", "label", "split")]
    ids: list[str] = []
    features, labels, splits = [], [], []
    first_line: dict[str, int] = {}
    for line, row in rows:
        node = row["id"]
        if node in first_line:
            raise DataError(f"{path}: line {line}: id {quote(node)} already appears on line "
                            f"{first_line[node]}")
        first_line[node] = line
        ids.append(node)
        where = f"{path}: line {line} (id {quote(node)})"
        features.append([number(row[f], f"feature {f!r}", where) for f in feature_names])
        labels.append(row.get("label", ""))
        split = row.get("split", "")
        if split not in (*SPLIT_NAMES, ""):
            raise DataError(f"{where}: split is {quote(split)}, not one of {', '.join(SPLIT_NAMES)} or empty")
        splits.append(split)
    if not ids:
        raise DataError(f"{path}: has no nodes")
    x = torch.tensor(features, dtype=torch.float32).view(len(ids), len(feature_names))
    return ids, x, labels if "label" in header else None, splits if "split" in header else None


def resolve_beside(name: str, anchor: Path) -> Path:
    """``name`` as given (relative to the working folder), else next to ``anchor``."""
    given = Path(name)
    beside = anchor.parent / given
    return existing_file(given if given.exists() or given.is_absolute() or not beside.exists() else beside)


@FORMATS.register("edgelist", kind="graph",
                  summary="edge CSV (source,target[,edge features]) + optional node table ?nodes=nodes.csv")
def edgelist(path: str, nodes: str | None = None, task: str | None = None, features: str = "onehot",
             unknown: str = "error", **options: Any) -> DataBundle:
    """A graph from ``path``, a CSV with ``source`` and ``target`` columns (node ids as text; any other
    column is a numeric edge feature, ``data.edge_attr``) and an optional node table ``nodes`` (a CSV
    with ``id``, numeric feature columns, optionally ``label`` — empty for unlabelled nodes; numbers
    with fractions make it node regression — and ``split`` = train/valid/test to fix the split).

    ``task`` is ``node`` (needs labels; the default when there are any) or ``link`` (the default
    otherwise; options of :func:`deepzoo.data.graphs.link_bundle`). Without a node table the nodes are
    the ids in the edges; without feature columns, ``features=onehot`` (identity, N × N) or ``ones``
    (one constant) gives the node features.
    """
    edges_path = existing_file(path)
    source = str(edges_path)
    cleaning = edge_options(options, source)
    unknown = choice_option(unknown, ("error", "drop"), "unknown", source)
    header, rows = csv_rows(edges_path, ("source", "target"))
    attr_names = [h for h in header if h not in ("source", "target")]
    pairs, attrs = [], []
    for line, row in rows:
        pairs.append((line, row["source"], row["target"]))
        where = f"{edges_path}: line {line}"
        attrs.append([number(row[a], f"edge feature {a!r}", where) for a in attr_names])

    labels = splits = None
    known_from = "the edge list"
    if nodes is not None:
        node_path = resolve_beside(nodes, edges_path)
        ids, x, labels, splits = read_node_table(node_path)
        known_from = str(node_path)
    else:
        ids = list(dict.fromkeys(node for _, src, dst in pairs for node in (src, dst)))
        x = torch.zeros(len(ids), 0)
    if x.size(1) == 0:
        choice_option(features, ("onehot", "ones"), "features", source)
        x = torch.eye(len(ids)) if features == "onehot" else torch.ones(len(ids), 1)
    index_of = {node: i for i, node in enumerate(ids)}
    edge_index, kept = index_edges(pairs, index_of, edges_path, unknown, known_from)
    edge_attr = torch.tensor([attrs[i] for i in kept], dtype=torch.float32) if attr_names else None
    edge_index, edge_attr = clean_edges(edge_index, len(ids), edge_attr=edge_attr, **cleaning)
    from torch_geometric.data import Data

    data = Data(x=x, edge_index=edge_index, num_nodes=len(ids))
    if edge_attr is not None:
        data.edge_attr = edge_attr
    has_labels = labels is not None and any(labels)
    task = choice_option(task or ("node" if has_labels else "link"), ("node", "link"), "task", source)
    name = edges_path.stem
    if task == "link":
        return link_bundle(name, data, source, **options)
    if not has_labels:
        raise DataError(f"{source}: task=node needs a node table (?nodes=...) with a label column")
    data.y, class_names = encode_node_labels(labels)
    return labelled_node_bundle(name, data, class_names, known_from, splits, options, ids)


def planetoid_folder(path: str) -> tuple[Path, str]:
    """``dir/cora`` → (``dir``, ``cora``); also accepts PyG's layout ``dir/cora/raw/ind.cora.*``."""
    spec = Path(path)
    folder, name = spec.parent, spec.name
    if not (folder / f"ind.{name}.x").exists() and (spec / "raw" / f"ind.{name}.x").exists():
        folder = spec / "raw"
    return existing_dir(folder), name


def dense_matrix(value: Any, path: Path) -> np.ndarray:
    """A 2-D float32 array from a scipy.sparse matrix or a numpy array."""
    array = value.toarray() if hasattr(value, "toarray") else value
    if not isinstance(array, np.ndarray) or array.ndim != 2:
        raise DataError(f"{path}: expected a 2-D matrix, found {type(value).__name__}")
    return array.astype(np.float32)


def planetoid_edges(graph: Any, num_nodes: int, path: Path) -> torch.Tensor:
    """The adjacency dict ``{node: [neighbours]}`` as a (2, E) index, checked against ``num_nodes``."""
    try:
        edges = [(int(node), int(nb)) for node, neighbours in graph.items() for nb in neighbours]
    except (AttributeError, TypeError, ValueError):
        raise DataError(f"{path}: expected a dict of integer neighbour lists, found "
                        f"{type(graph).__name__}") from None
    edge_index = torch.tensor(edges, dtype=torch.long).view(-1, 2).t()
    outside = ((edge_index < 0) | (edge_index >= num_nodes)).any(dim=0)
    if outside.any():
        edge = tuple(edge_index[:, int(outside.nonzero()[0])].tolist())
        raise DataError(f"{path}: edge {edge} names a node outside the {num_nodes} nodes of the features")
    return edge_index


#: the Planetoid files, ``ind.<name>.<part>``
PLANETOID_PARTS = ("x", "tx", "allx", "y", "ty", "ally", "graph", "test.index")


@FORMATS.register("planetoid", kind="graph",
                  summary="Planetoid ind.<name>.* files (Cora, Citeseer, Pubmed) with the public split")
def planetoid(path: str, seed: Any = 0, normalize: str = "none", **options: Any) -> DataBundle:
    """The Planetoid files of Yang et al. 2016 (``planetoid:dir/cora`` reads ``dir/ind.cora.x`` …
    ``dir/ind.cora.test.index``), read with the restricted unpickler, with the public split used by
    Kipf & Welling 2017: train = the first len(y) nodes (20 per class), valid = the next 500,
    test = the nodes of ``test.index`` (1000). ``seed`` is accepted and unused (the split is fixed).

    As in PyG, test rows are put back in the order ``test.index`` gives, and when the test indices
    have gaps (Citeseer's 15 isolated nodes, which have no features in the files) the gaps become
    nodes with zero features — labelled −1 here, in no split.
    """
    folder, name = planetoid_folder(path)
    source = str(folder / f"ind.{name}")
    cleaning = edge_options(options, source)
    reject_unknown(options, source)
    files = {part: existing_file(folder / f"ind.{name}.{part}") for part in PLANETOID_PARTS}
    loaded = {part: load_graph_pickle(files[part]) for part in ("x", "tx", "allx", "y", "ty", "ally", "graph")}
    tx, allx = dense_matrix(loaded["tx"], files["tx"]), dense_matrix(loaded["allx"], files["allx"])
    y, ty, ally = (dense_matrix(loaded[p], files[p]) for p in ("y", "ty", "ally"))
    train_x = dense_matrix(loaded["x"], files["x"])
    if len(train_x) != len(y):
        raise DataError(f"{files['x']}: {len(train_x)} training nodes, but y labels {len(y)}")
    test_index = read_test_index(files["test.index"])
    if len(test_index) != len(tx) or len(ty) != len(tx):
        raise DataError(f"{files['test.index']}: {len(test_index)} test nodes, but tx has {len(tx)} rows "
                        f"and ty {len(ty)}")
    if tx.shape[1] != allx.shape[1] or not ty.shape[1] == ally.shape[1] == y.shape[1]:
        raise DataError(f"{source}: tx/allx or y/ty/ally disagree on their number of columns")
    if np.min(test_index) != len(allx):
        raise DataError(f"{files['test.index']}: test nodes start at {np.min(test_index)}, but allx has "
                        f"{len(allx)} rows")
    x, onehot = all_nodes(allx, ally, tx, ty, test_index)
    labels = np.where(onehot.any(axis=1), onehot.argmax(axis=1), -1)

    n = len(x)
    edge_index, _ = clean_edges(planetoid_edges(loaded["graph"], n, files["graph"]), n, **cleaning)
    from torch_geometric.data import Data

    data = Data(x=torch.from_numpy(x), edge_index=edge_index, y=torch.from_numpy(labels).long())
    masks = tuple(torch.zeros(n, dtype=torch.bool) for _ in SPLIT_NAMES)
    masks[0][: len(y)] = True
    masks[1][len(y): min(len(y) + 500, len(allx))] = True
    masks[2][torch.from_numpy(test_index)] = True
    class_names = [str(c) for c in range(y.shape[1])]
    return node_bundle(name, data, masks, class_names, source, normalize,
                       reason="Planetoid citation graph, node classes → node classification (public split)")


def all_nodes(allx: np.ndarray, ally: np.ndarray, tx: np.ndarray, ty: np.ndarray,
              test_index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Features and one-hot labels of every node: allx/ally, then the test rows. Row k of tx/ty is
    node ``test_index[k]``; positions between the smallest and largest test index that the file does
    not list (Citeseer's isolated nodes) get zero rows, as in PyG and Kipf's reader."""
    ordered = np.sort(test_index)
    span = int(ordered[-1] - ordered[0]) + 1
    tx_full = np.zeros((span, tx.shape[1]), np.float32)
    ty_full = np.zeros((span, ty.shape[1]), np.float32)
    tx_full[ordered - ordered[0]], ty_full[ordered - ordered[0]] = tx, ty
    x, onehot = np.concatenate([allx, tx_full]), np.concatenate([ally, ty_full])
    x[test_index], onehot[test_index] = x[ordered], onehot[ordered]
    return x, onehot


def read_test_index(path: Path) -> np.ndarray:
    """One node index per line."""
    try:
        lines = enumerate(path.read_text(encoding="ascii").split("\n"), start=1)
    except UnicodeDecodeError:
        raise DataError(f"{path}: is not a text file of node indices") from None
    values = [number(text, "the test index", f"{path}: line {i}") for i, text in lines if text.strip()]
    if not values or any(v != int(v) or v < 0 for v in values):
        raise DataError(f"{path}: expected one non-negative integer node index per line")
    return np.array(values, dtype=np.int64)


@FORMATS.register("content", kind="graph",
                  summary="LINQS <name>.content (id, word features, class) + <name>.cites (cited, citing)")
def content(path: str, unknown: str = "error", **options: Any) -> DataBundle:
    """The LINQS citation files (``content:dir/cora`` reads ``dir/cora.content`` and ``dir/cora.cites``):
    each ``.content`` line is ``<paper id> <features ...> <class label>`` (whitespace-separated), each
    ``.cites`` line ``<cited id> <citing id>`` (an edge citing → cited). Classes are sorted by name;
    splits are random and stratified (``seed``, ``valid_fraction``, ``test_fraction``).
    """
    base = Path(path)
    content_path = existing_file(base.parent / f"{base.name}.content")
    cites_path = existing_file(base.parent / f"{base.name}.cites")
    source = str(content_path)
    cleaning = edge_options(options, source)
    unknown = choice_option(unknown, ("error", "drop"), "unknown", source)
    ids, features, labels = [], [], []
    first_line: dict[str, int] = {}
    for line, fields in whitespace_rows(content_path):
        if len(fields) < 3 or (features and len(fields) != len(features[0]) + 2):
            width = f"{len(features[0]) + 2}" if features else "at least 3"
            raise DataError(f"{content_path}: line {line} has {len(fields)} fields, expected {width}")
        if fields[0] in first_line:
            raise DataError(f"{content_path}: line {line}: id {quote(fields[0])} already appears on line "
                            f"{first_line[fields[0]]}")
        first_line[fields[0]] = line
        where = f"{content_path}: line {line} (id {quote(fields[0])})"
        ids.append(fields[0])
        features.append([number(v, f"feature {k}", where) for k, v in enumerate(fields[1:-1], 1)])
        labels.append(fields[-1])
    if not ids:
        raise DataError(f"{content_path}: has no nodes")
    pairs = []
    for line, fields in whitespace_rows(cites_path):
        if len(fields) != 2:
            raise DataError(f"{cites_path}: line {line} has {len(fields)} fields, expected 2 (cited citing)")
        pairs.append((line, fields[1], fields[0]))
    edge_index, _ = index_edges(pairs, {node: i for i, node in enumerate(ids)}, cites_path, unknown,
                                str(content_path))
    edge_index, _ = clean_edges(edge_index, len(ids), **cleaning)
    from torch_geometric.data import Data

    y, class_names = encode_node_labels(labels)
    data = Data(x=torch.tensor(features, dtype=torch.float32), edge_index=edge_index, y=y)
    return labelled_node_bundle(base.name, data, class_names, source, None, options, ids)
