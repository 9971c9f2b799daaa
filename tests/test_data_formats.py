"""On-disk formats: csv, npz, imagefolder, mnist (IDX), cifar10/cifar100 (restricted unpickling).

Each fixture writes a tiny file in tmp_path; tests check that the values written come back exactly
(pixels as value/255), the class names, the inferred task and the split sizes, and that each kind of
bad input raises a one-line DataError naming the file (and the line or item).
"""

from __future__ import annotations

import gzip
import os
import pickle
import struct

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from deepzoo.data import load_dataset
from deepzoo.data.formats_pickle import load_pickled_dict
from deepzoo.data.formats_table import csv_raw
from deepzoo.errors import DataError

WHOLE = {"test_fraction": 0, "valid_fraction": 0, "normalize": "none"}  # every row in train, in file order


def assert_data_error(spec: str, *fragments: str, **options) -> str:
    """Load ``spec`` expecting a one-line DataError holding every fragment; return the message."""
    with pytest.raises(DataError) as info:
        load_dataset(spec, **options)
    message = str(info.value)
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message, (fragment, message)
    return message


# -- csv ------------------------------------------------------------------------------------------

def write(path, text: str):
    path.write_text(text, encoding="utf-8")
    return path


def test_csv_string_labels_round_trip(tmp_path):
    f = write(tmp_path / "pets.csv", "weight,height,kind\n1.5,2,cat\n-3.25,4e2,dog\n0,0.125,cat\n7,8,dog\n")
    b = load_dataset(f"csv:{f}", **WHOLE)
    assert b.train.x.tolist() == [[1.5, 2.0], [-3.25, 400.0], [0.0, 0.125], [7.0, 8.0]]
    assert b.train.y.tolist() == [0, 1, 0, 1]
    assert (b.meta.task, b.meta.class_names, b.meta.name) == ("binary", ["cat", "dog"], "pets")
    assert b.meta.input_shape == (2,)
    assert b.meta.extra["feature_names"] == ["weight", "height"]


def test_csv_target_option_integer_classes_and_default_splits(tmp_path):
    rows = "".join(f"{i},{i % 3},{10 * i}\n" for i in range(10))
    f = write(tmp_path / "t.csv", "a,label,b\n" + rows)
    b = load_dataset(f"csv:{f}?target=label")
    assert b.meta.task == "multiclass" and b.meta.class_names == ["0", "1", "2"]
    assert b.meta.input_shape == (2,)
    # test: ceil(0.2 * 10) = 2 rows; valid: ceil(0.2 * 8) = 2 rows; train: the other 6
    assert (len(b.train), len(b.valid), len(b.test)) == (6, 2, 2)
    again = load_dataset(f"csv:{f}?target=label&seed=0")
    other = load_dataset(f"csv:{f}?target=label&seed=5&valid_fraction=0.5&test_fraction=0.1")
    assert torch_equal(b.test.x, again.test.x)
    assert (len(other.train), len(other.valid), len(other.test)) == (4, 5, 1)
    standard = load_dataset(f"csv:{f}?target=label", test_fraction=0, valid_fraction=0)
    assert standard.train.x.mean(0).abs().max() < 1e-6 and standard.meta.mean == pytest.approx([4.5, 45.0])



def test_csv_split_seed_that_is_not_an_integer_is_one_line(tmp_path):
    f = write(tmp_path / "t.csv", "a,label\n" + "".join(f"{i},{i % 2}\n" for i in range(10)))
    with pytest.raises(DataError, match=f"{f}: option seed='x' is not an integer"):
        load_dataset(f"csv:{f}?seed=x")

def torch_equal(a, b) -> bool:
    return a.shape == b.shape and bool((a == b).all())


def test_csv_several_target_columns(tmp_path):
    f = write(tmp_path / "r.csv", "x,y1,y2\n1,0.5,-2\n2,1.5,4\n3,2.5,8\n")
    b = load_dataset(f"csv:{f}?target=y1,y2", standardize_targets=False, **WHOLE)
    assert b.meta.task == "regression" and b.meta.num_targets == 2 and b.meta.class_names == ["y1", "y2"]
    assert b.train.y.tolist() == [[0.5, -2.0], [1.5, 4.0], [2.5, 8.0]]
    m = write(tmp_path / "m.csv", "x,red,blue,green\n1,1,0,1\n2,0,1,1\n3,1,1,0\n")
    ml = load_dataset(f"csv:{m}?target=red,blue,green", **WHOLE)
    assert ml.meta.task == "multilabel" and ml.meta.class_names == ["red", "blue", "green"]
    assert ml.train.y.tolist() == [[1, 0, 1], [0, 1, 1], [1, 1, 0]]


def test_csv_label_lists_become_multi_hot(tmp_path):
    f = write(tmp_path / "tags.csv", "a,tags\n1,sea;sky\n2,sky\n3,\n4,tree; sea\n")
    b = load_dataset(f"csv:{f}?multilabel_sep=;", **WHOLE)
    assert b.meta.task == "multilabel" and b.meta.class_names == ["sea", "sky", "tree"]
    assert b.train.y.tolist() == [[1, 1, 0], [0, 1, 0], [0, 0, 0], [1, 0, 1]]


def test_csv_tab_delimiter_and_blank_lines(tmp_path):
    f = write(tmp_path / "t.tsv", "a\tb\ty\n\n1\t2\t0\n3\t4\t1\n\n")
    b = load_dataset(f"csv:{f}?delimiter=tab", **WHOLE)
    assert b.train.x.tolist() == [[1, 2], [3, 4]] and b.train.y.tolist() == [0, 1]


@pytest.mark.parametrize("text, query, fragments", [
    ("", "", ["the file is empty"]),
    ("a,b,y\n", "", ["header but no data rows"]),
    ("a,b,y\n1,2,0\n", "?target=price", ["no column 'price'", "the columns are a, b, y"]),
    ("a,y1,y2\n1,2,0\n3,abc,1\n", "?target=y1,y2", ["line 3, target column 'y1'", "'abc'", "not a number"]),
    ("a,b,y\n1,2,0\n3,,1\n", "", ["line 3, column 'b' is empty"]),
    ("a,b,y\n1,2,0\n\n3,4,1\nnan,5,0\n", "", ["line 5, column 'a'", "'nan'", "NaN"]),
    ("a,b,y\n1,-inf,0\n", "", ["line 2, column 'b'", "'-inf'"]),
    ("a,b,y\n1,1e39,0\n", "", ["line 2, column 'b'", "too large for float32"]),
    ("a,b,y\n1,2,0\n3,1\n", "", ["line 3 has 2 fields, the header has 3"]),
    ("a,a,y\n1,2,0\n", "", ["column(s) 'a' more than once"]),
    ("a,y\n1,0\n2,\n", "", ["line 3, target column 'y' is empty"]),
    ("a,y\n1,0\n2,inf\n", "", ["line 3, target column 'y'", "'inf'"]),
    ("a,y\n1,0\n2,\"x\"y\n", "", ["line 3"]),
    ("y\n1\n2\n", "", ["no feature columns"]),
    ("a,y\n1,0\n2,1\n", "?colour=red", ["unknown option(s) colour"]),
    ("a,y\n1,0\n2,1\n", "?delimiter=ab", ["delimiter='ab'"]),
    ("a,y,z\n1,0,1\n2,1,1\n", "?target=y,z&multilabel_sep=;", ["exactly one target column"]),
])
def test_csv_errors_name_the_file_and_line(tmp_path, text, query, fragments):
    f = write(tmp_path / "bad.csv", text)
    assert_data_error(f"csv:{f}{query}", str(f), *fragments)


def test_csv_missing_and_binary_files(tmp_path):
    assert_data_error(f"csv:{tmp_path / 'nope.csv'}", "nope.csv: no such file")
    f = tmp_path / "latin.csv"
    f.write_bytes(b"a,y\n\xff\xfe,1\n")
    assert_data_error(f"csv:{f}", "latin.csv: is not UTF-8 text")
    assert_data_error(f"csv:{tmp_path}", "is not a file")


CSV_CHARS = st.sampled_from(list("ab1.,;\"\n\r\t -e9x"))
finite32 = st.floats(allow_nan=False, allow_infinity=False, width=32)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(table=st.integers(1, 4).flatmap(
    lambda cols: st.lists(st.tuples(st.lists(finite32, min_size=cols, max_size=cols), st.integers(-5, 5)),
                          min_size=1, max_size=12)))
def test_csv_random_numeric_tables_round_trip(tmp_path, table):
    features = np.array([row for row, _ in table], dtype=np.float64)
    labels = np.array([label for _, label in table])
    header = ",".join(f"f{j}" for j in range(features.shape[1])) + ",target"
    lines = [",".join([*map(repr, row), str(label)]) for row, label in table]
    f = write(tmp_path / "random.csv", "\n".join([header, *lines]) + "\n")
    raw = csv_raw(str(f))
    np.testing.assert_array_equal(raw.x, features)
    np.testing.assert_array_equal(raw.y, labels)
    assert raw.y.dtype == np.int64 and raw.extra["target_names"] == ["target"]


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(junk=st.one_of(st.binary(max_size=200), st.text(alphabet=CSV_CHARS, max_size=120).map(str.encode)))
def test_csv_junk_raises_only_data_error(tmp_path, junk):
    f = tmp_path / "junk.csv"
    f.write_bytes(junk)
    try:
        b = load_dataset(f"csv:{f}", test_fraction=0, valid_fraction=0)
    except DataError as err:
        assert "\n" not in str(err) and str(f) in str(err)
    else:
        assert len(b.train) >= 1


# -- npz ------------------------------------------------------------------------------------------

def test_npz_round_trip_with_its_own_test_split(tmp_path):
    f = tmp_path / "arrays.npz"
    x = np.arange(20, dtype=np.float64).reshape(10, 2)
    y = np.array([0, 1] * 5)
    x_test = np.array([[0.5, -1.0], [2.0, 3.0]])
    np.savez(f, x=x, y=y, x_test=x_test, y_test=np.array([1, 0]))
    b = load_dataset(f"npz:{f}", normalize="none", valid_fraction=0.2)
    assert b.meta.task == "binary" and b.meta.name == "arrays" and b.meta.class_names == ["0", "1"]
    assert (len(b.train), len(b.valid), len(b.test)) == (8, 2, 2)
    assert b.test.x.tolist() == x_test.tolist() and b.test.y.tolist() == [1, 0]
    rows = sorted(map(tuple, np.concatenate([b.train.x.numpy(), b.valid.x.numpy()]).tolist()))
    assert rows == sorted(map(tuple, x.tolist()))


def test_npz_images_vectors_and_unlabelled(tmp_path):
    images = tmp_path / "img.npz"
    np.savez(images, x=np.ones((6, 1, 4, 4), np.float32), y=np.array(["a", "b", "c"] * 2))
    b = load_dataset(f"npz:{images}", **WHOLE)
    assert b.meta.input_shape == (1, 4, 4) and b.meta.task == "multiclass"
    assert b.meta.class_names == ["a", "b", "c"]
    vector = tmp_path / "vec.npz"
    np.savez(vector, x=np.array([1.0, 2.0, 3.0]))
    u = load_dataset(f"npz:{vector}", **WHOLE)
    assert u.meta.task == "unsupervised" and u.train.x.tolist() == [[1.0], [2.0], [3.0]] and u.train.y is None


@pytest.mark.parametrize("arrays, fragments", [
    ({"X": np.ones((2, 2))}, ["no array 'x'", "'X'"]),
    ({"x": np.ones((2, 2)), "x_valid": np.ones((2, 2))}, ["unexpected array(s) 'x_valid'"]),
    ({"x": np.ones((3, 2)), "y": np.ones(2)}, ["'x' has 3 items but 'y' has 2"]),
    ({"x": np.array([[1.0, 2.0], [3.0, np.nan]]), "y": np.ones(2)}, ["array 'x' item 1 holds NaN"]),
    ({"x": np.ones((2, 2)), "y": np.array([1.0, np.inf])}, ["array 'y' item 1"]),
    ({"x": np.array([["a", "b"], ["c", "d"]]), "y": np.ones(2)}, ["array 'x' has dtype <U1", "numbers"]),
    ({"x": np.ones((2, 2)), "y": np.ones(2, complex)}, ["array 'y' has dtype complex128"]),
    ({"x": np.ones((2, 2)), "y": np.ones(2), "x_test": np.ones((1, 3)), "y_test": np.ones(1)},
     ["'x_test' items have shape (3,)"]),
    ({"x": np.ones((2, 2)), "y": np.ones(2), "x_test": np.ones((1, 2))}, ["'x_test' needs 'y_test'"]),
    ({"x": np.ones((2, 2)), "y_test": np.ones(1)}, ["'y_test' is given without 'x_test'"]),
    ({"x": np.float64(3.0)}, ["is a scalar"]),
    ({"x": np.ones((0, 2))}, ["the dataset is empty"]),
])
def test_npz_errors_name_the_file_and_array(tmp_path, arrays, fragments):
    f = tmp_path / "bad.npz"
    np.savez(f, **arrays)
    assert_data_error(f"npz:{f}", str(f), *fragments, **WHOLE)


def test_npz_refuses_pickled_objects_and_other_files(tmp_path):
    f = tmp_path / "objects.npz"
    np.savez(f, x=np.array([{"a": 1}, None], dtype=object))
    assert_data_error(f"npz:{f}", "objects.npz: array 'x' cannot be read", "allow_pickle")
    single = tmp_path / "single.npy"
    np.save(single, np.ones(3))
    assert_data_error(f"npz:{single}", "single.npy: holds a single array")
    junk = write(tmp_path / "junk.npz", "not a zip")
    assert_data_error(f"npz:{junk}", "junk.npz: is not a readable .npz archive")
    assert_data_error(f"npz:{tmp_path / 'none.npz'}", "none.npz: no such file")


# -- imagefolder ----------------------------------------------------------------------------------

def save_image(path, pixels: np.ndarray, fmt: str = "PNG"):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path, format=fmt)
    return pixels


def test_imagefolder_mixed_modes_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    cat = [save_image(tmp_path / "pets" / "cat" / f"{i}.png", rng.integers(0, 256, (5, 4, 3), np.uint8))
           for i in range(2)]
    gray = save_image(tmp_path / "pets" / "dog" / "a.png", rng.integers(0, 256, (5, 4), np.uint8))
    rgba = rng.integers(0, 256, (5, 4, 4), np.uint8)
    save_image(tmp_path / "pets" / "dog" / "nested" / "b.png", rgba)
    (tmp_path / "pets" / "dog" / "notes.txt").write_text("ignored")
    b = load_dataset(f"imagefolder:{tmp_path / 'pets'}", **WHOLE)
    assert (b.meta.task, b.meta.class_names, b.meta.input_shape) == ("binary", ["cat", "dog"], (3, 5, 4))
    assert b.train.y.tolist() == [0, 0, 1, 1]
    expected = np.stack([*cat, np.repeat(gray[..., None], 3, 2), rgba[..., :3]]).transpose(0, 3, 1, 2)
    # scaled to [0, 1] exactly as torchvision's ToDtype(float32, scale=True) scales uint8 pixels
    np.testing.assert_array_equal(b.train.x.numpy(), expected.astype(np.float32) * np.float32(1 / 255))


def test_imagefolder_grayscale_resize_and_splits(tmp_path):
    root = tmp_path / "digits"
    for i in range(10):
        save_image(root / f"class{i % 2}" / f"{i}.png", np.full((6, 9), 10 * i, np.uint8))
    b = load_dataset(f"imagefolder:{root}?size=4x3", normalize="none")
    assert b.meta.input_shape == (1, 4, 3) and b.meta.num_classes == 2
    assert (len(b.train), len(b.valid), len(b.test)) == (6, 2, 2)
    # a constant image stays constant when resized: each one is still (10·i)/255 everywhere
    for split in b.splits().values():
        per_image = split.x.flatten(1)
        assert bool((per_image == per_image[:, :1]).all())
    values = sorted(round(float(v) * 255) for s in b.splits().values() for v in s.x[:, 0, 0, 0])
    assert values == [10 * i for i in range(10)]
    square = load_dataset(f"imagefolder:{root}?size=8", normalize="symmetric", **{"test_fraction": 0})
    assert square.meta.input_shape == (1, 8, 8) and float(square.train.x.min()) == pytest.approx(-1.0)


def test_imagefolder_reads_jpeg(tmp_path):
    for name in ("a", "b"):
        save_image(tmp_path / "j" / name / "x.jpg", np.full((8, 8, 3), 128, np.uint8), "JPEG")
        save_image(tmp_path / "j" / name / "y.JPEG", np.full((8, 8, 3), 64, np.uint8), "JPEG")
    b = load_dataset(f"imagefolder:{tmp_path / 'j'}", **WHOLE)
    assert b.meta.input_shape == (3, 8, 8) and len(b.train) == 4
    assert float(b.train.x[0].mean()) == pytest.approx(128 / 255, abs=2 / 255)


def test_imagefolder_errors(tmp_path):
    root = tmp_path / "f"
    assert_data_error(f"imagefolder:{root}", "f: no such folder")
    save_image(root / "loose.png", np.zeros((4, 4), np.uint8))
    assert_data_error(f"imagefolder:{root}", f"{root}: no class subfolders")
    save_image(root / "a" / "1.png", np.zeros((4, 4), np.uint8))
    (root / "b").mkdir()
    assert_data_error(f"imagefolder:{root}", f"{root / 'b'}: the class folder holds no")
    save_image(root / "b" / "2.png", np.zeros((4, 5), np.uint8))
    assert_data_error(f"imagefolder:{root}", f"{root / 'b' / '2.png'}: is 4×5 pixels", "size=H")
    assert_data_error(f"imagefolder:{root}?size=0", "size='0'")
    assert_data_error(f"imagefolder:{root}?size=3x4x5", "size='3x4x5'")
    (root / "b" / "2.png").write_text("not an image")
    assert_data_error(f"imagefolder:{root}", f"{root / 'b' / '2.png'}: cannot be read as an image")


def test_imagefolder_truncated_deep_and_bomb_images(tmp_path, monkeypatch):
    root = tmp_path / "f"
    save_image(root / "a" / "1.png", np.zeros((20, 20), np.uint8))
    noisy = root / "b" / "noise.png"
    save_image(noisy, np.random.default_rng(1).integers(0, 256, (20, 20), np.uint8))
    data = noisy.read_bytes()
    noisy.write_bytes(data[: len(data) // 2])
    assert_data_error(f"imagefolder:{root}", f"{noisy}: cannot be read as an image")
    noisy.unlink()
    Image.fromarray(np.full((20, 20), 300, np.uint16)).save(root / "b" / "deep.png")
    assert_data_error(f"imagefolder:{root}", "deep.png: pixel mode I", "8-bit")
    (root / "b" / "deep.png").unlink()
    save_image(root / "b" / "ok.png", np.zeros((20, 20), np.uint8))
    assert len(load_dataset(f"imagefolder:{root}", **WHOLE).train) == 2
    # 400 pixels: above a 300 limit Pillow warns (refused here), above twice a 150 limit Pillow raises
    for limit in (300, 150):
        monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", limit)
        first = root / "a" / "1.png"
        assert_data_error(f"imagefolder:{root}", f"{first}: refused as a possible decompression bomb")


# -- mnist ----------------------------------------------------------------------------------------

def write_idx(path, values: np.ndarray, magic: int | None = None, cut: int = 0):
    """An unsigned-byte IDX file: magic 0x0000080<ndim>, big-endian sizes, then the bytes."""
    magic = 0x0800 | values.ndim if magic is None else magic
    header = struct.pack(">I", magic) + struct.pack(f">{values.ndim}I", *values.shape)
    data = header + values.astype(np.uint8).tobytes()
    data = data[: len(data) - cut] if cut > 0 else data + bytes(-cut)
    if path.suffix == ".gz":
        data = gzip.compress(data)
    path.write_bytes(data)


@pytest.fixture
def mnist_dir(tmp_path):
    root = tmp_path / "mnist"
    root.mkdir()
    rng = np.random.default_rng(0)
    arrays = {
        "train-images-idx3-ubyte.gz": rng.integers(0, 256, (10, 4, 3), np.uint8),
        "train-labels-idx1-ubyte": np.array([0, 1, 2, 3, 4, 5, 6, 7, 8, 9], np.uint8),
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (3, 4, 3), np.uint8),
        "t10k-labels-idx1-ubyte.gz": np.array([9, 0, 9], np.uint8),
    }
    for name, values in arrays.items():
        write_idx(root / name, values)
    return root, arrays


def test_mnist_round_trip(mnist_dir):
    root, arrays = mnist_dir
    b = load_dataset(f"mnist:{root}", normalize="none", valid_fraction=0)
    assert (b.meta.task, b.meta.num_classes) == ("multiclass", 10)
    assert b.meta.class_names == [str(i) for i in range(10)]
    assert b.meta.input_shape == (1, 4, 3) and (len(b.train), len(b.valid), len(b.test)) == (10, 0, 3)
    scale = np.float32(255)
    np.testing.assert_array_equal(b.train.x[:, 0].numpy(), arrays["train-images-idx3-ubyte.gz"] / scale)
    np.testing.assert_array_equal(b.test.x[:, 0].numpy(), arrays["t10k-images-idx3-ubyte"] / scale)
    assert b.train.y.tolist() == list(range(10)) and b.test.y.tolist() == [9, 0, 9]


def test_mnist_accepts_the_dotted_file_names(mnist_dir):
    root, _ = mnist_dir
    (root / "t10k-images-idx3-ubyte").rename(root / "t10k-images.idx3-ubyte")
    assert len(load_dataset(f"mnist:{root}").test) == 3


@pytest.mark.parametrize("name, values, kwargs, fragments", [
    ("train-labels-idx1-ubyte", np.arange(10), {"magic": 0x00000803},
     ["bad magic number 0x00000803", "0x00000801"]),
    ("t10k-images-idx3-ubyte", np.zeros((3, 4, 3)), {"cut": 5},
     ["truncated", "3×4×3 values", "has 47 bytes"]),
    ("t10k-images-idx3-ubyte", np.zeros((3, 4, 3)), {"cut": -2}, ["longer than its header says"]),
    ("train-labels-idx1-ubyte", np.array([0, 1, 2, 3, 4, 5, 10, 7, 8, 9]), {},
     ["label 10 of item 6 is outside 0..9"]),
    ("train-labels-idx1-ubyte", np.arange(9), {}, ["10 images but train-labels-idx1-ubyte has 9 labels"]),
    ("t10k-images-idx3-ubyte", np.zeros((3, 5, 3)), {},
     ["train images are (4, 3) but t10k images are (5, 3)"]),
])
def test_mnist_errors(mnist_dir, name, values, kwargs, fragments):
    root, _ = mnist_dir
    write_idx(root / name, values, **kwargs)
    assert_data_error(f"mnist:{root}", *fragments)


def test_mnist_missing_and_corrupt_files(mnist_dir):
    root, _ = mnist_dir
    (root / "t10k-labels-idx1-ubyte.gz").write_bytes(b"\x1f\x8b not really gzip")
    assert_data_error(f"mnist:{root}", "t10k-labels-idx1-ubyte.gz: cannot be read")
    (root / "t10k-labels-idx1-ubyte.gz").unlink()
    missing = f"{root}: missing t10k-labels-idx1-ubyte (or t10k-labels-idx1-ubyte.gz)"
    assert_data_error(f"mnist:{root}", missing)
    (root / "train-images-idx3-ubyte.gz").write_bytes(gzip.compress(b"\x00\x00"))
    assert_data_error(f"mnist:{root}", "train-images-idx3-ubyte.gz: 2 bytes is too short")


# -- cifar ----------------------------------------------------------------------------------------

class Py2StylePickler(pickle._Pickler):
    """Writes bytes as Python 2 ``str`` opcodes (BINSTRING), as the real CIFAR files were written."""

    dispatch = dict(pickle._Pickler.dispatch)

    def save_py2_str(self, obj):
        self.write(pickle.BINSTRING + struct.pack("<i", len(obj)) + obj)
        self.memoize(obj)

    dispatch[bytes] = save_py2_str


def py2_pickle(obj) -> bytes:
    import io

    buffer = io.BytesIO()
    Py2StylePickler(buffer, protocol=2).dump(obj)
    return buffer.getvalue().replace(b"numpy._core.multiarray", b"numpy.core.multiarray")


def write_pickle(path, obj, style: str = "py3"):
    path.write_bytes(py2_pickle(obj) if style == "py2" else pickle.dumps(obj, protocol=2))


def cifar_rows(count: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (count, 3072), np.uint8)


def write_cifar10(root, style: str = "py3", str_keys: bool = False):
    root.mkdir(parents=True, exist_ok=True)
    key = (lambda k: k) if str_keys else (lambda k: k.encode())
    batches = {}
    for i, name in enumerate([f"data_batch_{j}" for j in range(1, 6)] + ["test_batch"]):
        rows = cifar_rows(2, i)
        labels = [(2 * i) % 10, (2 * i + 1) % 10]
        batch = {key("batch_label"): b"batch", key("data"): rows, key("labels"): labels,
                 key("filenames"): [b"a.png", b"b.png"]}
        write_pickle(root / name, batch, style)
        batches[name] = (rows, labels)
    names = [c.encode() for c in "airplane automobile bird cat deer dog frog horse ship truck".split()]
    write_pickle(root / "batches.meta", {key("label_names"): names, key("num_vis"): 3072}, style)
    return batches


@pytest.mark.parametrize("style, str_keys", [("py3", False), ("py2", False), ("py3", True)])
def test_cifar10_round_trip(tmp_path, style, str_keys):
    batches = write_cifar10(tmp_path / "c", style, str_keys)
    b = load_dataset(f"cifar10:{tmp_path / 'c'}", normalize="none", valid_fraction=0)
    assert b.meta.class_names[:3] == ["airplane", "automobile", "bird"] and b.meta.num_classes == 10
    assert (b.meta.task, b.meta.input_shape, len(b.train), len(b.test)) == ("multiclass", (3, 32, 32), 10, 2)
    rows, labels = batches["test_batch"]
    assert b.test.y.tolist() == labels
    # pixel (c, h, w) of image i is byte c·1024 + h·32 + w of row i: R plane, G plane, B plane
    for i, c, h, w in [(0, 0, 0, 0), (1, 2, 31, 31), (0, 1, 5, 7)]:
        assert float(b.test.x[i, c, h, w]) == np.float32(rows[i, c * 1024 + h * 32 + w]) / np.float32(255)
    train_rows = np.concatenate([batches[f"data_batch_{j}"][0] for j in range(1, 6)])
    np.testing.assert_array_equal(b.train.x.numpy().reshape(10, -1), train_rows / np.float32(255))


def test_cifar10_finds_the_extracted_folder(tmp_path):
    write_cifar10(tmp_path / "cifar-10-batches-py")
    assert len(load_dataset(f"cifar10:{tmp_path}", test_fraction=0).test) == 2


def test_cifar100_fine_and_coarse_labels(tmp_path):
    root = tmp_path / "c100"
    root.mkdir()
    for name, count in (("train", 8), ("test", 4)):
        write_pickle(root / name, {b"data": cifar_rows(count, count),
                                   b"fine_labels": [11 * i for i in range(count)],
                                   b"coarse_labels": [i % 4 for i in range(count)]})
    write_pickle(root / "meta", {b"fine_label_names": [f"f{i}".encode() for i in range(100)],
                                 b"coarse_label_names": [f"c{i}".encode() for i in range(20)]})
    fine = load_dataset(f"cifar100:{root}", valid_fraction=0)
    assert fine.meta.num_classes == 100 and fine.meta.class_names[11] == "f11"
    assert fine.test.y.tolist() == [0, 11, 22, 33]
    coarse = load_dataset(f"cifar100:{root}?labels=coarse", valid_fraction=0)
    assert coarse.meta.num_classes == 20 and coarse.meta.name == "cifar100-coarse"
    assert coarse.test.y.tolist() == [0, 1, 2, 3] and coarse.meta.class_names[:2] == ["c0", "c1"]
    assert_data_error(f"cifar100:{root}?labels=medium", "labels='medium' is not one of fine, coarse")


class ShellCommand:
    """A classic malicious pickle: unpickling it would run a shell command."""

    def __init__(self, command: str):
        self.command = command

    def __reduce__(self):
        return os.system, (self.command,)


class Evaluate:
    def __reduce__(self):
        return eval, ("__import__('os').getcwd()",)


def test_cifar_refuses_malicious_pickles_without_running_them(tmp_path):
    root = tmp_path / "c"
    write_cifar10(root)
    marker = tmp_path / "pwned"
    payload = {b"data": cifar_rows(2, 0), b"labels": ShellCommand(f"touch {marker}")}
    write_pickle(root / "data_batch_2", payload)
    system = f"{os.system.__module__}.system"
    assert_data_error(f"cifar10:{root}", "data_batch_2: refused to unpickle", system)
    assert not marker.exists()
    write_pickle(root / "data_batch_2", [Evaluate()])
    assert_data_error(f"cifar10:{root}", "refused to unpickle __builtin__.eval")  # protocol 2 spelling
    write_pickle(root / "data_batch_2", {b"data": np.array([1, "a"], dtype=object), b"labels": [0]})
    assert_data_error(f"cifar10:{root}", "refused to unpickle numpy.dtype('O8')")
    # numpy.ndarray itself cannot be called: ndarray(shape, dtype, buffer) would map raw bytes
    (root / "data_batch_2").write_bytes(b"\x80\x02cnumpy\nndarray\nK\x01\x85R.")
    assert_data_error(f"cifar10:{root}", "data_batch_2: is not a readable pickle", "TypeError")
    (root / "data_batch_2").write_bytes(b"\x80\x02cposix\nsystem\nX\x04\x00\x00\x00trueX\x85R.")
    assert_data_error(f"cifar10:{root}", "refused to unpickle posix.system")


class MalformedDtypeState:
    """numpy.dtype('u1') with a 6-item state: numpy's own unpickling of this crashes the interpreter."""

    def __reduce__(self):
        return np.dtype, ("u1", False, True), (3, "|", None, -1, -1, 0)


class ShortArrayState:
    """A 2×3 uint8 array whose pickled state carries 5 bytes instead of 6."""

    def __reduce__(self):
        reconstruct = np.zeros(1).__reduce__()[0]
        return reconstruct, (np.ndarray, (0,), b"b"), (1, (2, 3), np.dtype("u1"), False, b"\x00" * 5)


def test_restricted_unpickler_rebuilds_arrays_and_checks_their_bytes(tmp_path):
    f = tmp_path / "arrays.pkl"
    arrays = {"big_endian": np.arange(12, dtype=">i4").reshape(3, 4), "bools": np.array([True, False]),
              "fortran": np.asfortranarray(np.arange(6, dtype=np.float32).reshape(2, 3))}
    write_pickle(f, {"arrays": arrays, "names": [b"a", "b"]})
    out = load_pickled_dict(f)
    assert out["names"] == [b"a", "b"]
    for key, expected in arrays.items():
        np.testing.assert_array_equal(out["arrays"][key], expected)
        assert out["arrays"][key].dtype == expected.dtype
    write_pickle(f, {"x": MalformedDtypeState()})
    with pytest.raises(DataError, match="malformed dtype state"):
        load_pickled_dict(f)
    write_pickle(f, {"x": ShortArrayState()})
    with pytest.raises(DataError, match=r"array of shape \(2, 3\) has 5 bytes of uint8"):
        load_pickled_dict(f)


GOOD_PICKLE = pickle.dumps({b"data": np.arange(24, dtype=np.uint8).reshape(2, 12), b"labels": [0, 1],
                            b"scale": np.array([0.5, 2.0], dtype=">f8")}, protocol=2)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(edits=st.lists(st.tuples(st.integers(0, len(GOOD_PICKLE) - 1), st.integers(0, 255)), min_size=1, max_size=4),
       keep=st.integers(1, len(GOOD_PICKLE)))
def test_restricted_unpickler_corrupted_files_raise_only_data_error(tmp_path, edits, keep):
    data = bytearray(GOOD_PICKLE)
    for position, value in edits:
        data[position] = value
    f = tmp_path / "corrupt.pkl"
    f.write_bytes(bytes(data[:keep]))
    try:
        out = load_pickled_dict(f)
    except DataError as err:
        assert str(err).startswith(str(f))
    else:
        assert isinstance(out, dict)


@pytest.mark.parametrize("batch, fragments", [
    ({b"data": cifar_rows(2, 0)[:, :3000], b"labels": [0, 1]}, ["rows have 3000 bytes", "3072"]),
    ({b"data": cifar_rows(2, 0), b"labels": [0, 10]}, ["label 10 of item 1 is outside 0..9"]),
    ({b"data": cifar_rows(2, 0), b"labels": [0, 1, 2]}, ["2 images but 3 'labels'"]),
    ({b"data": cifar_rows(2, 0), b"labels": ["a", "b"]}, ["'labels' must be a list of integers"]),
    ({b"data": cifar_rows(2, 0).astype(np.float32), b"labels": [0, 1]}, ["2-D uint8 array"]),
    ({b"data": cifar_rows(2, 0)}, ["no 'labels' entry (the batch has data)"]),
    ([1, 2], ["holds a list; a dict was expected"]),
])
def test_cifar_batch_errors(tmp_path, batch, fragments):
    root = tmp_path / "c"
    write_cifar10(root)
    write_pickle(root / "data_batch_4", batch)
    assert_data_error(f"cifar10:{root}", str(root / "data_batch_4"), *fragments)


def test_cifar_missing_and_junk_files(tmp_path):
    root = tmp_path / "c"
    write_cifar10(root)
    write_pickle(root / "batches.meta", {b"label_names": [b"one", b"two"]})
    assert_data_error(f"cifar10:{root}", "batches.meta: 'label_names' must be a list of 10 class names")
    (root / "test_batch").write_bytes(b"\x80\x02}q\x00(")
    assert_data_error(f"cifar10:{root}", "test_batch: is not a readable pickle")
    (root / "data_batch_3").unlink()
    assert_data_error(f"cifar10:{root}", f"{root}: missing batch file data_batch_3")
