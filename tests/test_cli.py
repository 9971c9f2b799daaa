"""The CLI: user errors print one line and exit with status 2; the verbs work end to end."""

from __future__ import annotations

import json

import pytest

from deepzoo.cli import main
from tests.conftest import QUIET

SETS = [a for q in QUIET for a in ("--set", q)]


def one_line_error(capsys, argv):
    status = main(argv)
    err = capsys.readouterr().err.strip()
    assert status == 2, err
    assert err.startswith("deepzoo: error: ") and "\n" not in err and "Traceback" not in err
    return err


@pytest.mark.parametrize("argv, needle", [
    (["train", "--model", "resnt", "--data", "digits"], "unknown model 'resnt'"),
    (["train", "--model", "mlp", "--data", "digts"], "unknown dataset 'digts'; did you mean digits"),
    (["train", "--model", "mlp", "--data", "moons", "--set", "optim.lrr=1"], "unknown config key 'optim.lrr'"),
    (["train", "--model", "mlp", "--data", "moons", "--set", "train.epochs=many"], "not a valid int"),
    (["train", "--model", "mlp", "--data", "moons", "--set", "model.widht=3"], "does not take widht"),
    (["train", "--model", "mlp", "--data", "moons", "--config", "missing.yaml"], "missing.yaml: config file not found"),
    (["train", "--model", "mlp", "--data", "nosuchformat:x.csv"], "unknown format 'nosuchformat'"),
    (["train", "--model", "mlp", "--data", "moons", "--set", "sched.name=cosin"], "unknown scheduler 'cosin'"),
    (["train", "--name", "nothing", "--resume"], "no such run to resume"),
    (["evaluate", "nothing"], "nothing: not a run folder"),
])
def test_user_errors_are_one_line_with_status_2(runs, capsys, argv, needle):
    import re

    assert re.search(needle, one_line_error(capsys, argv))


def test_regression_task_on_class_labels_is_accepted_as_an_explicit_override(runs, capsys):
    assert main(["train", "--model", "mlp", "--data", "moons", "--task", "regression", "--epochs", "1", *SETS]) == 0
    assert "--task regression given" in capsys.readouterr().out


def test_multiclass_task_on_real_targets_is_refused(runs, capsys):
    err = one_line_error(capsys, ["train", "--model", "mlp", "--data", "regression", "--task", "multiclass"])
    assert "needs integer class labels" in err


def test_train_evaluate_predict_round_trip(runs, tmp_path, capsys):
    assert main(["train", "--model", "mlp", "--data", "moons", "--epochs", "3", "--name", "m", *SETS]) == 0
    summary = json.loads((runs / "m" / "summary.json").read_text())
    for key in ("task", "model", "data", "seed", "best_epoch", "seconds", "versions", "metrics"):
        assert key in summary
    assert summary["task"] == "binary" and "test/accuracy" in summary["metrics"]
    capsys.readouterr()
    assert main(["evaluate", "m", "--json"]) == 0
    metrics = json.loads(capsys.readouterr().out)
    assert metrics["test/accuracy"] == pytest.approx(summary["metrics"]["test/accuracy"])
    csv_in = tmp_path / "new.csv"
    csv_in.write_text("x0,x1\n-1.0,0.5\n2.0,0.0\n")
    assert main(["predict", "m", "--input", str(csv_in)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0] == "id,p(1),label" and [line.split(",")[0] for line in lines[1:]] == ["2", "3"]
    bad = tmp_path / "bad.csv"
    bad.write_text("x0,x1\n1.0,abc\n")
    err = one_line_error(capsys, ["predict", "m", "--input", str(bad)])
    assert "line 2, feature 'x1' has 'abc', which is not a number" in err


def test_datasets_lists_the_embedded_sets(capsys):
    assert main(["datasets", "--json"]) == 0
    names = {d["name"] for d in json.loads(capsys.readouterr().out)["datasets"]}
    assert {"digits", "moons", "house-prices", "regression", "mnist1d", "sample-images", "karate"} <= names


@pytest.mark.slow
def test_demo_reaches_its_accuracy(runs, capsys):
    assert main(["demo", "--runs-dir", str(runs)]) == 0
    summary = json.loads((runs / "cnn-digits" / "summary.json").read_text())
    assert summary["metrics"]["test/accuracy"] >= 0.97
    out = capsys.readouterr().out
    assert "accuracy" in out and "run folder" in out
    assert (runs / "cnn-digits" / "plots" / "curves.png").is_file()
