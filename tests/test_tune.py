"""deepzoo tune in one process: search spaces, bad input, grid search and its replay, continuing a
study, pruning (see test_tune_workers.py and test_tune_postgres.py for several processes)."""

from __future__ import annotations

import csv
import importlib.util
import json
import math

import optuna
import pytest

from deepzoo import cli
from deepzoo.config import RunConfig
from deepzoo.errors import ConfigError
from deepzoo.tune.space import load_space, parse_space
from deepzoo.tune.study import make_pruner, trial_status


def _space(tmp_path, text: str, name: str = "space.yaml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def _tune(space, *extra: str) -> int:
    return cli.main(["tune", "--model", "mlp", "--data", "moons", "--space", str(space), *extra])


def _study(runs, name: str) -> optuna.Study:
    from optuna.storages.journal import JournalFileBackend, JournalStorage

    storage = JournalStorage(JournalFileBackend(str(runs / name / "journal.log")))
    return optuna.load_study(study_name=name, storage=storage)


# -- search spaces --------------------------------------------------------------------------------------
def test_space_types_and_grids(tmp_path):
    space = load_space(_space(tmp_path, """
optim.lr: {type: float, low: 1e-3, high: 1e-1, log: true, grid: 3}
train.batch_size: {type: int, low: 16, high: 64, step: 16}
model.hidden: [[8], [16, 8]]
optim.weight_decay: {type: float, low: 0, high: 0.5, step: 0.25}
"""))
    lr, batch, hidden, wd = space.params
    assert (lr.kind, lr.low, lr.high, lr.log) == ("float", 1e-3, 1e-1, True)  # "1e-3" is a string to YAML 1.1
    assert lr.grid_values("s") == pytest.approx([1e-3, 1e-2, 1e-1])  # geometric spacing under log
    assert batch.grid_values("s") == [16, 32, 48, 64]
    assert hidden.grid_values("s") == [[8], [16, 8]] and hidden.encoded  # lists travel as JSON text
    assert wd.grid_values("s") == pytest.approx([0.0, 0.25, 0.5])
    grid = space.grid()
    assert len(grid) == 3 * 4 * 2 * 3
    assert grid[0] == {"optim.lr": pytest.approx(1e-3), "train.batch_size": 16, "model.hidden": "[8]",
                       "optim.weight_decay": 0.0}
    config = space.apply(RunConfig(), space.decode(grid[-1]))
    assert config.model.args["hidden"] == [16, 8] and config.train.batch_size == 64
    assert parse_space(space.to_dict()).to_dict() == space.to_dict()  # saved with the study, read back alike


@pytest.mark.parametrize("text, message", [
    ("optim.lrr: {type: float, low: 1.0e-4, high: 0.1}", "unknown config key 'optim.lrr'; did you mean optim.lr"),
    ("model.hidden: {type: categorical, choices: []}", "model.hidden: a categorical needs a non-empty list"),
    ("optim.lr: {type: float, low: 0, high: 0.1, log: true}", "optim.lr: log: true needs low > 0, got low = 0.0"),
    ("optim.lr: {type: float, low: -1, high: 0.1, log: true}", "log: true needs low > 0, got low = -1.0"),
    ("optim.lr: {type: float, low: 0.1, high: 0.01}", "optim.lr: low (0.1) is above high (0.01)"),
    ("optim.lr: {type: float, low: 0.01, high: 0.1, grid: [0.5]}", "grid value 0.5 lies outside [0.01, 0.1]"),
    ("optim.lr: {type: real, low: 0.01, high: 0.1}", "type must be one of float, int, categorical"),
    ("optim.lr: {type: float, lo: 0.01, high: 0.1}", "unknown field 'lo'"),
    ("train.batch_size: {type: int, low: 8.5, high: 64}", "low must be an integer"),
])
def test_bad_space_is_one_line_exit_2(runs, tmp_path, capsys, text, message):
    assert _tune(_space(tmp_path, text), "--trials", "2") == 2
    err = capsys.readouterr().err.strip()
    assert message in err and "\n" not in err and str(tmp_path / "space.yaml") in err


def test_grid_needs_finite_floats(runs, tmp_path, capsys):
    space = _space(tmp_path, "optim.lr: {type: float, low: 1.0e-3, high: 0.1, log: true}")
    assert _tune(space, "--sampler", "grid") == 2
    assert "optim.lr: grid search needs finite values for a float" in capsys.readouterr().err


@pytest.mark.parametrize("url, shown", [
    ("postgresql+psycopg2://tuner:s3cret@127.0.0.1:1/nodb", "postgresql+psycopg2://tuner:***@127.0.0.1:1/nodb"),
    ("sqlite:////no/such/folder/study.db", "sqlite:////no/such/folder/study.db"),
    ("notaurl", "notaurl"),
])
def test_unreachable_storage_is_one_line_exit_2(runs, tmp_path, capsys, url, shown):
    space = _space(tmp_path, "optim.lr: {type: float, low: 1.0e-3, high: 0.1}")
    assert _tune(space, "--trials", "2", "--storage", url) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"deepzoo: error: --storage {shown}: cannot open the database (") and "\n" not in err
    assert "s3cret" not in err
    assert not (runs / "tune-mlp-moons").exists()  # nothing was started


def test_cmaes_without_its_package(runs, tmp_path, capsys):
    if importlib.util.find_spec("cmaes") is not None:
        pytest.skip("cmaes is installed here")
    space = _space(tmp_path, "optim.lr: {type: float, low: 1.0e-3, high: 0.1}")
    assert _tune(space, "--sampler", "cmaes") == 2
    assert "needs the cmaes package" in capsys.readouterr().err


def test_pruner_settings():
    median = make_pruner("median", 10)
    assert (median._n_startup_trials, median._n_warmup_steps) == (3, 2)
    assert make_pruner("hyperband", 12)._max_resource == 12
    with pytest.raises(ConfigError, match="--pruner 'halving'"):
        make_pruner("halving", 10)


# -- whole studies ----------------------------------------------------------------------------------------
@pytest.mark.slow
def test_grid_study_visits_each_point_once_and_best_yaml_replays(runs, tmp_path, capsys):
    space = _space(tmp_path, "optim.lr: [0.003, 0.03]\nmodel.hidden: [[8], [32]]\n")
    assert _tune(space, "--sampler", "grid", "--pruner", "none", "--epochs", "3") == 0
    study = _study(runs, "tune-mlp-moons")
    trials = study.get_trials()
    assert [trial_status(t) for t in trials] == ["complete"] * 4
    points = sorted((t.params["optim.lr"], t.params["model.hidden"]) for t in trials)
    assert points == [(0.003, "[32]"), (0.003, "[8]"), (0.03, "[32]"), (0.03, "[8]")]
    folder = runs / "tune-mlp-moons"
    with (folder / "trials.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert [int(r["trial"]) for r in rows] == [0, 1, 2, 3]
    assert all((folder / r["run"] / "summary.json").is_file() for r in rows)
    for plot in ("history", "curves", "importances"):
        assert (folder / "plots" / f"{plot}.png").stat().st_size > 0
    best = min(trials, key=lambda t: t.value)  # valid/loss is minimised
    out = capsys.readouterr().out
    assert f"best: trial {best.number}, valid/loss {best.value:.4g}" in out

    # the best config replays the best trial: same split, seed and settings, so the same loss on CPU
    assert cli.main(["train", "--config", str(folder / "best.yaml"), "--name", "replay",
                     "--set", "train.progress=false"]) == 0
    replay = json.loads((runs / "replay" / "summary.json").read_text())
    assert replay["metrics"]["valid/loss"] == pytest.approx(best.value, rel=1e-6)

    # a grid has as many trials as points: asking for more adds none
    assert _tune(space, "--sampler", "grid", "--pruner", "none", "--epochs", "3", "--trials", "6") == 0
    assert "the grid has 4 points" in capsys.readouterr().out
    assert len(_study(runs, "tune-mlp-moons").trials) == 4


@pytest.mark.slow
def test_larger_trial_count_continues_the_study(runs, tmp_path):
    space = _space(tmp_path, "optim.lr: {type: float, low: 1.0e-3, high: 0.1, log: true}")
    args = ("--sampler", "random", "--pruner", "none", "--epochs", "2", "--study", "grow")
    assert _tune(space, *args, "--trials", "2") == 0
    first = [(t.number, t.params, t.value) for t in _study(runs, "grow").trials]
    # a writer killed while appending leaves the journal's lock behind; it is broken after a grace period
    (runs / "grow" / "journal.log.lock").touch()
    assert _tune(space, *args, "--trials", "3") == 0
    trials = _study(runs, "grow").trials
    assert [(t.number, t.params, t.value) for t in trials[:2]] == first  # kept, not re-run
    assert len(trials) == 3 and trials[2].params not in [p for _, p, _ in first]
    # the same study with another base config is refused: its trials would not compare
    assert _tune(space, *args[:-2], "--epochs", "5", "--study", "grow", "--trials", "3") == 2


@pytest.mark.slow
def test_pruning_stops_hopeless_trials(runs, tmp_path):
    # grid order puts the three workable trials (lr 1e-2) first, then three hopeless ones (lr 1e-7)
    space = _space(tmp_path, "optim.lr: [0.01, 1.0e-7]\nmodel.hidden: [[8], [16], [32]]\n")
    assert _tune(space, "--sampler", "grid", "--pruner", "median", "--epochs", "5", "--study", "prune") == 0
    trials = _study(runs, "prune").trials
    by_lr = {lr: [t for t in trials if t.params["optim.lr"] == lr] for lr in (0.01, 1e-7)}
    assert [trial_status(t) for t in by_lr[0.01]] == ["complete"] * 3
    assert [trial_status(t) for t in by_lr[1e-7]] == ["pruned"] * 3
    # median pruning starts at epoch 2 once 3 trials completed: each hopeless trial stopped there
    assert [max(t.intermediate_values) for t in by_lr[1e-7]] == [2, 2, 2]
    assert all(len(t.intermediate_values) == 5 for t in by_lr[0.01])
    assert all(math.isfinite(t.value) for t in trials)


@pytest.mark.slow
def test_interrupted_trial_is_rerun_with_its_parameters(runs, tmp_path, monkeypatch, capsys):
    from deepzoo.run import training

    space = _space(tmp_path, "optim.lr: {type: float, low: 1.0e-3, high: 0.1, log: true}")
    args = ("--sampler", "random", "--pruner", "none", "--epochs", "2", "--trials", "2", "--study", "ctrl-c")

    def interrupted(*a, **k):
        raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.setattr(training, "train", interrupted)  # what every trial calls
        assert _tune(space, *args) == 130  # Ctrl-C during the first trial
    first = _study(runs, "ctrl-c").trials[0]
    assert trial_status(first) == "lost" and first.user_attrs["lost"] == "interrupted"
    assert _tune(space, *args) == 0
    trials = _study(runs, "ctrl-c").trials
    retry = [t for t in trials if t.user_attrs.get("retry_of") == 0]
    assert len(retry) == 1 and retry[0].params == first.params and trial_status(retry[0]) == "complete"
    assert sorted(t.user_attrs["slot"] for t in trials if trial_status(t) == "complete") == [0, 1]
