"""The engine's guarantees: early stopping restores the best weights, checkpoints survive kills,
resume is exact, NaN losses stop the run, schedulers and accumulation behave."""

from __future__ import annotations

import csv
import json
import math

import pytest
import torch
from safetensors.torch import load_file

from deepzoo import api
from deepzoo.engine.checkpoint import atomic_save, load_checkpoint
from deepzoo.errors import TrainingError
from deepzoo.recipes.supervised import SupervisedRecipe
from tests.conftest import QUIET


def read_metrics(run_dir):
    with (run_dir / "metrics.csv").open() as f:
        return [{k: float(v) for k, v in row.items()} for row in csv.DictReader(f)]


def test_early_stopping_restores_the_best_epoch(runs, monkeypatch):
    states = {}
    original = SupervisedRecipe.on_epoch_end

    def record(self, epoch, run_dir):
        states[epoch] = {k: v.clone() for k, v in self.model.state_dict().items()}
        return original(self, epoch, run_dir)

    monkeypatch.setattr(SupervisedRecipe, "on_epoch_end", record)
    # a high learning rate makes the validation loss rise again, so the best epoch is not the last
    run = api.train(model="mlp", data="moons", epochs=25, echo=lambda *a: None,
                    overrides=QUIET + ["optim.lr=0.05", "early_stop.patience=4", "train.batch_size=16"])
    rows = read_metrics(run.dir)
    best_epoch = min(rows, key=lambda r: r["valid/loss"])["epoch"]
    assert run.summary["best_epoch"] == best_epoch
    assert len(rows) > best_epoch, "training should have gone on past the best epoch"
    final = run.model.state_dict()
    for key, value in states[best_epoch].items():
        assert torch.equal(final[key], value), key
    last = states[len(rows)]
    assert any(not torch.equal(final[k], last[k]) for k in final)
    exported = load_file(str(run.dir / "model.safetensors"))
    assert all(torch.equal(exported[k], final[k]) for k in final)


def test_nan_loss_stops_with_message_and_keeps_last_good_checkpoint(runs, monkeypatch):
    calls = {"n": 0}
    original = SupervisedRecipe.training_step

    def poisoned(self, batch, phase):
        calls["n"] += 1
        out = original(self, batch, phase)
        if calls["n"] >= 30:  # epoch 3 of 13-step epochs
            out["loss"] = out["loss"] * float("nan")
        return out

    monkeypatch.setattr(SupervisedRecipe, "training_step", poisoned)
    with pytest.raises(TrainingError, match=r"NaN or infinite at step 30 \(epoch 3\); the last good checkpoint"):
        api.train(model="mlp", data="moons", epochs=10, name="nan", echo=lambda *a: None,
                  overrides=QUIET + ["train.batch_size=50", "train.log_every=5"])
    ckpt = load_checkpoint(runs / "nan" / "checkpoints" / "last.pt")
    assert ckpt["epoch"] == 2
    assert all(torch.isfinite(v).all() for v in ckpt["model"].values())


def test_atomic_save_keeps_the_previous_file_when_the_write_dies(tmp_path, monkeypatch):
    path = tmp_path / "last.pt"
    atomic_save({"x": torch.ones(3)}, path)

    def die(*args, **kwargs):
        raise KeyboardInterrupt  # the process is interrupted before the rename

    monkeypatch.setattr("deepzoo.files.os.replace", die)
    with pytest.raises(KeyboardInterrupt):
        atomic_save({"x": torch.zeros(3)}, path)
    assert torch.equal(load_checkpoint(path)["x"], torch.ones(3))
    assert [p.name for p in tmp_path.iterdir()] == ["last.pt"]


@pytest.mark.parametrize("name", ["step", "multistep", "exponential", "cosine", "onecycle", "plateau"])
def test_every_scheduler_trains_and_changes_the_lr(runs, name):
    overrides = QUIET + [f"sched.name={name}", "sched.step_size=1", "sched.milestones=[1]", "sched.gamma=0.5",
                         "sched.patience=0", "sched.warmup_epochs=1", "early_stop.enabled=false",
                         "train.batch_size=128"]
    run = api.train(model="mlp", data="moons", epochs=3, echo=lambda *a: None, overrides=overrides)
    lrs = [row["lr"] for row in read_metrics(run.dir)]
    if name != "plateau":
        assert len(set(lrs)) > 1, lrs
    assert math.isfinite(run.metrics["test/loss"])


def test_gradient_accumulation_equals_the_larger_batch(runs):
    common = QUIET + ["early_stop.enabled=false", "optim.name=sgd", "optim.momentum=0"]
    big = api.train(model="mlp", data="moons", epochs=2, name="big", echo=lambda *a: None,
                    overrides=common + ["train.batch_size=64"])
    small = api.train(model="mlp", data="moons", epochs=2, name="acc", echo=lambda *a: None,
                      overrides=common + ["train.batch_size=32", "train.accumulate=2"])
    for key, value in big.model.state_dict().items():
        torch.testing.assert_close(small.model.state_dict()[key], value, atol=1e-6, rtol=1e-5)


def test_existing_run_is_never_overwritten(runs):
    kwargs = dict(model="mlp", data="moons", epochs=1, echo=lambda *a: None, overrides=QUIET)
    first = api.train(**kwargs)
    second = api.train(**kwargs)
    assert first.dir != second.dir and second.dir.name == "mlp-moons-2"
    with pytest.raises(TrainingError, match="exists; pass --resume"):
        api.train(name="mlp-moons", **kwargs)
    old_weights = load_file(str(first.dir / "model.safetensors"))
    (first.dir / "notes.txt").write_text("left by the first run")
    replaced = api.train(name="mlp-moons", overwrite=True, seed=1, **kwargs)
    assert replaced.dir == first.dir  # the same folder, emptied and written again by the new run
    assert not (first.dir / "notes.txt").exists()
    assert json.loads((first.dir / "summary.json").read_text())["seed"] == 1
    new_weights = load_file(str(first.dir / "model.safetensors"))
    assert new_weights.keys() == old_weights.keys()
    assert not any(torch.equal(new_weights[k], old_weights[k]) for k in new_weights if k.endswith("weight"))
    assert all(torch.equal(new_weights[k], v) for k, v in replaced.model.state_dict().items())


def test_biases_norms_and_prelu_slopes_get_no_weight_decay():
    from torch import nn

    from deepzoo.engine.optim import param_groups

    model = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3), nn.PReLU(3), nn.Linear(3, 1))
    groups = param_groups(model, lr=0.1, weight_decay=0.5)
    decayed = {id(p) for g in groups if g["weight_decay"] == 0.5 for p in g["params"]}
    assert decayed == {id(model[0].weight), id(model[3].weight)}


def test_parameter_groups_with_the_same_settings_are_one_group():
    from torch import nn

    from deepzoo.engine.optim import param_groups

    model = nn.Sequential(nn.Linear(2, 3), nn.Linear(3, 1))
    assert len(param_groups(model, lr=0.1, weight_decay=0.0)) == 1  # one optimizer kernel per step
    groups = param_groups(model, lr=0.1, weight_decay=0.5)
    assert [g["weight_decay"] for g in groups] == [0.0, 0.5]  # the decayed group last


def test_backbone_lr_mult_lowers_only_the_backbone_learning_rate():
    from deepzoo.engine.optim import param_groups
    from deepzoo.models import create_model

    model = create_model("mlp", input_shape=(2,), num_classes=3)
    groups = param_groups(model, lr=0.1, weight_decay=0.0, head_prefixes=("head",), backbone_lr_mult=0.1)
    head = {id(p) for p in model.head.parameters()}
    for g in groups:
        expected = 0.1 if all(id(p) in head for p in g["params"]) else pytest.approx(0.01)
        assert g["lr"] == expected


@pytest.mark.parametrize("augment", ["crop:padding=1", "mixup", "cutmix,crop:padding=1"])
def test_training_with_device_augmentation(runs, augment):
    run = api.train(model="cnn", data="digits", epochs=2, echo=lambda *a: None,
                    overrides=QUIET + [f"data.augment={augment}"])
    assert run.metrics["test/accuracy"] > 0.5


def test_callbacks_see_every_epoch_row_and_can_stop_the_run(runs):
    seen = []

    def stop_at_two(epoch, row):
        seen.append((epoch, row["valid/loss"]))
        if epoch == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        api.train(model="mlp", data="moons", epochs=5, name="cb", echo=lambda *a: None, overrides=QUIET,
                  callbacks=[stop_at_two])
    assert [e for e, _ in seen] == [1, 2]
    assert load_checkpoint(runs / "cb" / "checkpoints" / "last.pt")["epoch"] == 1


def test_a_callback_can_end_training_like_early_stopping(runs):
    from deepzoo.engine import StopTraining

    def enough(epoch, row):
        if epoch == 3:
            raise StopTraining("target reached")

    run = api.train(model="mlp", data="moons", epochs=10, echo=lambda *a: None, overrides=QUIET,
                    callbacks=[enough])
    assert run.summary["epochs_run"] == 3 and "test/accuracy" in run.metrics


@pytest.mark.parametrize(("setting", "expected"), [("auto", True), ("false", False)])
def test_convnets_train_in_channels_last_on_the_cpu_by_default(runs, setting, expected):
    # oneDNN's channels-last convolutions are 1.2-1.4x faster per step on the CPU (benchmarks/RESULTS.md)
    run = api.train(model="cnn", data="digits", epochs=1, echo=lambda *a: None,
                    overrides=QUIET + [f"train.channels_last={setting}", "train.device=cpu"])
    second_conv = [m for m in run.model.modules() if isinstance(m, torch.nn.Conv2d)][1]
    assert second_conv.weight.is_contiguous(memory_format=torch.channels_last) is expected
    assert run.metrics["test/accuracy"] > 0.5
