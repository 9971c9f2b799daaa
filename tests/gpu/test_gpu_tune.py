"""A two-trial tuning study on the device through ``deepzoo tune`` (Optuna's journal storage, one worker)."""

from __future__ import annotations

import csv

import pytest

from deepzoo.cli import main
from tests.conftest import QUIET
from tests.gpu.conftest import DEVICE, assert_run_folder, metric_rows, on_device


def test_a_two_point_grid_study_trains_both_trials_on_the_device(runs, tmp_path, capsys):
    """Both grid points complete as ordinary run folders on the device, each lowering the MLP's validation
    loss from its first epoch and ending well below the ln 2 ≈ 0.69 of an uninformed guess on the two
    balanced moons (CPU: 0.26 and 0.24); the study writes its table, best config and plots."""
    pytest.importorskip("optuna")
    space = tmp_path / "space.yaml"
    space.write_text("optim.lr: [0.003, 0.03]\n")
    sets = [a for q in on_device(QUIET) for a in ("--set", q)]
    assert main(["tune", "--model", "mlp", "--data", "moons", "--space", str(space), "--trials", "2",
                 "--sampler", "grid", "--pruner", "none", "--epochs", "3", *sets]) == 0
    assert "best: trial" in capsys.readouterr().out
    study = runs / "tune-mlp-moons"
    with (study / "trials.csv").open() as f:
        trials = list(csv.DictReader(f))
    assert [t["status"] for t in trials] == ["complete", "complete"]
    assert sorted(float(t["optim.lr"]) for t in trials) == [0.003, 0.03]
    for trial in trials:
        folder = study / trial["run"]
        summary = assert_run_folder(folder)
        assert f"device: {DEVICE}" in (folder / "config.yaml").read_text()
        rows = metric_rows(folder)
        assert rows[-1]["valid/loss"] < rows[0]["valid/loss"]
        assert summary["metrics"]["valid/loss"] == pytest.approx(float(trial["valid/loss"]))
        assert float(trial["valid/loss"]) < 0.5
    for name in ("best.yaml", "plots/history.png", "plots/curves.png"):
        assert (study / name).stat().st_size > 0
