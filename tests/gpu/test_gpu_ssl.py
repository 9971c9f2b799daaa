"""Self-supervised learning on the device: SimCLR with its evaluation protocol (linear probe, kNN, fine-tuning,
the supervised baseline) and the rotation pretext task with its example plot, on the embedded digits."""

from __future__ import annotations

from deepzoo import api
from tests.conftest import QUIET
from tests.gpu.conftest import assert_module_on_device, assert_run_folder, guess_ceiling, metric_rows, on_device

SMALL = ["model.width=8", "early_stop.enabled=false"]
#: the whole protocol, each part a few steps (probe) or epochs (fine-tuning, the supervised baseline)
BRIEF_EVALUATION = ["task_args.probe_steps=50", "task_args.finetune_epochs=3", "task_args.supervised_epochs=3"]


def test_simclr_learns_and_its_evaluation_runs_on_the_device(runs):
    """Two SimCLR epochs: the NT-Xent loss falls, the pretext accuracy (the positive view found among the
    2B − 1 others) beats guessing, and the evaluation on the device gives a linear probe above the same
    encoder at initialisation (CPU, seeds 0-2: +0.04 to +0.10) and every protocol entry above guessing."""
    run = api.train(model="cnn", data="digits", task="simclr", epochs=2, echo=lambda *a: None,
                    overrides=on_device(QUIET + SMALL + BRIEF_EVALUATION))
    summary = assert_run_folder(run.dir)
    assert summary["task"] == "simclr"
    rows = metric_rows(run.dir)
    assert rows[-1]["train/loss"] < rows[0]["train/loss"], [r["train/loss"] for r in rows]
    chance = 1 / (2 * run.config.train.batch_size - 1)
    assert run.metrics["valid/pretext_accuracy"] > guess_ceiling(chance, len(run.recipe.data.valid))
    m = summary["metrics"]
    assert m["test/linear_accuracy"] > m["test/random_linear_accuracy"]
    ceiling = guess_ceiling(0.1, len(run.recipe.data.test))  # ten balanced classes
    for name in ("linear_accuracy", "knn_accuracy", "raw_linear_accuracy", "finetune_100pct_accuracy",
                 "supervised_accuracy"):
        assert m[f"test/{name}"] > ceiling, name
    assert_module_on_device(run.recipe.model)


def test_rotation_pretext_learns_and_draws_its_examples(runs):
    """Three epochs of rotation prediction: the loss falls and the validation accuracy over the four
    rotations beats guessing (CPU, seeds 0-2: 0.59-0.62 against 0.25), and the pretext examples are
    drawn from the device."""
    overrides = [q for q in QUIET if q != "train.plots=false"] + SMALL + ["task_args.evaluate=false"]
    run = api.train(model="cnn", data="digits", task="rotation", epochs=3, echo=lambda *a: None,
                    overrides=on_device(overrides))
    assert_run_folder(run.dir, extra=("plots/pretext_examples.png",))
    rows = metric_rows(run.dir)
    assert rows[-1]["train/loss"] < rows[0]["train/loss"], [r["train/loss"] for r in rows]
    assert run.metrics["valid/pretext_accuracy"] > guess_ceiling(0.25, len(run.recipe.data.valid))
    assert_module_on_device(run.recipe.model)
