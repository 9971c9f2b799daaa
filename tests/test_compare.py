"""deepzoo compare: only the config keys that differ, each run's final metrics, one curves plot."""

from __future__ import annotations

import json

import pytest

from deepzoo import api, cli
from deepzoo.config import flat_config
from deepzoo.tune.compare import differing_keys, load_runs
from deepzoo.tune.tables import format_table
from tests.conftest import QUIET


def test_flat_config_names_keys_as_set_does():
    config = {"model": {"name": "mlp", "args": {"hidden": [8]}}, "data": {"spec": "moons", "options": {}},
              "task_args": {}, "optim": {"lr": 0.1}}
    assert flat_config(config) == {"model.name": "mlp", "model.hidden": [8], "data.spec": "moons", "optim.lr": 0.1}


def test_format_table_aligns_columns():
    text = format_table(["key", "value"], [["a", 1.23456], ["long key", None]])
    assert text.splitlines() == ["key       value", "--------  -----", "a         1.235", "long key      -"]


@pytest.mark.slow
def test_compare_two_runs(runs, tmp_path, capsys):
    quiet = QUIET + ["train.epochs=2"]
    api.train("mlp", "moons", name="a", echo=lambda *a: None, overrides=quiet + ["optim.lr=0.01"])
    api.train("mlp", "moons", name="b", echo=lambda *a: None, overrides=quiet + ["model.hidden=[8]"])
    records = load_runs(["a", "b"])
    assert differing_keys(records) == ["model.hidden", "optim.lr"]  # names and folders left out

    out = tmp_path / "cmp.png"
    assert cli.main(["compare", "a", str(runs / "b"), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    config_part, metrics_part = printed.split("final metrics")
    rows = {line.split()[0]: line.split()[1:] for line in config_part.splitlines()[3:] if line.strip()}
    assert rows == {"model.hidden": ["-", "[8]"], "optim.lr": ["0.01", "0.001"]}  # a unset: the model default
    for name, column in (("a", 1), ("b", 2)):
        summary = json.loads((runs / name / "summary.json").read_text())
        line = next(x for x in metrics_part.splitlines() if x.startswith("valid/loss"))
        assert line.split()[column] == f"{summary['metrics']['valid/loss']:.4g}"
    assert out.stat().st_size > 0

    (runs / "b" / "summary.json").unlink()  # as if training stopped after its second epoch
    assert load_runs(["a", "b"])[1].status == "unfinished (epoch 2)"


def test_compare_needs_two_runs(runs, capsys):
    assert cli.main(["compare", "only"]) == 2
    assert capsys.readouterr().err.strip() == "deepzoo: error: compare needs at least two runs"
