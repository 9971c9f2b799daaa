"""Segmentation runs: the loss the recipe trains against hand values, a short U-Net run through the CLI that
beats the majority class, predicted mask files, exact resume, an ImageNet encoder from the (fake) cache,
and the one-line errors of a run that cannot be."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from PIL import Image

from deepzoo import api
from deepzoo.cli import main
from deepzoo.data.segmentation import IGNORE_INDEX
from deepzoo.run.training import build_config, build_recipe
from tests.conftest import QUIET
from tests.test_pretrained_weights import save_torchvision
from tests.test_run_safety import assert_same_weights, metrics_without_time, one_line_error, silent, weights_of

pytestmark = pytest.mark.usefixtures("one_thread")

TINY = ["model.depth=2", "model.base_width=4", "train.batch_size=8"]
SMALL_DATA = "shapes?count=24&size=16"


def recipe_for(*overrides: str, data: str = SMALL_DATA):
    return build_recipe(build_config(model="unet", data=data, overrides=[*QUIET, *TINY, *overrides]))[0]


def test_the_loss_is_weighted_cross_entropy_plus_dice_by_hand(runs):
    recipe = recipe_for("task_args.class_weights=[1,3,1,1]", "task_args.dice=0.5")
    logits = torch.zeros(1, 4, 1, 3)
    logits[0, 1, 0, 0] = math.log(3)  # pixel 1: p = (1, 3, 1, 1)/6, truth 1; pixel 2: uniform, truth 0
    target = torch.tensor([[[1, 0, IGNORE_INDEX]]])
    losses = recipe.segmentation_loss(logits, target)
    cross_entropy = (3 * math.log(2) + 1 * math.log(4)) / (3 + 1)  # −log(3/6) weighed 3, −log(1/4) weighed 1
    dice = [(2 * p + 1) / (size + 1) for p, size in ((1 / 4, 1 / 6 + 1 / 4 + 1), (1 / 2, 1 / 2 + 1 / 4 + 1),
                                                     (0, 1 / 6 + 1 / 4), (0, 1 / 6 + 1 / 4))]
    assert losses["cross_entropy_loss"].item() == pytest.approx(cross_entropy, rel=1e-6)
    assert losses["dice_loss"].item() == pytest.approx(1 - sum(dice) / 4, rel=1e-6)
    assert losses["loss"].item() == pytest.approx(cross_entropy + 0.5 * (1 - sum(dice) / 4), rel=1e-6)


def test_balanced_class_weights_come_from_the_training_pixels(runs):
    recipe = recipe_for("task_args.class_weights=balanced")
    y = recipe.data.train.y
    counts = torch.bincount(y.reshape(-1).long(), minlength=4).double()
    assert torch.allclose(recipe.class_weights.double(), counts.sum() / (4 * counts), rtol=1e-6)


def test_a_short_unet_run_beats_the_majority_class_and_writes_masks(runs, capsys, tmp_path):
    argv = ["train", "--model", "unet", "--data", "shapes?count=192&size=32", "--epochs", "2", "--name", "seg",
            "--set", "model.depth=3", "--set", "model.base_width=8", "--set", "train.batch_size=8",
            "--set", "optim.lr=3e-3", "--set", "train.progress=false", "--set", "train.tensorboard=false"]
    assert main(argv) == 0
    run = api.load_run("seg")
    m = run.summary["metrics"]
    assert m["test/miou"] > m["test/baseline_miou"] + 0.03  # measured 0.26 against 0.20
    assert 0 < m["test/baseline_pixel_accuracy"] < 1 and "test/iou_circle" in m and "valid/iou_circle" not in m
    assert (runs / "seg" / "plots" / "segmentation.png").is_file()
    # predict: a mask PNG per image, the run's classes as pixel values, the image's own size
    images = tmp_path / "new"
    images.mkdir()
    x = run.recipe.data.test.x[:2]
    for i, item in enumerate(x):
        pixels = (item * torch.tensor(run.recipe.data.meta.std).view(3, 1, 1)
                  + torch.tensor(run.recipe.data.meta.mean).view(3, 1, 1))
        Image.fromarray((pixels.clamp(0, 1) * 255).round().byte().permute(1, 2, 0).numpy()).save(images / f"{i}.png")
    capsys.readouterr()
    assert main(["predict", "seg", "--input", str(images), "--output", str(tmp_path / "masks")]) == 0
    rows = capsys.readouterr().out.strip().splitlines()
    assert rows[0] == "id,mask,share(background),share(circle),share(square),share(triangle)" and len(rows) == 3
    for i in range(2):
        written = Image.open(tmp_path / "masks" / f"{i}.png")
        assert written.mode == "P" and written.size == (32, 32)
        expected = run.recipe.predict(x[i:i + 1])["mask"][0]
        agree = (torch.from_numpy(np.array(written)).long() == expected).float().mean()
        assert agree > 0.99  # the PNG's 8-bit pixels against the float tensor: equal up to a rounding edge


def test_a_resumed_run_ends_with_the_weights_of_an_uninterrupted_one(runs):
    overrides = QUIET + TINY + ["data.augment=flip,scale,crop", "task_args.dice=0.3", "early_stop.enabled=false"]
    api.train(model="unet", data=SMALL_DATA, epochs=1, name="cut", overrides=overrides, echo=silent)
    api.train(name="cut", resume=True, epochs=2, echo=silent)
    api.train(model="unet", data=SMALL_DATA, epochs=2, name="full", overrides=overrides, echo=silent)
    assert_same_weights(weights_of(runs / "cut"), weights_of(runs / "full"))
    assert metrics_without_time(runs / "cut") == metrics_without_time(runs / "full")


def test_imagenet_weights_load_into_the_encoder_from_the_cache(runs):
    reference = save_torchvision("resnet18", "ResNet18_Weights.IMAGENET1K_V1")
    recipe = recipe_for("model.encoder=resnet18", "model.weights=imagenet")
    assert recipe.config.model.args["input_size"] == 224  # built with ImageNet's stem, recorded for config.yaml
    encoder = recipe.model.encoder
    assert torch.equal(encoder.conv1.weight, reference.conv1.weight)
    assert torch.equal(encoder.layer4[1].bn2.running_var, reference.layer4[1].bn2.running_var)
    assert any(line.startswith("encoder weights: loaded 120 of 120 tensors") for line in recipe.log_lines)
    assert recipe.model.eval()(torch.zeros(1, 3, 16, 16)).shape == (1, 4, 16, 16)


@pytest.mark.parametrize("argv, message", [
    (["--model", "unet", "--data", "digits"], "task segmentation needs a mask per image"),
    (["--model", "resnet18", "--task", "segmentation", "--data", SMALL_DATA],
     "task segmentation trains segmentation models (unet); resnet18 is not one"),
    (["--model", "unet", "--data", SMALL_DATA, "--weights", "imagenet"],
     "--weights imagenet loads torchvision's weights into a U-Net's encoder"),
    (["--model", "unet", "--data", SMALL_DATA, "--set", "task_args.dice=-1"], "a loss weight must be ≥ 0"),
    (["--model", "unet", "--data", SMALL_DATA, "--set", "task_args.dices=1"], "did you mean dice?"),
    (["--model", "unet", "--data", SMALL_DATA, "--set", "data.augment=rotate"],
     "'rotate' is not a transform that moves a mask with its image"),
    (["--model", "unet", "--data", SMALL_DATA, "--set", "model.variant=papr"], "variant 'papr' is not one of"),
])
def test_runs_that_cannot_be_are_one_line(runs, capsys, argv, message):
    assert message in one_line_error(capsys, ["train", *argv, "--epochs", "1"])
