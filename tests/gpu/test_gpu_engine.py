"""The engine's guarantees on the device: a run stopped by SIGTERM in the middle of an epoch resumes to the
weights of an uninterrupted one (CUDA RNG state, device loader and tallies included), ``--compile`` trains an
MLP and a convnet (CUDA graphs on CUDA), and a NaN loss stops the run as it does on the CPU."""

from __future__ import annotations

import csv
import signal

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from deepzoo import api
from deepzoo.engine.checkpoint import load_checkpoint
from deepzoo.errors import Interrupted, TrainingError
from deepzoo.recipes.supervised import SupervisedRecipe
from tests.conftest import QUIET
from tests.gpu.conftest import assert_module_on_device, assert_run_folder, metric_rows, on_device
from tests.test_run_safety import signal_at  # the same signal-at-step helper as on the CPU

#: several batches per epoch and dropout, so the device's RNG state matters; no early stop before the end
RESUMABLE = QUIET + ["model.dropout=0.2", "train.batch_size=32", "early_stop.enabled=false", "train.log_every=7"]
#: a missing RNG restore after resuming moves these weights by 0.007-0.019 (measured on the CPU): the
#: tolerance passes only the last-bit differences a CUDA kernel may add, not a different run
WEIGHT_TOLERANCE = {"atol": 2e-4, "rtol": 1e-3}


def epoch_rows_without_time(run_dir) -> list[dict[str, float]]:
    """metrics.csv rows without the wall-time column, for comparing two runs."""
    return [{k: v for k, v in row.items() if k != "seconds"} for row in metric_rows(run_dir)]


def test_a_sigterm_mid_epoch_then_resume_matches_an_uninterrupted_run(runs, monkeypatch):
    """Three epochs straight against a run stopped by SIGTERM at step 30 (batch 10 of 20 in epoch 2) and
    resumed: the same weights and per-epoch metrics within a last-bits tolerance, which a lost device RNG
    state, loader order or running tally would exceed."""
    overrides = on_device(RESUMABLE)
    full = api.train(model="mlp", data="moons", epochs=3, name="full", overrides=overrides, echo=lambda *a: None)
    with monkeypatch.context() as patch:
        patch.setattr(SupervisedRecipe, "training_step", signal_at(30, signal.SIGTERM))
        with pytest.raises(Interrupted, match=r"stopped by SIGTERM after step 30 \(batch 10 of 20 in epoch 2\)"):
            api.train(model="mlp", data="moons", epochs=3, name="cut", overrides=overrides, echo=lambda *a: None)
    ckpt = load_checkpoint(runs / "cut" / "checkpoints" / "last.pt")
    assert (ckpt["epoch"], ckpt["batches"], ckpt["step"]) == (1, 10, 30)
    lines: list[str] = []
    resumed = api.train(name="cut", resume=True, echo=lambda *a: lines.append(" ".join(map(str, a))))
    assert "resumed from epoch 2, batch 11 (step 30)" in lines
    assert_run_folder(resumed.dir)
    a, b = load_file(str(full.dir / "model.safetensors")), load_file(str(resumed.dir / "model.safetensors"))
    assert a.keys() == b.keys()
    for key in a:
        torch.testing.assert_close(b[key], a[key], **WEIGHT_TOLERANCE, msg=key)
    straight, cut = epoch_rows_without_time(full.dir), epoch_rows_without_time(resumed.dir)
    assert [r["epoch"] for r in cut] == [1, 2, 3]
    for x, y in zip(straight, cut):
        assert y == pytest.approx(x, rel=1e-3, abs=1e-5)
    assert_module_on_device(resumed.model)


def write_bars(path, n: int = 320, n_test: int = 64) -> None:
    """An npz of 8×8 single-channel images, a horizontal (class 0) or vertical (class 1) bright bar at a
    random place on noise; sizes chosen so that every batch of 64 is full (one compiled shape)."""
    rng = np.random.default_rng(0)

    def images(count):
        """``count`` images and their labels, the classes alternating."""
        y = np.arange(count) % 2
        x = rng.normal(0, 0.3, (count, 1, 8, 8)).astype(np.float32)
        where = rng.integers(0, 8, count)
        for i in range(count):
            if y[i]:
                x[i, 0, :, where[i]] += 1.0
            else:
                x[i, 0, where[i], :] += 1.0
        return x, y

    (x, y), (x_test, y_test) = images(n), images(n_test)
    np.savez(path, x=x, y=y, x_test=x_test, y_test=y_test)


@pytest.mark.parametrize("model", ["mlp", "cnn"])
def test_compile_trains_an_mlp_and_a_convnet(runs, tmp_path, model):
    """``--compile`` (reduce-overhead, so CUDA graphs, on CUDA): the forward passes go through the compiled
    module, the training loss falls over three epochs and the test accuracy is far above the 0.5 of
    guessing. Every split is a whole number of batches, so each graph is compiled for one shape only:
    one for training and one for evaluation."""
    if model == "mlp":
        # 640 / 160 / 200 items; CPU, seeds 0-2: loss 0.59-0.61 → 0.39-0.40, accuracy 0.86-0.90
        data, extra = "moons", ["train.batch_size=40", "train.eval_batch_size=40"]
    else:
        write_bars(tmp_path / "bars.npz")
        data = f"npz:{tmp_path / 'bars.npz'}"  # 256 / 64 / 64 items
        extra = ["model.width=8", "data.valid_fraction=0.2", "train.batch_size=64", "train.eval_batch_size=64",
                 "optim.lr=1e-2"]  # 12 steps in all: CPU, seeds 0-2, loss 0.53-0.58 → 0.15-0.19, accuracy ≥ 0.98
    run = api.train(model=model, data=data, epochs=3, compile=True, echo=lambda *a: None,
                    overrides=on_device(QUIET + extra + ["early_stop.enabled=false"]))
    summary = assert_run_folder(run.dir)
    assert isinstance(run.recipe.net, torch._dynamo.eval_frame.OptimizedModule)
    assert "compile: true" in (run.dir / "config.yaml").read_text()
    rows = metric_rows(run.dir)
    assert rows[-1]["train/loss"] < 0.9 * rows[0]["train/loss"], [r["train/loss"] for r in rows]
    assert summary["metrics"]["test/accuracy"] > 0.75
    assert_module_on_device(run.model)


def test_a_nan_loss_stops_the_run_and_keeps_the_last_good_checkpoint(runs, monkeypatch):
    """A loss turned NaN at step 30 (epoch 3 of 13-step epochs) on the device ends the run with the message
    naming the step and the kept checkpoint, which holds epoch 2 and finite weights, and no model file."""
    calls = {"n": 0}
    original = SupervisedRecipe.training_step

    def poisoned(self, batch, phase):
        """The recipe's own step, its loss made NaN from the 30th call on."""
        calls["n"] += 1
        out = original(self, batch, phase)
        if calls["n"] >= 30:
            out["loss"] = out["loss"] * float("nan")
        return out

    monkeypatch.setattr(SupervisedRecipe, "training_step", poisoned)
    with pytest.raises(TrainingError, match=r"NaN or infinite at step 30 \(epoch 3\); the last good checkpoint"):
        api.train(model="mlp", data="moons", epochs=10, name="nan", echo=lambda *a: None,
                  overrides=on_device(QUIET + ["train.batch_size=50", "train.log_every=5"]))
    ckpt = load_checkpoint(runs / "nan" / "checkpoints" / "last.pt")
    assert ckpt["epoch"] == 2
    assert all(torch.isfinite(v).all() for v in ckpt["model"].values())
    assert not (runs / "nan" / "model.safetensors").exists() and not (runs / "nan" / "summary.json").exists()
    with (runs / "nan" / "metrics.csv").open() as f:
        assert [int(r["epoch"]) for r in csv.DictReader(f)] == [1, 2]
