"""Supervised runs on the device: an MLP on a CSV through the DataLoader path (pinned memory, a worker) and
a CNN on the embedded digits through the device-resident path, each with its plots."""

from __future__ import annotations

import numpy as np
import torch

from deepzoo import api
from tests.conftest import QUIET
from tests.gpu.conftest import (
    AUTO_PRECISION,
    assert_module_on_device,
    assert_run_folder,
    guess_ceiling,
    metric_rows,
    on_device,
)

PLOTS = [q for q in QUIET if q != "train.plots=false"]  # progress and TensorBoard off, plots on


def write_blobs(path, n: int = 600) -> None:
    """Three Gaussian blobs in the plane (unit spread, centres 3 apart) as a CSV with a text label column."""
    rng = np.random.default_rng(0)
    centres = np.array([[0.0, 0.0], [3.0, 0.0], [1.5, 2.6]])
    labels = np.arange(n) % 3
    points = centres[labels] + rng.normal(size=(n, 2))
    rows = ["x1,x2,kind"] + [f"{a:.4f},{b:.4f},{'abc'[k]}" for (a, b), k in zip(points, labels)]
    path.write_text("\n".join(rows) + "\n")


def test_mlp_on_a_csv_learns_through_the_dataloader_path(runs, tmp_path):
    """The CSV → DataLoader (a worker, pinned memory) → device path trains: the validation loss falls below
    the first epoch's and the test accuracy is far above the 1/3 of guessing; the decision-boundary plot
    evaluates a grid built on the CPU, so it checks that the grid reaches the model's device."""
    path = tmp_path / "blobs.csv"
    write_blobs(path)
    run = api.train(model="mlp", data=f"csv:{path}?target=kind", epochs=6, echo=lambda *a: None,
                    overrides=on_device(PLOTS + ["data.resident=false", "data.num_workers=1",
                                                 "train.batch_size=32", "early_stop.enabled=false"]))
    summary = assert_run_folder(run.dir, extra=("model_summary.txt", "plots/curves.png",
                                                "plots/confusion_matrix.png", "plots/decision_boundary.png"))
    assert summary["task"] == "multiclass" and summary["precision"] == AUTO_PRECISION
    rows = metric_rows(run.dir)
    assert rows[-1]["valid/loss"] < 0.8 * rows[0]["valid/loss"], [r["valid/loss"] for r in rows]
    # the blobs overlap a little: a linear rule reaches about 0.9; guessing stays under 0.42 on 120 points
    assert run.metrics["test/accuracy"] > max(0.75, guess_ceiling(1 / 3, 120))
    assert_module_on_device(run.model)


def test_cnn_on_digits_learns_on_device_resident_batches_in_channels_last(runs):
    """The CNN on the embedded digits (kept on the device, shuffled there) beats guessing by far, trains in
    channels-last memory format (auto on CUDA and on the CPU), in the precision auto picks for the device,
    and writes its confusion matrix from device outputs."""
    run = api.train(model="cnn", data="digits", epochs=3, echo=lambda *a: None,
                    overrides=on_device(PLOTS + ["early_stop.enabled=false"]))
    summary = assert_run_folder(run.dir, extra=("model_summary.txt", "plots/curves.png", "plots/confusion_matrix.png"))
    assert summary["precision"] == AUTO_PRECISION
    rows = metric_rows(run.dir)
    assert rows[-1]["train/loss"] < 0.7 * rows[0]["train/loss"], [r["train/loss"] for r in rows]
    assert run.metrics["test/accuracy"] > 0.5  # 10 balanced classes: guessing gets 0.1 (at most 0.15 here)
    convs = [m for m in run.model.modules() if isinstance(m, torch.nn.Conv2d)]
    assert convs and all(c.weight.is_contiguous(memory_format=torch.channels_last) for c in convs[1:])
    assert_module_on_device(run.model)
