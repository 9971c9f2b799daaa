"""Graph datasets: the generated sets, the edge-list / Planetoid / LINQS formats written as tiny files
here, the link split's no-leak guarantee and the restricted unpickler."""

from __future__ import annotations

import collections
import pickle
from pathlib import Path

import networkx as nx
import numpy as np
import pytest
import scipy.sparse as sp
import torch
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import deepzoo.data.graph_formats  # noqa: F401  (registers edgelist:, planetoid:, content:)
from deepzoo.data import load_dataset
from deepzoo.data.formats_pickle import load_graph_pickle
from deepzoo.errors import DataError


def edge_set(edge_index: torch.Tensor) -> set[tuple[int, int]]:
    return set(map(tuple, edge_index.t().tolist()))


def undirected_pairs(edge_index: torch.Tensor) -> set[tuple[int, int]]:
    return {tuple(sorted(e)) for e in edge_set(edge_index)}


# ---------------------------------------------------------------- generated sets


def test_karate_keeps_the_two_leaders_as_the_only_training_nodes():
    bundle = load_dataset("karate")
    assert bundle.train.mask.nonzero().view(-1).tolist() == [0, 33]
    assert len(bundle.test) == 32 and bundle.meta.task == "node" and bundle.meta.num_classes == 2
    assert bundle.train.graph.y[[0, 33]].tolist() == [0, 1]  # Mr. Hi's and the Officer's factions


def test_sbm_blocks_edge_densities_and_features():
    bundle = load_dataset("sbm", noise=0.0)
    data = bundle.train.graph
    assert data.y.tolist() == [b for b in range(3) for _ in range(50)]
    assert torch.equal(data.x, torch.eye(3)[data.y])  # noise 0: exact one-hot of the block
    same = data.y[data.edge_index[0]] == data.y[data.edge_index[1]]
    inside = int(same.sum()) // 2 / (3 * 50 * 49 / 2)  # undirected edges per within-block pair
    across = int((~same).sum()) // 2 / (3 * 50 * 50)
    assert 0.17 < inside < 0.23 and 0.01 < across < 0.03  # p_in = 0.2, p_out = 0.02
    masks = torch.stack([bundle.train.mask, bundle.valid.mask, bundle.test.mask])
    assert torch.equal(masks.sum(dim=0), torch.ones(150, dtype=torch.long))  # disjoint, covering
    assert (len(bundle.train), len(bundle.valid), len(bundle.test)) == (96, 24, 30)
    assert [int((data.y[bundle.test.mask] == b).sum()) for b in range(3)] == [10, 10, 10]  # stratified


def test_sbm_random_features_and_seeds():
    a = load_dataset("sbm", features="random", dim="7", seed=1)
    b = load_dataset("sbm", features="random", dim=7, seed=2)
    assert a.meta.input_shape == (7,)
    assert torch.equal(a.train.graph.edge_index, b.train.graph.edge_index)  # same graph_seed, same graph
    assert not torch.equal(a.train.mask, b.train.mask)  # another seed, another split
    other = load_dataset("sbm", graph_seed=5).train.graph.edge_index
    assert not torch.equal(other, a.train.graph.edge_index)
    with pytest.raises(DataError, match="p_in"):
        load_dataset("sbm?p_in=2")
    with pytest.raises(DataError, match="unknown option"):
        load_dataset("sbm", colour="red")


def test_sbm_link_split_never_passes_messages_over_its_own_targets():
    bundle = load_dataset("sbm-link")
    assert bundle.meta.task == "link" and bundle.meta.num_classes == 0
    full = load_dataset("sbm").train.graph
    all_edges = edge_set(full.edge_index)
    train, valid, test = (s.graph for s in (bundle.train, bundle.valid, bundle.test))
    for split in (train, valid, test):
        pairs = split.edge_label_index.t().tolist()
        positives = {tuple(p) for p, lab in zip(pairs, split.edge_label.tolist(), strict=True) if lab == 1}
        negatives = {tuple(p) for p, lab in zip(pairs, split.edge_label.tolist(), strict=True) if lab == 0}
        assert len(positives) == len(negatives) > 0  # one sampled non-edge per edge
        assert not {tuple(sorted(p)) for p in positives} & undirected_pairs(split.edge_index)
        assert positives <= all_edges and not negatives & all_edges
    held_out = {tuple(sorted(p)) for s in (valid, test) for p, lab in
                zip(s.edge_label_index.t().tolist(), s.edge_label.tolist(), strict=True) if lab == 1}
    assert not held_out & undirected_pairs(train.edge_index)
    assert len(bundle.train) == train.edge_label.numel()


def test_cycles_labels_match_the_graphs_structure():
    bundle = load_dataset("cycles")
    graphs = bundle.train + bundle.valid + bundle.test
    assert len(graphs) == 400 and sum(int(g.y) for g in graphs) == 200
    assert (len(bundle.train), len(bundle.valid), len(bundle.test)) == (256, 64, 80)
    for g in graphs:
        nxg = nx.Graph(list(undirected_pairs(g.edge_index)))
        assert nxg.number_of_nodes() == g.num_nodes and 6 <= g.num_nodes <= 16
        assert nx.is_connected(nxg) and nx.is_tree(nxg) == (int(g.y) == 0)
        assert torch.equal(g.x, torch.ones(g.num_nodes, 1))


# ---------------------------------------------------------------- edge lists


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


@pytest.fixture
def edgelist_files(tmp_path):
    nodes = write(tmp_path / "nodes.csv", "id,f1,f2,label\na,1,0,cat\nb,0,1,dog\nc,1,1,cat\nd,0,0,dog\n"
                  "e,2,0,cat\nf,0,2,dog\ng,1,2,\n")
    edges = write(tmp_path / "edges.csv", "source,target,weight\na,b,1.0\nb,c,2.0\nc,d,0.5\nd,a,1.5\n"
                  "a,b,3.0\ne,e,9\nf,g,1\ne,a,1\n")
    return edges, nodes


def test_edgelist_reads_nodes_features_labels_and_edge_features(edgelist_files):
    edges, nodes = edgelist_files
    bundle = load_dataset(f"edgelist:{edges}?nodes={nodes}&test_fraction=0.34&valid_fraction=0")
    data = bundle.train.graph
    assert bundle.meta.class_names == ["cat", "dog"] and bundle.meta.input_shape == (2,)
    assert data.y.tolist() == [0, 1, 0, 1, 0, 1, -1]  # g has no label
    assert data.x[4].tolist() == [2.0, 0.0]
    # undirected, the duplicate a–b merged (weights averaged), the self-loop e–e removed
    assert undirected_pairs(data.edge_index) == {(0, 1), (1, 2), (2, 3), (0, 3), (5, 6), (0, 4)}
    assert data.edge_index.size(1) == 12
    weight = {tuple(e): float(w) for e, w in zip(data.edge_index.t().tolist(), data.edge_attr, strict=True)}
    assert weight[(0, 1)] == weight[(1, 0)] == 2.0
    labelled = bundle.train.mask | bundle.test.mask
    assert labelled.tolist() == [True] * 6 + [False] and not (bundle.train.mask & bundle.test.mask).any()


def test_edgelist_self_loops_keep_and_split_column(tmp_path, edgelist_files):
    edges, _ = edgelist_files
    kept = load_dataset(f"edgelist:{edges}", self_loops="keep")
    assert kept.meta.task == "link"  # no labels → link prediction
    ids = ["a", "b", "c", "d", "e", "f", "g"]
    e = ids.index("e")
    full = kept.train.graph
    assert full.num_nodes == 7 and torch.equal(full.x, torch.eye(7))
    nodes = write(tmp_path / "split.csv", "id,label,split\na,x,train\nb,y,train\nc,x,valid\nd,y,test\n"
                  "e,x,\nf,y,test\ng,x,test\n")
    bundle = load_dataset(f"edgelist:{edges}?nodes={nodes}&self_loops=keep")
    assert (e, e) in edge_set(bundle.train.graph.edge_index)
    assert bundle.train.mask.nonzero().view(-1).tolist() == [0, 1]
    assert bundle.test.mask.nonzero().view(-1).tolist() == [3, 5, 6]
    assert bundle.meta.input_shape == (7,)  # no feature columns: one-hot identities


def test_edgelist_numeric_labels_with_fractions_are_node_regression(tmp_path):
    nodes = write(tmp_path / "n.csv", "id,f,label\n1,0.5,1.25\n2,1.0,2.5\n3,0.0,\n4,2.0,0.75\n5,1.0,3.5\n")
    edges = write(tmp_path / "e.csv", "source,target\n1,2\n2,3\n3,4\n4,5\n")
    bundle = load_dataset(f"edgelist:{edges}", nodes=str(nodes), test_fraction=0.25, valid_fraction=0)
    assert bundle.meta.extra["target_task"] == "regression" and bundle.meta.num_targets == 1
    y = bundle.train.graph.y
    assert y.shape == (5, 1) and torch.isnan(y[2, 0]) and y[1, 0] == 2.5
    assert not (bundle.train.mask | bundle.test.mask)[2]


@pytest.mark.parametrize("nodes_text, edges_text, message", [
    ("id,f,label\na,1,x\nb,2,y\n", "source,target\na,b\nb,zed\n", r"line 3: target 'zed' is not a node"),
    ("id,f,label\na,1,x\nb,nan,y\n", "source,target\na,b\n", r"line 3 \(id 'b'\): feature 'f' is nan"),
    ("id,f,label\na,1,x\nb,oops,y\n", "source,target\na,b\n", r"feature 'f' is 'oops', not a number"),
    ("id,f,label\na,1,x\nb,2,y\na,3,x\n", "source,target\na,b\n", r"line 4: id 'a' already appears on line 2"),
    ("id,f,label,split\na,1,x,train\nb,2,,train\n", "source,target\na,b\n",
     r"csv: node 'b' is in the train split but has no label"),
    ("id,f,label\na,1,x\n", "from,to\na,b\n", r"needs column\(s\) source, target"),
])
def test_edgelist_bad_input_is_one_line_naming_the_problem(tmp_path, nodes_text, edges_text, message):
    nodes, edges = write(tmp_path / "nodes.csv", nodes_text), write(tmp_path / "edges.csv", edges_text)
    with pytest.raises(DataError, match=message) as info:
        load_dataset(f"edgelist:{edges}?nodes={nodes}")
    assert "\n" not in str(info.value)


def test_edgelist_unknown_nodes_can_be_dropped(tmp_path):
    write(tmp_path / "nodes.csv", "id,label\na,x\nb,y\nc,x\nd,y\n")
    edges = write(tmp_path / "edges.csv", "source,target\na,b\nb,zed\nc,d\n")
    bundle = load_dataset(f"edgelist:{edges}?nodes=nodes.csv&unknown=drop")  # nodes= found beside edges
    assert undirected_pairs(bundle.train.graph.edge_index) == {(0, 1), (2, 3)}


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.integers(0, 9), st.integers(0, 9)), min_size=1, max_size=30))
def test_edgelist_round_trips_any_edge_list(tmp_path, pairs):
    assume(any(a != b for a, b in pairs))  # a link split needs at least one edge
    path = write(tmp_path / "any.csv", "source,target\n" + "".join(f"n{a},n{b}\n" for a, b in pairs))
    data = load_dataset(f"edgelist:{path}?task=link&test_fraction=0&valid_fraction=0&disjoint_train_ratio=0")
    graph = data.train.graph
    ids = list(dict.fromkeys(n for pair in pairs for n in pair))
    expected = {tuple(sorted((ids.index(a), ids.index(b)))) for a, b in pairs if a != b}
    assert graph.num_nodes == len(ids)
    assert undirected_pairs(graph.edge_index) == expected and graph.edge_index.size(1) == 2 * len(expected)


# ---------------------------------------------------------------- Planetoid and LINQS files


def dump(path: Path, value) -> None:
    with open(path, "wb") as f:
        pickle.dump(value, f, protocol=2)


def planetoid_folder(folder: Path, name: str = "toy") -> dict:
    """A Citeseer-like toy: 2 training nodes, 4 more in allx, 3 test nodes listed out of order at
    positions 6, 8, 9 (7 is a gap: an isolated node absent from the files), 3 classes."""
    rng = np.random.default_rng(0)
    allx = rng.integers(0, 2, (6, 4)).astype(np.float32)
    tx = rng.integers(0, 2, (3, 4)).astype(np.float32) + 5.0  # distinct from allx
    ally = np.eye(3)[[0, 1, 2, 0, 1, 2]]
    ty = np.eye(3)[[2, 1, 0]]
    test_index = [9, 6, 8]  # row k of tx / ty is node test_index[k]
    graph = collections.defaultdict(list, {0: [1, 9], 1: [0, 2], 2: [1, 2], 6: [8], 8: [6], 9: [0]})
    files = {"x": sp.csr_matrix(allx[:2]), "tx": sp.csr_matrix(tx), "allx": sp.csr_matrix(allx),
             "y": ally[:2], "ty": ty, "ally": ally, "graph": graph}
    for part, value in files.items():
        dump(folder / f"ind.{name}.{part}", value)
    (folder / f"ind.{name}.test.index").write_text("\n".join(map(str, test_index)) + "\n")
    return {"allx": allx, "tx": tx, "test_index": test_index}


def test_planetoid_public_split_test_order_and_isolated_gap(tmp_path):
    made = planetoid_folder(tmp_path)
    bundle = load_dataset(f"planetoid:{tmp_path}/toy")
    data = bundle.train.graph
    assert data.num_nodes == 10 and bundle.meta.num_classes == 3
    assert bundle.train.mask.nonzero().view(-1).tolist() == [0, 1]  # range(len(y))
    assert bundle.valid.mask.nonzero().view(-1).tolist() == [2, 3, 4, 5]  # the next (up to 500) allx nodes
    assert bundle.test.mask.nonzero().view(-1).tolist() == [6, 8, 9]
    for k, node in enumerate(made["test_index"]):  # tx row k lands on node test_index[k]
        assert data.x[node].tolist() == made["tx"][k].tolist()
    assert data.y[[9, 6, 8]].tolist() == [2, 1, 0]
    assert data.x[7].abs().sum() == 0 and data.y[7] == -1  # the gap: no features, no label, no split
    assert torch.equal(data.x[:6], torch.from_numpy(made["allx"]))
    # the dict's edges, undirected, self-loop 2–2 removed
    assert undirected_pairs(data.edge_index) == {(0, 1), (0, 9), (1, 2), (6, 8)}


def test_planetoid_reads_pyg_raw_layout_and_old_module_paths(tmp_path):
    raw = tmp_path / "toy" / "raw"
    raw.mkdir(parents=True)
    planetoid_folder(raw)
    for part in ("x", "tx", "allx", "y", "ty", "ally"):  # as written by numpy 1.x / old scipy
        path = raw / f"ind.toy.{part}"
        data = path.read_bytes().replace(b"numpy._core.multiarray", b"numpy.core.multiarray")
        path.write_bytes(data.replace(b"scipy.sparse._csr", b"scipy.sparse.csr"))
    assert b"scipy.sparse.csr\n" in (raw / "ind.toy.x").read_bytes()
    assert load_dataset(f"planetoid:{tmp_path}/toy").train.graph.num_nodes == 10


def test_planetoid_missing_file_and_unlabelled_training_node(tmp_path):
    planetoid_folder(tmp_path)
    dump(tmp_path / "ind.toy.ally", np.eye(3)[[0, 1, 2, 0, 1, 2]] * np.array([[1], [0], [1], [1], [1], [1]]))
    with pytest.raises(DataError, match="node 1 is in the train split but has no label"):
        load_dataset(f"planetoid:{tmp_path}/toy")
    (tmp_path / "ind.toy.graph").unlink()
    with pytest.raises(DataError, match=r"ind\.toy\.graph: no such file"):
        load_dataset(f"planetoid:{tmp_path}/toy")


class Payload:
    """Pickles as a call of ``function(argument)``: what a malicious data file would do."""

    def __init__(self, function, argument):
        self.function, self.argument = function, argument

    def __reduce__(self):
        return self.function, (self.argument,)


@pytest.mark.parametrize("function", ["os.system", "builtins.eval", "numpy.load"])
def test_restricted_unpickler_refuses_code_before_running_it(tmp_path, function):
    import builtins
    import os

    marker = tmp_path / "pwned"
    command = f"touch {marker}"
    target = {"os.system": (os.system, command),
              "builtins.eval": (builtins.eval, f"open({str(marker)!r}, 'w')"),
              "numpy.load": (np.load, str(marker))}[function]
    path = tmp_path / "evil.pkl"
    dump(path, {"x": Payload(*target)})
    with pytest.raises(DataError, match=r"evil\.pkl: refused to unpickle") as info:
        load_graph_pickle(path)
    assert not marker.exists() and "\n" not in str(info.value)


def test_malicious_planetoid_file_is_refused_with_a_data_error(tmp_path):
    import os

    planetoid_folder(tmp_path)
    marker = tmp_path / "pwned"
    dump(tmp_path / "ind.toy.allx", Payload(os.system, f"touch {marker}"))
    with pytest.raises(DataError, match=r"ind\.toy\.allx: refused to unpickle (posix|nt)\.system"):
        load_dataset(f"planetoid:{tmp_path}/toy")
    assert not marker.exists()


class CraftedDtypeState:
    """``numpy.dtype('f8')`` with a 6-item state: numpy's own ``__setstate__`` segfaults on it."""

    def __reduce__(self):
        return np.dtype, ("f8", False, True), (3, "<", None, -1, -1, 0)


class CraftedArray:
    """A 1-element float64 array whose dtype carries the crafted state."""

    def __reduce__(self):
        reconstruct = np.zeros(1).__reduce__()[0]
        return reconstruct, (np.ndarray, (0,), b"b"), (1, (1,), CraftedDtypeState(), False, b"\0" * 8)


def test_crafted_dtype_state_in_a_planetoid_file_is_a_data_error_not_a_crash(tmp_path):
    """Handed to numpy (as a plain restricted unpickler that resolves the real ``numpy.dtype`` would),
    this state kills the interpreter with SIGSEGV; here it must be one DataError line. Run in a child
    process so that a crash shows up as a signal instead of taking pytest down."""
    import subprocess
    import sys

    planetoid_folder(tmp_path)
    dump(tmp_path / "ind.toy.ty", CraftedArray())
    script = ("import sys\nfrom deepzoo.data import load_dataset\nfrom deepzoo.errors import DataError\n"
              f"try:\n    load_dataset('planetoid:{tmp_path}/toy')\n"
              "except DataError as err:\n    print(err)\n    sys.exit(3)\n")
    child = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert child.returncode == 3, (child.returncode, child.stderr[-2000:])  # not -11 (SIGSEGV)
    lines = child.stdout.strip().splitlines()
    assert len(lines) == 1 and "ind.toy.ty: is not a readable pickle" in lines[0]
    assert "malformed dtype state" in lines[0]


def test_restricted_unpickler_loads_what_planetoid_files_hold(tmp_path):
    dense = np.array([[0.0, 2.5, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 3.0]], dtype=np.float32)
    value = {"csr": sp.csr_matrix(dense), "csc": sp.csc_matrix(dense), "coo": sp.coo_matrix(dense),
             "lil": sp.lil_matrix(dense), "csr_array": sp.csr_array(dense), "a": np.arange(4.0),
             "g": collections.defaultdict(list, {1: [2]})}
    for protocol in (0, 2):  # protocol 0 builds matrices with copy_reg._reconstructor
        path = tmp_path / f"ok{protocol}.pkl"
        path.write_bytes(pickle.dumps(value, protocol=protocol))
        loaded = load_graph_pickle(path)
        for key in ("csr", "csc", "coo", "lil", "csr_array"):
            assert type(loaded[key]) is type(value[key]) and (loaded[key].toarray() == dense).all()
        assert loaded["lil"].dtype == np.float32 and loaded["a"].tolist() == [0.0, 1.0, 2.0, 3.0]
        assert loaded["g"][1] == [2] and loaded["g"][5] == []  # still a defaultdict(list)
    (tmp_path / "cut.pkl").write_bytes((tmp_path / "ok2.pkl").read_bytes()[:40])
    with pytest.raises(DataError, match="cut.pkl: is not a readable pickle"):
        load_graph_pickle(tmp_path / "cut.pkl")


def test_python2_planetoid_bytes_load_as_latin1(tmp_path):
    """Python 2 wrote array bytes as ``str`` (BINSTRING); read with encoding latin1, as PyG does."""
    import io
    import struct

    class Py2Pickler(pickle._Pickler):
        dispatch = dict(pickle._Pickler.dispatch)

        def save_py2_str(self, obj):
            self.write(pickle.BINSTRING + struct.pack("<i", len(obj)) + obj)
            self.memoize(obj)

        dispatch[bytes] = save_py2_str

    buffer = io.BytesIO()
    matrix = sp.csr_matrix(np.array([[0, 1.5], [2.5, 0]], dtype=np.float64))
    Py2Pickler(buffer, protocol=2).dump(matrix)
    raw = buffer.getvalue().replace(b"numpy._core.multiarray", b"numpy.core.multiarray")
    (tmp_path / "py2.pkl").write_bytes(raw.replace(b"scipy.sparse._csr", b"scipy.sparse.csr"))
    assert load_graph_pickle(tmp_path / "py2.pkl").toarray().tolist() == [[0, 1.5], [2.5, 0]]


class OutOfBoundsCsr:
    """A 2×2 csr matrix whose one stored entry claims column 7."""

    def __reduce__(self):
        m = sp.csr_matrix(np.eye(2))
        state = dict(m.__dict__, indices=np.array([0, 7], dtype=np.int32))
        return sp.csr_matrix, (), state

    def __reduce_ex__(self, protocol):
        return self.__reduce__()


@pytest.mark.parametrize("value, message", [
    (OutOfBoundsCsr(), r"is not a readable pickle \(ValueError: .*ind"),  # scipy: indices must be < 2
    (np.array([[1], "a"], dtype=object), "an array of Python objects is only read as the rows of a lil matrix"),
    (collections.defaultdict(dict), r"refused to unpickle __builtin__\.dict"),
    (collections.OrderedDict(a=1), "refused to unpickle collections.OrderedDict"),
])
def test_restricted_unpickler_checks_matrices_after_loading(tmp_path, value, message):
    path = tmp_path / "bad.pkl"
    dump(path, {"m": value})
    with pytest.raises(DataError, match=message) as info:
        load_graph_pickle(path)
    assert str(info.value).startswith(str(path)) and "\n" not in str(info.value)


def test_content_and_cites_files(tmp_path):
    write(tmp_path / "tiny.content", "p1\t1\t0\t1\tTheory\np2\t0\t1\t1\tAI\np3\t1\t1\t0\tTheory\n"
          "p4\t0\t0\t1\tAI\np5\t1\t0\t0\tTheory\np6\t0\t1\t0\tAI\n")
    write(tmp_path / "tiny.cites", "p1\tp2\np2\tp3\np3\tp3\np1\tp4\np5\tp6\n")
    bundle = load_dataset(f"content:{tmp_path}/tiny", test_fraction=0.34, valid_fraction=0)
    data = bundle.train.graph
    assert bundle.meta.class_names == ["AI", "Theory"] and data.y.tolist() == [1, 0, 1, 0, 1, 0]
    assert data.x[0].tolist() == [1.0, 0.0, 1.0]
    assert undirected_pairs(data.edge_index) == {(0, 1), (1, 2), (0, 3), (4, 5)}
    directed = load_dataset(f"content:{tmp_path}/tiny?undirected=false&valid_fraction=0").train.graph
    assert edge_set(directed.edge_index) == {(1, 0), (2, 1), (3, 0), (5, 4)}  # citing → cited
    write(tmp_path / "tiny.cites", "p1\tp2\np9\tp1\n")
    with pytest.raises(DataError, match=r"tiny\.cites: line 2: target 'p9' is not a node"):
        load_dataset(f"content:{tmp_path}/tiny")


def test_link_split_depends_on_its_seed_only_not_on_the_global_rngs():
    """The fixed negatives of valid/test come from PyG's negative_sampling, which also draws from
    Python's RNG: reloading a run's data in another process must give the same pairs."""
    import random

    random.seed(1)
    torch.manual_seed(1)
    a = load_dataset("sbm-link", seed=4)
    random.seed(2)
    torch.manual_seed(2)
    b = load_dataset("sbm-link", seed=4)
    for split in ("train", "valid", "test"):
        assert torch.equal(getattr(a, split).graph.edge_label_index, getattr(b, split).graph.edge_label_index)
    assert not torch.equal(a.test.graph.edge_label_index, load_dataset("sbm-link", seed=5).test.graph.edge_label_index)
