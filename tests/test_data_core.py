"""The data layer's core: embedded datasets, task inference, deterministic stratified splits,
normalisation from the training split only, and device-resident batching."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from deepzoo.data import RawData, build_bundle, load_dataset, parse_spec
from deepzoo.data.batching import DeviceLoader
from deepzoo.data.targets import infer_task
from deepzoo.errors import DataError


@pytest.mark.parametrize("name, task, shape, sizes", [
    ("digits", "multiclass", (1, 8, 8), 1797),
    ("moons", "binary", (2,), 1000),
    ("house-prices", "regression", (1,), 12),
    ("regression", "regression", (10,), 1000),
    ("mnist1d", "multiclass", (1, 40), 5000),
])
def test_embedded_datasets(name, task, shape, sizes):
    b = load_dataset(name)
    assert b.meta.task == task and b.meta.input_shape == shape
    assert len(b.train) + len(b.valid) + len(b.test) == sizes


def test_mnist1d_keeps_its_own_test_split_and_house_prices_are_the_tutorials():
    b = load_dataset("mnist1d")
    assert len(b.test) == 1000 and len(b.train) + len(b.valid) == 4000 and b.meta.num_classes == 10
    h = load_dataset("house-prices", normalize="none", standardize_targets=False)
    assert h.train.x[:, 0].tolist() == list(range(30, 150, 10))
    assert h.train.y[:, 0].tolist() == pytest.approx([7.5, 7, 6.5, 6.0, 5.5, 5.0, 4.5, 3.5, 3.2, 2.8, 3.0, 2.5])


@pytest.mark.parametrize("y, task", [
    (np.array([0, 1, 1, 0]), "binary"),
    (np.array(["cat", "dog", "cat"]), "binary"),
    (np.array([0, 1, 2, 3, 2]), "multiclass"),
    (np.array(["a", "b", "c"]), "multiclass"),
    (np.array([[0, 1, 1], [1, 0, 0]]), "multilabel"),
    (np.array([0.5, 1.25, 3.0]), "regression"),
    (np.array([[0.5, 2.0], [1.0, 3.0]]), "regression"),
    (np.arange(500), "regression"),  # too many integer values to be class labels
])
def test_task_inference(y, task):
    assert infer_task(y)[0] == task


def test_splits_are_deterministic_stratified_and_disjoint():
    a, b, c = (load_dataset("digits", seed=s) for s in (0, 0, 1))
    assert torch.equal(a.train.x, b.train.x) and not torch.equal(a.train.x, c.train.x)
    counts = torch.bincount(a.test.y, minlength=10)
    assert counts.min() >= 35 and counts.max() <= 37  # 360 test items, 10 classes
    rows = {tuple(r.tolist()) for r in a.train.x.reshape(len(a.train), -1)}
    assert not any(tuple(r.tolist()) in rows for r in a.test.x.reshape(len(a.test), -1))


def test_normalisation_uses_the_training_split_only():
    x = np.arange(100, dtype=np.float32)[:, None]
    x_test = np.full((20, 1), 1000.0, dtype=np.float32)
    y, y_test = np.arange(100) % 2, np.arange(20) % 2
    b = build_bundle(RawData("toy", x, y, x_test=x_test, y_test=y_test), valid_fraction=0.0)
    assert b.meta.mean == pytest.approx([49.5]) and b.meta.std == pytest.approx([np.std(np.arange(100))])
    assert torch.allclose(b.test.x, torch.full((20, 1), (1000 - 49.5) / float(np.std(np.arange(100)))))


@pytest.mark.parametrize("raw, message", [
    (RawData("t", np.zeros((0, 2), np.float32), np.zeros(0)), "empty"),
    (RawData("t", np.zeros((4, 2), np.float32), np.zeros(3)), "4 inputs but 3 targets"),
    (RawData("t", np.array([[0, 1], [np.nan, 1]], np.float32), np.zeros(2), source="f.csv"),
     "f.csv: row 1 has a NaN"),
    (RawData("t", np.zeros((10, 2), np.float32), np.zeros(10, dtype=int)), "single class"),
])
def test_bad_raw_data(raw, message):
    with pytest.raises(DataError, match=message):
        build_bundle(raw)


def test_spec_parsing():
    assert parse_spec("digits") == (None, "digits", {})
    assert parse_spec("csv:data/h.csv?target=price&normalize=none") == (
        "csv", "data/h.csv", {"target": "price", "normalize": "none"})
    with pytest.raises(DataError, match="key=value"):
        parse_spec("csv:h.csv?oops")


def test_device_loader_covers_every_item_once_and_shards_like_one_big_batch():
    x = torch.arange(40).float()
    one = DeviceLoader((x,), batch_size=8, shuffle=True, seed=3)
    seen = torch.cat([b[0] for b in one])
    assert sorted(seen.tolist()) == list(range(40))
    ranks = [DeviceLoader((x,), batch_size=4, shuffle=True, seed=3, rank=r, world_size=2) for r in (0, 1)]
    big = [b[0] for b in DeviceLoader((x,), batch_size=8, shuffle=True, seed=3)]
    for whole, part0, part1 in zip(big, *ranks):
        assert torch.equal(torch.cat([part0[0], part1[0]]), whole)


def test_device_loader_state_replays_the_same_order():
    x = torch.arange(30).float()
    loader = DeviceLoader((x,), batch_size=10, shuffle=True, seed=0)
    list(loader)
    state = loader.state_dict()
    first = [b[0].tolist() for b in loader]
    loader.load_state_dict(state)
    assert [b[0].tolist() for b in loader] == first


def test_too_few_rows_for_the_held_out_splits_is_a_one_line_error():
    with pytest.raises(DataError, match="tiny.csv: 1 row\\(s\\) are too few to hold out 20%"):
        build_bundle(RawData("tiny", np.zeros((2, 1), np.float32), np.array([0.5, 1.5]), source="tiny.csv"))
