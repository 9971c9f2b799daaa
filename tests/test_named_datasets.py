"""Datasets by name: small files in each publisher's layout in the test's own empty ``$DEEPZOO_DATA``
are read back exactly (pixel order, label mapping, official splits, class names); a missing set offline
is one line naming the URLs and the path; the download path calls torchvision's or PyG's helper with
the published URL and checksum, once; ``deepzoo datasets`` says which sets are cached."""

from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
import zipfile

import numpy as np
import pytest
import scipy.io
import torch

from deepzoo import api
from deepzoo.cli import main
from deepzoo.data import list_datasets, load_dataset
from deepzoo.downloads import data_home
from deepzoo.errors import DataError
from tests.conftest import QUIET
from tests.test_data_formats import write_cifar10, write_idx
from tests.test_graph_recipe import write_planetoid

pytestmark = pytest.mark.usefixtures("one_thread")


def one_line_error(spec: str, **options) -> str:
    with pytest.raises(DataError) as err:
        load_dataset(spec, **options)
    message = str(err.value)
    assert "\n" not in message
    return message


# -- the download path: torchvision's helper, its URL and MD5, once -----------------------------------------


def test_cifar10_is_fetched_once_through_torchvision_then_read_from_the_cache(monkeypatch):
    import torchvision.datasets
    import torchvision.datasets.utils as tv_utils

    calls, written = [], {}

    def fake_download(url, download_root, extract_root=None, filename=None, md5=None, remove_finished=False):
        calls.append((url, str(download_root), md5, remove_finished))
        written.update(write_cifar10(download_root / "cifar-10-batches-py"))

    monkeypatch.setattr(tv_utils, "download_and_extract_archive", fake_download)
    first = load_dataset("cifar10", normalize="none", valid_fraction=0)
    second = load_dataset("cifar10", normalize="none", valid_fraction=0)
    assert calls == [(torchvision.datasets.CIFAR10.url, str(data_home()), torchvision.datasets.CIFAR10.tgz_md5, True)]
    rows, labels = written["test_batch"]
    assert first.test.y.tolist() == labels and torch.equal(first.train.x, second.train.x)
    np.testing.assert_array_equal(first.test.x.numpy().reshape(2, -1), rows / np.float32(255))
    assert first.meta.class_names[:2] == ["airplane", "automobile"] and len(first.train) == 10


def test_an_archive_placed_by_hand_is_unpacked_offline_and_a_bad_one_is_refused(monkeypatch, tmp_path):
    import torchvision.datasets

    write_cifar10(tmp_path / "cifar-10-batches-py")
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        tar.add(tmp_path / "cifar-10-batches-py", arcname="cifar-10-batches-py")
    archive = data_home() / "cifar-10-python.tar.gz"
    archive.parent.mkdir(parents=True)
    archive.write_bytes(buffer.getvalue())
    monkeypatch.setenv("DEEPZOO_OFFLINE", "1")
    message = one_line_error("cifar10")  # torchvision's published MD5 is not this archive's
    published = torchvision.datasets.CIFAR10.tgz_md5
    assert message.startswith(f"{archive}: its MD5 checksum is not the published {published}")
    monkeypatch.setattr(torchvision.datasets.CIFAR10, "tgz_md5", hashlib.md5(buffer.getvalue()).hexdigest())
    assert len(load_dataset("cifar10", test_fraction=0).test) == 2
    assert not archive.exists() and (data_home() / "cifar-10-batches-py" / "batches.meta").is_file()


def test_processes_fetching_one_set_at_once_download_it_once(monkeypatch):
    """torchrun's ranks all load the data: the first fetches under a lock, the others wait and read."""
    import threading
    import time

    import torchvision.datasets.utils as tv_utils

    calls = []

    def slow_download(url, download_root, extract_root=None, filename=None, md5=None, remove_finished=False):
        calls.append(url)
        time.sleep(0.2)
        name = url.rpartition("/")[2].removesuffix(".gz")
        download_root.mkdir(parents=True, exist_ok=True)  # as torchvision's helper does
        write_idx(download_root / name, np.ones((2, 3, 3), np.uint8) if "images" in name else np.arange(2))

    monkeypatch.setattr(tv_utils, "download_and_extract_archive", slow_download)
    list_datasets()  # registered before the threads start
    loaded = []
    threads = [threading.Thread(target=lambda: loaded.append(len(load_dataset("mnist", valid_fraction=0).train)))
               for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert loaded == [2, 2] and len(calls) == 4  # the four IDX files, fetched by one of the two


@pytest.mark.parametrize("name, url, place", [
    ("cifar100", "https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz", "cifar-100-python.tar.gz"),
    ("svhn", "http://ufldl.stanford.edu/housenumbers/train_32x32.mat", "svhn"),
    ("stl10-unlabeled", "http://ai.stanford.edu/~acoates/stl10/stl10_binary.tar.gz", "stl10_binary.tar.gz"),
    ("fashion-mnist", "train-images-idx3-ubyte.gz", "FashionMNIST/raw"),
    ("citeseer", "https://github.com/kimiyoung/planetoid/raw/master/data/ind.citeseer.x", "CiteSeer/raw"),
    ("proteins", "https://www.chrsmrrs.com/graphkerneldatasets/PROTEINS.zip", "PROTEINS/raw/PROTEINS.zip"),
])
def test_offline_a_missing_set_is_one_line_naming_the_url_and_the_path(monkeypatch, name, url, place):
    monkeypatch.setenv("DEEPZOO_OFFLINE", "1")
    message = one_line_error(name)
    assert "DEEPZOO_OFFLINE is set" in message and url in message
    assert message.endswith(f"at {data_home() / place}") and " and place " in message


def write_tu(folder, name: str, graphs: int = 20, attributes: bool = False) -> dict:
    """``graphs`` small rings (3–5 nodes, both edge directions listed) in the TU text layout, graph labels
    −1 and 1 alternating, node labels 1…3 (shifted to 0…2 by the reader)."""
    rng = np.random.default_rng(0)
    folder.mkdir(parents=True, exist_ok=True)
    indicator, node_labels, edges, sizes = [], [], [], []
    for g in range(graphs):
        n = int(rng.integers(3, 6))
        first = len(indicator) + 1
        indicator += [g + 1] * n
        node_labels += rng.integers(1, 4, n).tolist()
        for k in range(n):
            a, b = first + k, first + (k + 1) % n
            edges += [(a, b), (b, a)]
        sizes.append(n)
    labels = [-1 if g % 2 == 0 else 1 for g in range(graphs)]
    text = {"A": "\n".join(f"{a}, {b}" for a, b in edges), "graph_indicator": "\n".join(map(str, indicator)),
            "graph_labels": "\n".join(map(str, labels)), "node_labels": "\n".join(map(str, node_labels))}
    if attributes:
        text["node_attributes"] = "\n".join(f"{i * 0.5}, {-i}" for i in range(len(indicator)))
    for part, body in text.items():
        (folder / f"{name}_{part}.txt").write_text(body + "\n")
    return {"sizes": sizes, "labels": labels, "node_labels": node_labels}


def test_pyg_sets_are_fetched_through_pyg_helpers_into_its_raw_folders(monkeypatch, tmp_path):
    import torch_geometric.data
    from torch_geometric.datasets import Planetoid, TUDataset

    write_planetoid(tmp_path, "cora")
    write_tu(tmp_path / "zip" / "MUTAG", "MUTAG")
    zipped = io.BytesIO()
    with zipfile.ZipFile(zipped, "w") as z:
        for file in sorted((tmp_path / "zip" / "MUTAG").iterdir()):
            z.write(file, f"MUTAG/{file.name}")
    served = {f"{TUDataset.url}/MUTAG.zip": zipped.getvalue()}
    served.update({f"{Planetoid.url}/{f.name}": f.read_bytes() for f in tmp_path.glob("ind.cora.*")})
    calls = []

    def fake_download_url(url, folder, log=True, filename=None):
        calls.append((url, folder, filename))
        os.makedirs(folder, exist_ok=True)  # as PyG's helper does
        path = f"{folder}/{filename}"
        with open(path, "wb") as f:
            f.write(served[url])
        return path

    monkeypatch.setattr(torch_geometric.data, "download_url", fake_download_url)
    cora = load_dataset("cora")
    assert sorted(url for url, _, _ in calls) == sorted(u for u in served if "ind.cora" in u)
    assert {folder for _, folder, _ in calls} == {str(data_home() / "Cora" / "raw")}
    assert all(name.endswith(".part") for _, _, name in calls)  # moved into place only when complete
    assert sorted(p.name for p in (data_home() / "Cora" / "raw").iterdir()) == sorted(
        f"ind.cora.{part}" for part in ("x", "tx", "allx", "y", "ty", "ally", "graph", "test.index"))
    assert cora.train.graph.num_nodes == 60
    mutag = load_dataset("mutag")
    assert calls[-1][0] == f"{TUDataset.url}/MUTAG.zip" and len(calls) == 9
    assert sorted(p.name for p in (data_home() / "MUTAG" / "raw").iterdir()) == sorted(
        f"MUTAG_{part}.txt" for part in ("A", "graph_indicator", "graph_labels", "node_labels"))
    assert len(mutag.train) + len(mutag.valid) + len(mutag.test) == 20
    load_dataset("mutag")
    assert len(calls) == 9  # cached


# -- image sets: what was written is what is read ------------------------------------------------------------


@pytest.mark.parametrize("name, folder, classes", [
    ("mnist", "MNIST", [str(d) for d in range(10)]),
    ("fashion-mnist", "FashionMNIST", ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                                       "Sneaker", "Bag", "Ankle boot"]),
])
def test_idx_sets_read_torchvision_raw_folder(name, folder, classes):
    raw = data_home() / folder / "raw"
    raw.mkdir(parents=True)
    rng = np.random.default_rng(1)
    train, test = rng.integers(0, 256, (10, 5, 4), np.uint8), rng.integers(0, 256, (3, 5, 4), np.uint8)
    write_idx(raw / "train-images-idx3-ubyte", train)
    write_idx(raw / "train-labels-idx1-ubyte", np.arange(10))
    write_idx(raw / "t10k-images-idx3-ubyte", test)
    write_idx(raw / "t10k-labels-idx1-ubyte", np.array([4, 0, 9]))
    b = load_dataset(name, normalize="none", valid_fraction=0)
    assert b.meta.name == name and b.meta.class_names == classes
    np.testing.assert_array_equal(b.test.x[:, 0].numpy(), test / np.float32(255))
    assert b.train.y.tolist() == list(range(10)) and b.test.y.tolist() == [4, 0, 9]


def test_svhn_mat_files_transposed_and_label_10_is_digit_0():
    folder = data_home() / "svhn"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(2)
    written = {}
    for split, labels in (("train", [10, 1, 2, 3, 9, 10, 5, 7]), ("test", [10, 4, 6])):
        x = rng.integers(0, 256, (32, 32, 3, len(labels))).astype(np.uint8)
        scipy.io.savemat(folder / f"{split}_32x32.mat", {"X": x, "y": np.array(labels, np.uint8)[:, None]})
        written[split] = x
    b = load_dataset("svhn", normalize="none", valid_fraction=0)
    assert b.train.y.tolist() == [0, 1, 2, 3, 9, 0, 5, 7] and b.test.y.tolist() == [0, 4, 6]
    assert b.meta.class_names == [str(d) for d in range(10)] and b.meta.input_shape == (3, 32, 32)
    for i, c, h, w in [(0, 0, 0, 0), (2, 2, 31, 5), (1, 1, 7, 30)]:  # image i, channel c, row h, column w
        assert float(b.test.x[i, c, h, w]) == np.float32(written["test"][h, w, c, i]) / np.float32(255)
    (folder / "test_32x32.mat").write_bytes(b"MATLAB 5.0 MAT-file, but cut short")
    assert one_line_error("svhn").startswith(f"{folder / 'test_32x32.mat'}: cannot be read as a MATLAB file")
    scipy.io.savemat(folder / "test_32x32.mat", {"X": written["test"], "y": np.array([[10], [11], [1]], np.uint8)})
    assert one_line_error("svhn") == f"{folder / 'test_32x32.mat'}: label 11 of item 1 is not a whole number in 1..10"


def stl_bytes(count: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (count, 3 * 96 * 96), np.uint8)


def test_stl10_planes_are_column_major_labels_1_based_and_unlabelled_images_for_ssl():
    folder = data_home() / "stl10_binary"
    folder.mkdir(parents=True)
    train, test, unlabelled = stl_bytes(4, 0), stl_bytes(2, 1), stl_bytes(5, 2)
    for name, data in (("train_X", train), ("test_X", test), ("unlabeled_X", unlabelled)):
        data.tofile(folder / f"{name}.bin")
    np.array([1, 10, 3, 10], np.uint8).tofile(folder / "train_y.bin")
    np.array([2, 1], np.uint8).tofile(folder / "test_y.bin")
    names = ["airplane", "bird", "car", "cat", "deer", "dog", "horse", "monkey", "ship", "truck"]
    (folder / "class_names.txt").write_text("\n".join(names) + "\n")
    b = load_dataset("stl10", normalize="none", valid_fraction=0)
    assert b.meta.class_names == names and b.meta.input_shape == (3, 96, 96)
    assert b.train.y.tolist() == [0, 9, 2, 9] and b.test.y.tolist() == [1, 0]
    # pixel (row h, column w) of channel c is byte c·9216 + w·96 + h: each plane is stored column by column
    for i, c, h, w in [(0, 0, 0, 1), (3, 2, 95, 0), (1, 1, 10, 70)]:
        assert float(b.train.x[i, c, h, w]) == np.float32(train[i, c * 9216 + w * 96 + h]) / np.float32(255)
    ssl = load_dataset("stl10-unlabeled?count=4", normalize="none", valid_fraction=0.25)
    assert ssl.meta.task == "unsupervised" and (len(ssl.train), len(ssl.valid), len(ssl.test)) == (3, 1, 0)
    both = torch.cat([ssl.train.x, ssl.valid.x]).reshape(4, 3, 96, 96).transpose(2, 3)
    assert sorted(map(bytes, (both * 255).round().to(torch.uint8).reshape(4, -1).numpy())) == sorted(
        map(bytes, unlabelled[:4]))
    (folder / "test_X.bin").write_bytes(test.tobytes()[:-1])
    assert one_line_error("stl10") == (f"{folder / 'test_X.bin'}: 55295 bytes is not a whole number of 96×96 RGB "
                                       "images (27648 bytes each)")


def save_photo(path, colour: tuple[int, int, int], size: tuple[int, int]) -> None:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, colour).save(path, "JPEG", quality=95)


def test_flowers102_official_split_one_based_labels_and_photos_of_any_size():
    from torchvision.datasets import Flowers102

    folder = data_home() / "flowers-102"
    labels = [5, 17, 1, 102, 40, 60, 7]  # 1-based, one class per image so a split's labels name its images
    for i in range(1, len(labels) + 1):
        save_photo(folder / "jpg" / f"image_{i:05d}.jpg", (30 * i, 200 - 20 * i, 100), (20 + 3 * i, 14 + i))
    scipy.io.savemat(folder / "imagelabels.mat", {"labels": np.array([labels], np.uint8)})
    scipy.io.savemat(folder / "setid.mat", {"trnid": np.array([[4, 1]]), "valid": np.array([[7, 2]]),
                                            "tstid": np.array([[3, 6, 5]])})
    b = load_dataset("flowers102?size=8", normalize="none")
    assert b.meta.class_names == list(Flowers102.classes) and b.meta.num_classes == 102
    assert b.meta.class_names[0] == "pink primrose" and b.meta.input_shape == (3, 8, 8)
    ids = {"train": [4, 1], "valid": [7, 2], "test": [3, 6, 5]}
    for split, part in b.splits().items():
        assert sorted(part.y.tolist()) == sorted(labels[i - 1] - 1 for i in ids[split])
    image = b.test.x[b.test.y.tolist().index(labels[5] - 1)]  # image 6: colour (180, 80, 100)
    assert torch.allclose(image.mean(dim=(1, 2)), torch.tensor([180, 80, 100]) / 255, atol=3 / 255)
    scipy.io.savemat(folder / "setid.mat", {"trnid": np.array([[4, 1]]), "valid": np.array([[7, 2]]),
                                            "tstid": np.array([[3, 6, 9]])})
    assert one_line_error("flowers102?size=8") == (f"{folder / 'setid.mat'}: tstid image id 9 of item 2 is not a "
                                                   "whole number in 1..7")


def test_oxford_pets_breeds_from_image_names_official_test_list_and_species():
    folder = data_home() / "oxford-iiit-pet"
    trainval = ["Abyssinian_1 1 1 1", "american_bulldog_2 2 2 1", "Abyssinian_3 1 1 1", "basset_hound_4 3 2 2",
                "american_bulldog_5 2 2 1", "basset_hound_6 3 2 2"]
    test = ["Abyssinian_7 1 1 1", "basset_hound_8 3 2 2"]
    for number, line in enumerate(trainval + test, start=1):
        save_photo(folder / "images" / f"{line.split()[0]}.jpg", (10 * number, 0, 0), (16 + number, 12))
    (folder / "annotations").mkdir()
    (folder / "annotations" / "trainval.txt").write_text("\n".join(trainval) + "\n")
    (folder / "annotations" / "test.txt").write_text("#Image CLASS-ID SPECIES BREED ID\n" + "\n".join(test) + "\n")
    b = load_dataset("oxford-pets?size=8", valid_fraction=0)
    assert b.meta.class_names == ["Abyssinian", "American Bulldog", "Basset Hound"]
    assert b.train.y.tolist() == [0, 1, 0, 2, 1, 2] and b.test.y.tolist() == [0, 2]
    species = load_dataset("oxford-pets?size=8&labels=species", valid_fraction=0)
    assert species.meta.class_names == ["Cat", "Dog"] and species.test.y.tolist() == [0, 1]
    (folder / "annotations" / "test.txt").write_text("Abyssinian_7 2 1 1\n")
    assert one_line_error("oxford-pets?size=8") == (f"{folder / 'annotations'}: image Abyssinian_7 has class 2, "
                                                    "which is American Bulldog")


# -- graph sets ---------------------------------------------------------------------------------------------


def test_cora_by_name_keeps_the_public_split_and_row_normalises():
    raw = data_home() / "Cora" / "raw"
    raw.mkdir(parents=True)
    write_planetoid(raw, "cora")
    b = load_dataset("cora")
    graph = b.train.graph
    assert (int(b.train.mask.sum()), int(b.valid.mask.sum()), int(b.test.mask.sum())) == (6, 34, 20)
    assert torch.allclose(graph.x.sum(dim=1), torch.ones(60))  # Kipf & Welling's row normalisation
    assert load_dataset("cora", normalize="none").train.graph.x.max() == 1


def test_tu_files_graphs_features_labels_and_ten_folds():
    made = write_tu(data_home() / "MUTAG" / "raw", "MUTAG", attributes=True)
    b = load_dataset("mutag")
    assert (len(b.train), len(b.valid), len(b.test)) == (16, 2, 2)  # fold 0 of 10; a tenth of the rest valid
    assert b.meta.class_names == ["-1", "1"] and b.meta.input_shape == (3,) and b.meta.num_classes == 2
    full = load_dataset(f"tu:{data_home() / 'MUTAG'}", attributes=True)
    assert full.meta.input_shape == (5,)  # three one-hot node labels, then the two attributes
    starts = np.cumsum([0, *made["sizes"]])
    for graph in full.train + full.valid + full.test:
        g = int(np.searchsorted(starts, int(graph.x[0, 3] * 2)))  # attribute 0 is half the node's index
        n = made["sizes"][g]
        assert graph.num_nodes == n and graph.x[:, 3].tolist() == [i / 2 for i in range(starts[g], starts[g] + n)]
        assert (graph.x[:, :3].argmax(1) + 1).tolist() == made["node_labels"][starts[g]:starts[g] + n]
        assert full.meta.class_names[int(graph.y)] == str(made["labels"][g])
        ring = {(k, (k + 1) % n) for k in range(n)} | {((k + 1) % n, k) for k in range(n)}
        assert set(map(tuple, graph.edge_index.t().tolist())) == ring
    tests = [load_dataset("mutag", fold=k, attributes=True).test for k in range(10)]
    firsts = sorted(float(g.x[0, 3]) for part in tests for g in part)
    assert firsts == sorted(starts[:-1] / 2)  # the ten test folds cover every graph once
    assert all(sorted(int(g.y) for g in part) == [0, 1] for part in tests)  # stratified: one of each class


@pytest.mark.parametrize("part, text, fragment", [
    ("A", "1, 2\n2, 1\n3, 4\n4, 3\n1, 4\n", "MUTAG_A.txt: edge 5 (1, 4) joins graph 1 to graph 2"),
    ("A", "1, 2\n2, x\n", "MUTAG_A.txt: line 2: 'x' is not an integer"),
    ("A", "1, 2\n2, 9\n", "MUTAG_A.txt: edge 2 (2, 9) names a node outside 1…4"),
    ("graph_labels", "1\n", "MUTAG_graph_labels.txt: 1 labels, but MUTAG_graph_indicator.txt has 2 graphs"),
    ("graph_indicator", "1\n2\n1\n2\n", "MUTAG_graph_indicator.txt: node 3 is in graph 1, after node 2's graph 2"),
    ("node_labels", "0\n1\n", "MUTAG_node_labels.txt: 2 rows for 4 nodes"),
])
def test_bad_tu_files_are_one_line_naming_the_file_and_item(part, text, fragment):
    raw = data_home() / "MUTAG" / "raw"
    raw.mkdir(parents=True)
    files = {"A": "1, 2\n2, 1\n3, 4\n4, 3\n", "graph_indicator": "1\n1\n2\n2\n", "graph_labels": "1\n-1\n",
             "node_labels": "0\n1\n0\n1\n", part: text}
    for name, body in files.items():
        (raw / f"MUTAG_{name}.txt").write_text(body)
    assert one_line_error("tu:" + str(raw.parent), folds=2).startswith(f"{raw}/{fragment}")


# -- `deepzoo datasets` and training by name -----------------------------------------------------------------


def test_datasets_command_says_which_named_sets_are_cached(capsys):
    write_tu(data_home() / "ENZYMES" / "raw", "ENZYMES")
    assert main(["datasets", "--json"]) == 0
    listing = json.loads(capsys.readouterr().out)
    named = {row["name"]: row for row in listing["named"]}
    assert listing["data_home"] == str(data_home())
    assert named["enzymes"]["cached"] and named["enzymes"]["path"] == str(data_home() / "ENZYMES" / "raw")
    assert not named["mutag"]["cached"] and not named["cifar10"]["cached"]
    assert {"mnist", "fashion-mnist", "cifar10", "cifar100", "svhn", "stl10", "stl10-unlabeled", "cora", "citeseer",
            "pubmed", "mutag", "proteins", "enzymes"} <= set(named)
    assert not set(named) & {row["name"] for row in listing["datasets"]}
    assert main(["datasets"]) == 0
    lines = {line.split()[0]: line.split() for line in capsys.readouterr().out.splitlines() if line.startswith("  ")}
    assert lines["enzymes"][1:4] == ["graph", "cached", "ENZYMES/raw/"]
    assert lines["cora"][1:4] == ["graph", "missing", "Cora/raw/"]


def test_gcn_trains_on_cora_and_a_graph_network_on_mutag_by_name(runs):
    (data_home() / "Cora" / "raw").mkdir(parents=True)
    write_planetoid(data_home() / "Cora" / "raw", "cora")
    write_tu(data_home() / "MUTAG" / "raw", "MUTAG")
    quiet = [*QUIET, "train.checkpoint=false"]
    node = api.train("gcn", "cora", epochs=2, name="cora", runs_dir=str(runs), echo=lambda *a, **k: None,
                     overrides=quiet)
    graph = api.train("gnn", "mutag", epochs=2, name="mutag", runs_dir=str(runs), echo=lambda *a, **k: None,
                      overrides=[*quiet, "train.batch_size=8"])
    for run, task, name in ((node, "node", "cora"), (graph, "graph", "MUTAG")):
        summary = json.loads((run.dir / "summary.json").read_text())
        assert summary["task"] == task and 0 <= summary["metrics"]["test/accuracy"] <= 1
        assert json.loads((run.dir / "meta.json").read_text())["name"] == name
    assert graph.model.level == "graph"
