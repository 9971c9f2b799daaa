"""Real tables: scikit-learn's bundled tables as CSV, text categories, imputation from the training split,
delimiter detection, unknown options, RMSE, and scoring a run on new data with its own preprocessing."""

from __future__ import annotations

import csv
import math

import numpy as np
import pytest
import torch
from sklearn import datasets
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.metrics import r2_score

from deepzoo import api
from deepzoo.data import load_dataset
from deepzoo.data.bundle import DatasetMeta
from deepzoo.data.formats_table import detect_delimiter
from deepzoo.data.inputs import read_inputs
from deepzoo.data.table_encoding import embedding_dim
from deepzoo.errors import DataError
from deepzoo.models._tabular import TabularEncoder
from deepzoo.tasks.heads import TaskHead
from tests.conftest import QUIET

pytestmark = pytest.mark.usefixtures("one_thread")
FAST = [*QUIET, "train.batch_size=32", "optim.lr=0.01"]
WHOLE = {"test_fraction": 0, "valid_fraction": 0}


def write_csv(path, header, rows, delimiter=","):
    with open(path, "w", newline="") as f:
        writer = csv.writer(f, delimiter=delimiter)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def sklearn_table(tmp_path, name):
    """One of scikit-learn's bundled tables as a CSV file: feature columns, then the target (class names)."""
    data = getattr(datasets, f"load_{name}")()
    names = list(data.feature_names)
    if name == "diabetes":
        target = [f"{v:g}" for v in data.target]
    else:
        target = [data.target_names[v] for v in data.target]
    rows = [[f"{v:.6g}" for v in x] + [t] for x, t in zip(data.data, target)]
    return write_csv(tmp_path / f"{name}.csv", [*names, "target"], rows)


# -- scikit-learn's tables: task inference, and a quick fit against scikit-learn's own model ---------

@pytest.mark.parametrize("name, task, classes", [
    ("iris", "multiclass", 3), ("wine", "multiclass", 3), ("breast_cancer", "binary", 2), ("diabetes", "regression", 0),
])
def test_sklearn_tables_infer_the_task_and_fit_as_well_as_scikit_learn(runs, tmp_path, name, task, classes):
    f = sklearn_table(tmp_path, name)
    model = "linear" if task == "regression" else "mlp"
    run = api.train(model=model, data=f"csv:{f}", epochs=40, name=name, overrides=FAST)
    bundle = run.recipe.data
    assert (bundle.meta.task, bundle.meta.num_classes) == (task, classes)
    # the baseline sees the same (normalised) training rows and is scored on the same test rows
    x_train, x_test = bundle.train.x.numpy(), bundle.test.x.numpy()
    if task == "regression":  # R² does not change when both sides are standardised alike
        fitted = LinearRegression().fit(x_train, bundle.train.y.numpy().ravel())
        baseline = r2_score(bundle.test.y.numpy().ravel(), fitted.predict(x_test))
        assert run.metrics["test/r2"] >= baseline - 0.05, (run.metrics["test/r2"], baseline)
    else:
        baseline = LogisticRegression(max_iter=2000).fit(x_train, bundle.train.y.numpy()).score(
            x_test, bundle.test.y.numpy())
        assert run.metrics["test/accuracy"] >= baseline - 0.05, (run.metrics["test/accuracy"], baseline)


# -- text columns --------------------------------------------------------------------------------

COLOURS = ["red", "green", "blue"]
CITIES = [f"city{i:02d}" for i in range(40)]


def shop_table(path, n=600, seed=0):
    """Who buys: a colour (3 values), a city (40 values, each with its own effect) and a number."""
    rng = np.random.default_rng(seed)
    effect = np.random.default_rng(99).normal(0, 2, len(CITIES))
    rows = []
    for _ in range(n):
        c, k, s = rng.integers(3), rng.integers(len(CITIES)), rng.normal()
        rows.append([COLOURS[c], CITIES[k], f"{s:.3f}", "yes" if (c - 1) * 1.5 + effect[k] + s > 0 else "no"])
    return write_csv(path, ["colour", "city", "size", "bought"], rows)


def test_text_columns_are_one_hot_or_embedded_train_and_predict_with_unseen_categories_counted(runs, tmp_path,
                                                                                                capsys):
    f = shop_table(tmp_path / "shop.csv")
    run = api.train(model="mlp", data=f"csv:{f}", epochs=25, name="shop", overrides=FAST)
    meta = run.recipe.data.meta
    kinds = {c["name"]: (c["kind"], len(c["categories"])) for c in meta.extra["table"]["columns"]}
    assert kinds == {"colour": ("onehot", 3), "city": ("embedding", 40), "size": ("numeric", 0)}
    # dense block: 3 one-hot columns and the number; then the city's code
    assert meta.input_shape == (5,) and meta.std[:3] == [1.0, 1.0, 1.0] and meta.mean[4] == 0.0
    model = run.recipe.model
    assert isinstance(model, TabularEncoder)
    assert [(e.num_embeddings, e.embedding_dim) for e in model.embeddings] == [(41, embedding_dim(41))]
    assert model.forward_features(run.recipe.data.test.x).shape == (len(run.recipe.data.test), 64)
    # the categories carry the signal: far above the majority class, which the number alone cannot reach
    majority = max(np.mean(run.recipe.data.test.y.numpy() == v) for v in (0, 1))
    assert run.metrics["test/accuracy"] >= majority + 0.2
    new = write_csv(tmp_path / "new.csv", ["size", "city", "colour"],
                    [["0.5", "city03", "green"], ["0.1", "Oslo", "purple"], ["2", "Rome", "red"]])
    x = read_inputs(new, api.load_run("shop", with_data=False).recipe.data.meta)
    assert "colour: 1 cell(s) ('purple'); city: 2 cell(s) ('Oslo', 'Rome')" in capsys.readouterr().err
    assert x[:, :3].tolist() == [[0, 1, 0], [0, 0, 0], [0, 0, 1]]  # blue, green, red; unknown → zeros
    assert x[:, 4].tolist() == [4, 0, 0]  # city03 is code 4 (1 + its sorted index); unknown → 0
    prediction = api.predict("shop", new)
    assert prediction["label"].shape == (3,)


def test_a_column_mixing_numbers_and_text_is_text(tmp_path):
    f = write_csv(tmp_path / "mixed.csv", ["code", "y"], [["12", "0"], ["A7", "1"], ["12", "1"], ["3", "0"]])
    column = load_dataset(f"csv:{f}", **WHOLE).meta.extra["table"]["columns"][0]
    assert (column["kind"], column["categories"]) == ("onehot", ["12", "3", "A7"])
    assert load_dataset(f"csv:{f}?max_onehot=2", **WHOLE).meta.extra["table"]["columns"][0]["kind"] == "embedding"


# -- missing cells ---------------------------------------------------------------------------------

def test_impute_takes_its_statistics_from_the_training_split_only(tmp_path):
    # rows 0..39: 'a' is small in most rows and large in a few, so the medians of different row sets differ
    rng = np.random.default_rng(1)
    a = np.where(rng.random(40) < 0.3, 100 + rng.random(40), rng.random(40))
    gaps = [3, 11, 17, 25, 33, 38]
    colour = [("red" if i % 3 else "blue") if i % 7 else "green" for i in range(40)]
    rows = [[str(i), "" if i in gaps else f"{a[i]:.4f}", "NA" if i in gaps[:3] else colour[i], str(i % 2)]
            for i in range(40)]
    f = write_csv(tmp_path / "gaps.csv", ["row", "a", "colour", "y"], rows)
    bundle = load_dataset(f"csv:{f}?impute=true", normalize="none", valid_fraction=0.25)
    train_rows = bundle.train.x[:, 0].long().tolist()
    present = [i for i in train_rows if i not in gaps]
    median = float(np.median([float(f"{a[i]:.4f}") for i in present]))
    assert median != pytest.approx(float(np.median([float(f"{a[i]:.4f}") for i in range(40) if i not in gaps])))
    columns = {c["name"]: c for c in bundle.meta.extra["table"]["columns"]}
    assert columns["a"]["fill"] == pytest.approx(median)
    train_colours = [colour[i] for i in train_rows if i not in gaps[:3]]
    assert columns["colour"]["fill"] == max(set(train_colours), key=train_colours.count)
    assert columns["a"]["indicator"] == any(i in gaps for i in train_rows)
    # layout: row, a, a's indicator, colour blue/green/red, colour's indicator
    for split in (bundle.train, bundle.valid, bundle.test):
        for x in split.x.tolist():
            row = int(x[0])
            assert x[1] == pytest.approx(median if row in gaps else float(f"{a[row]:.4f}"), rel=1e-6)
            assert x[2] == (row in gaps)


def test_missing_cells_without_impute_are_a_one_line_error_and_predict_fills_them_from_the_run(runs, tmp_path):
    f = write_csv(tmp_path / "t.csv", ["a", "b", "y"], [[str(i), "x" if i % 2 else "z", str(i % 2)] for i in range(30)]
                  + [["NaN", "x", "1"]])
    with pytest.raises(DataError, match=r"t.csv: line 32, column 'a' has 'NaN', which marks a missing value .*"
                                        r"\?impute=true"):
        load_dataset(f"csv:{f}")
    api.train(model="mlp", data=f"csv:{f}?impute=true", epochs=1, name="imp", overrides=FAST)
    meta = api.load_run("imp", with_data=False).recipe.data.meta
    fill = meta.extra["table"]["columns"][0]["fill"]
    new = write_csv(tmp_path / "new.csv", ["a", "b"], [["", "z"], ["4", "?"]])
    x = read_inputs(new, meta)
    assert x[0, 0].item() == pytest.approx((fill - meta.mean[0]) / meta.std[0], rel=1e-5)
    plain = tmp_path / "plain.csv"
    write_csv(plain, ["a", "b", "y"], [[str(i), "x", str(i % 2)] for i in range(30)])
    api.train(model="mlp", data=f"csv:{plain}", epochs=1, name="plain", overrides=FAST)
    with pytest.raises(DataError, match=r"new.csv: line 2, feature 'a' is empty; the run fills no missing cells"):
        read_inputs(new, api.load_run("plain", with_data=False).recipe.data.meta)


# -- delimiters and options ------------------------------------------------------------------------

@pytest.mark.parametrize("text, delimiter, first_row", [
    ("a,b,y\n1,2,0\n3,4,1\n", ",", [1, 2]),
    ("a;b;y\n1,5;2,25;0\n3;4;1\n", ";", [1.5, 2.25]),  # decimal commas: a comma split is ragged
    ("a\tb\ty\n1\t2\t0\n3\t4\t1\n", "\t", [1, 2]),
    ('name,b,y\n"Smith; J",2,0\n"Lee; K",4,1\n', ",", None),  # semicolons inside quotes
    ('name;b;y\n"Smith, J";2;0\n"Lee, K";4;1\n', ";", None),  # commas inside quotes
    ("price (€, incl. tax);b;y\n1,5;2;0\n3;4;1\n", ";", [1.5, 2]),  # a comma in the header: more columns win
])
def test_the_delimiter_is_detected(tmp_path, text, delimiter, first_row):
    f = tmp_path / "t.csv"
    f.write_text(text)
    assert detect_delimiter(f) == delimiter
    bundle = load_dataset(f"csv:{f}", normalize="none", **WHOLE)
    assert bundle.meta.extra["feature_names"][1] == "b"
    if first_row is not None:
        assert bundle.train.x[0].tolist() == first_row


def test_a_delimiter_detection_would_not_find_is_the_runs_for_new_files(runs, tmp_path):
    rows = [[str(i % 7), str((i * 3) % 5), str(int(i % 7 > 3))] for i in range(60)]
    f = write_csv(tmp_path / "pipes.csv", ["a", "b", "y"], rows, delimiter="|")
    api.train(model="mlp", data=f"csv:{f}?delimiter=|", epochs=1, name="pipes", overrides=FAST)
    meta = api.load_run("pipes", with_data=False).recipe.data.meta
    assert meta.extra["delimiter"] == "|"
    assert read_inputs(f, meta).shape == (60, 2)  # predict reads the run's kind of file
    assert 0 <= api.evaluate("pipes", data=f"csv:{f}")["data/accuracy"] <= 1


@pytest.mark.parametrize("spec, fragment", [
    ("csv:{f}?targt=y", "unknown option(s) targt; did you mean target?"),
    ("csv:{f}?imptue=true", "unknown option(s) imptue; did you mean impute?"),  # before the missing cell
    ("csv:{f}?valid_fractoin=0.1", "did you mean valid_fraction?"),
    ("npz:{n}?normalise=none", "did you mean normalize?"),
    ("moons?nois=0.1", "did you mean noise?"),
])
def test_an_unknown_option_names_the_closest(tmp_path, spec, fragment):
    f = write_csv(tmp_path / "t.csv", ["a", "y"], [["1", "0"], ["", "1"]])
    n = tmp_path / "t.npz"
    np.savez(n, x=np.zeros((4, 2)), y=np.array([0, 1, 0, 1]))
    with pytest.raises(DataError) as info:
        load_dataset(spec.format(f=f, n=n))
    assert fragment in str(info.value) and "(options: " in str(info.value)


# -- regression metrics and evaluate --data ----------------------------------------------------------

def test_rmse_is_the_square_root_of_mse_in_target_units():
    meta = DatasetMeta("r", "regression", (1,), num_targets=2, target_mean=[10.0, -1.0], target_std=[2.0, 0.5])
    outputs = torch.tensor([[0.0, 1.0], [1.0, -1.0], [2.0, 0.0]])
    targets = torch.tensor([[0.5, 1.0], [0.0, 0.0], [2.0, 2.0]])
    metrics = TaskHead("regression", meta).metrics(outputs, targets)
    errors = (outputs - targets) * torch.tensor([2.0, 0.5])  # standardised → target units
    mse = float((errors ** 2).mean())
    assert metrics["mse"] == pytest.approx(mse) and metrics["rmse"] == pytest.approx(math.sqrt(mse))


def test_evaluate_on_new_data_uses_the_runs_own_statistics(runs, tmp_path, capsys):
    rng = np.random.default_rng(3)
    x = rng.normal(5.0, 2.0, size=(200, 2))
    y = x @ np.array([1.5, -2.0]) + 3.0 + rng.normal(0, 0.1, 200)
    f = write_csv(tmp_path / "train.csv", ["u", "v", "price"], [[f"{a:.4f}", f"{b:.4f}", f"{t:.4f}"]
                                                                for (a, b), t in zip(x, y)])
    api.train(model="linear", data=f"csv:{f}", epochs=30, name="lin", overrides=FAST)
    shifted = x + np.array([4.0, -3.0])  # a copy whose statistics differ from the training split's
    g = write_csv(tmp_path / "shifted.csv", ["v", "price", "u"], [[f"{b:.4f}", f"{t:.4f}", f"{a:.4f}"]
                                                                  for (a, b), t in zip(shifted, y)])
    metrics = api.evaluate("lin", data=f"csv:{g}")
    run = api.load_run("lin", with_data=False)
    meta, model = run.recipe.data.meta, run.recipe.model
    shifted = np.round(shifted, 4)

    def mse_of(inputs):
        with torch.no_grad():
            out = run.recipe.head.to_target_units(model(torch.tensor(inputs, dtype=torch.float32)))
        return float(((out.numpy().ravel() - np.round(y, 4)) ** 2).mean())

    own = (shifted - np.array(meta.mean)) / np.array(meta.std)
    renormalised = (shifted - shifted.mean(0)) / shifted.std(0)
    assert metrics["data/mse"] == pytest.approx(mse_of(own), rel=1e-4)
    assert abs(mse_of(renormalised) - mse_of(own)) > 1.0  # the shift shows: the run's statistics were used
    assert metrics["data/rmse"] == pytest.approx(math.sqrt(metrics["data/mse"]))
    from deepzoo.cli import main

    capsys.readouterr()
    assert main(["evaluate", "lin", "--data", f"csv:{g}"]) == 0
    assert "rmse" in capsys.readouterr().out


def test_evaluate_on_the_training_file_scores_every_row_with_the_runs_categories(runs, tmp_path):
    f = shop_table(tmp_path / "shop.csv", n=300)
    run = api.train(model="mlp", data=f"csv:{f}", epochs=5, name="shop", overrides=FAST)
    # the same rows in another column order, and a class and a category order the file does not start with
    rows = list(csv.reader(open(f)))[1:][::-1]
    g = write_csv(tmp_path / "again.csv", ["bought", "size", "city", "colour"], [r[::-1] for r in rows])
    metrics = api.evaluate("shop", data=f"csv:{g}")
    per_split = api.evaluate("shop")
    whole = sum(per_split[f"{s}/accuracy"] * len(getattr(run.recipe.data, s)) for s in ("train", "valid", "test"))
    assert sum(len(getattr(run.recipe.data, s)) for s in ("train", "valid", "test")) == 300
    assert metrics["data/accuracy"] == pytest.approx(whole / 300, abs=1e-6)
    assert metrics["data/unseen_categories"] == 0


# -- prediction files ------------------------------------------------------------------------------

def predict_rows(tmp_path, run, new):
    from deepzoo.cli import main

    out = tmp_path / f"{run}-predictions.csv"
    assert main(["predict", run, "--input", str(new), "--output", str(out)]) == 0
    return list(csv.reader(out.open()))


def test_prediction_files_carry_an_id_and_name_columns_after_classes_and_targets(runs, tmp_path):
    f = sklearn_table(tmp_path, "breast_cancer")
    api.train(model="mlp", data=f"csv:{f}", epochs=2, name="cancer", overrides=FAST)
    rows = list(csv.reader(open(f)))
    new = write_csv(tmp_path / "new.csv", rows[0][:-1], [rows[1][:-1], rows[2][:-1]])
    new.write_text(new.read_text().replace("\n", "\n\n", 1))  # a blank line after the header: lines 3 and 4
    table = predict_rows(tmp_path, "cancer", new)
    assert table[0] == ["id", "p(malignant)", "label"] and [r[0] for r in table[1:]] == ["3", "4"]
    assert all((float(p) >= 0.5) == (label == "malignant") for _, p, label in table[1:])
    # regression: one column per target, named after it; a chosen id column names the rows and is no feature
    g = write_csv(tmp_path / "houses.csv", ["house", "rooms", "area", "price", "tax"],
                  [[f"h{i}", str(i % 5), str(50 + 7 * i), str(100 + 20 * i), str(3 + i % 4)] for i in range(30)])
    api.train(model="linear", data=f"csv:{g}?target=price,tax&id=house", epochs=2, name="houses", overrides=FAST)
    assert api.load_run("houses", with_data=False).recipe.data.meta.extra["feature_names"] == ["rooms", "area"]
    new = write_csv(tmp_path / "new_houses.csv", ["area", "house", "rooms"], [["60", "Villa", "2"], ["90", "Hut", "1"]])
    table = predict_rows(tmp_path, "houses", new)
    assert table[0] == ["id", "price", "tax"] and [r[0] for r in table[1:]] == ["Villa", "Hut"]
    # scoring new labelled rows needs no id column
    scored = write_csv(tmp_path / "scored.csv", ["rooms", "area", "price", "tax"], [["2", "60", "140", "4"]])
    assert "data/rmse" in api.evaluate("houses", data=f"csv:{scored}")


def test_evaluate_on_new_data_matches_labels_by_name(runs, tmp_path):
    rows = [[str(i), str(i % 3), ";".join(t for t, on in (("sea", i % 2), ("sky", i % 3 == 0), ("tree", i % 5 == 0))
                                           if on)] for i in range(40)]
    f = write_csv(tmp_path / "tags.csv", ["a", "b", "tags"], rows)
    api.train(model="mlp", data=f"csv:{f}?multilabel_sep=;", epochs=1, name="tags", overrides=FAST)
    # only 'sky' and 'sea' occur here, in another order: the columns follow the run's sorted labels
    g = write_csv(tmp_path / "new.csv", ["tags", "a", "b"], [["sky", "3", "0"], ["sky;sea", "9", "0"]])
    loaded = load_dataset(f"csv:{g}", fitted=api.load_run("tags", with_data=False).recipe.data.meta)
    assert loaded.test.y.tolist() == [[0, 1, 0], [1, 1, 0]]  # sea, sky, tree
    every = write_csv(tmp_path / "every.csv", ["tags", "a", "b"], [["tree;sky", "3", "0"], ["sea", "9", "0"]])
    assert "data/f1" in api.evaluate("tags", data=f"csv:{every}")
    h = write_csv(tmp_path / "bad.csv", ["tags", "a", "b"], [["sky;moon", "3", "0"]])
    with pytest.raises(DataError, match=r"bad.csv: label\(s\) moon are not among the run's \(sea, sky, tree\)"):
        api.evaluate("tags", data=f"csv:{h}")
