"""The CNN/ViT zoo at its paper resolution on the device: ResNet-18 and a two-layer ViT-B/16 at 224×224, in
the precision auto picks (bf16 autocast on CUDA) and channels-last, a few steps on synthetic images."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from deepzoo import api
from tests.conftest import QUIET
from tests.gpu.conftest import AUTO_PRECISION, assert_module_on_device, assert_run_folder, metric_rows, on_device

#: ViT-B/16's patch embedding at 224 (196 tokens) with a short, narrow encoder, so a step is cheap
SHORT_VIT = ["model.depth=2", "model.width=192", "model.heads=3", "model.mlp_dim=384"]


def tinted_images(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``n`` noisy 224×224 RGB images of two classes: class 0 leans red, class 1 leans blue (a colour
    a network can find in a few steps, so a falling loss is expected even at this size)."""
    y = np.arange(n) % 2
    x = rng.random((n, 3, 224, 224), dtype=np.float32) * 0.6
    x[y == 0, 0] += 0.4
    x[y == 1, 2] += 0.4
    return x, y


@pytest.fixture
def tinted(tmp_path) -> str:
    """An npz of 20 training/validation and 4 test images at 224×224 (a data spec for ``--data``)."""
    rng = np.random.default_rng(0)
    (x, y), (x_test, y_test) = tinted_images(20, rng), tinted_images(4, rng)
    path = tmp_path / "tinted.npz"
    np.savez(path, x=x, y=y, x_test=x_test, y_test=y_test)
    return f"npz:{path}"


@pytest.mark.parametrize(("model", "extra", "channels_last"), [
    ("resnet18", [], "auto"),
    # a ViT is not a convnet, so auto keeps it contiguous; forcing channels-last covers that path too
    ("vit_b_16", SHORT_VIT, "true"),
])
def test_zoo_model_at_224_trains_in_auto_precision_and_channels_last(runs, tinted, model, extra, channels_last):
    """Two epochs of 2 steps at 224×224: the training loss falls below the first epoch's, the summary
    records the device and the auto precision (bf16 on CUDA), the convolutions are channels-last, and the
    model's tensors are on the device. No checkpoints: ResNet-18's, with Adam's moments, are 135 MB
    fsynced per epoch, which would time the disk (tests/gpu/test_gpu_engine.py checks them on the device)."""
    run = api.train(model=model, data=tinted, epochs=2, echo=lambda *a: None,
                    overrides=on_device(QUIET + extra + ["data.valid_fraction=0.2", "train.batch_size=8",
                                                         "train.eval_batch_size=8", "early_stop.enabled=false",
                                                         "train.checkpoint=false",
                                                         f"train.channels_last={channels_last}"]))
    summary = assert_run_folder(run.dir, extra=("model_summary.txt",), checkpoints=False)
    assert summary["precision"] == AUTO_PRECISION
    assert run.recipe.data.meta.input_shape == (3, 224, 224)
    rows = metric_rows(run.dir)
    assert rows[-1]["train/loss"] < rows[0]["train/loss"], [r["train/loss"] for r in rows]
    convs = [m for m in run.model.modules() if isinstance(m, torch.nn.Conv2d)]
    assert convs and all(c.weight.is_contiguous(memory_format=torch.channels_last) for c in convs)
    assert_module_on_device(run.model)
