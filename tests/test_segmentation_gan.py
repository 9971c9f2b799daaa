"""The segmentation GAN (Luc et al. 2016): what the adversary reads, the losses against hand values, the
frozen players, the defaults, λ = 0 as the plain segmentation task, exact resume, the one-line errors,
and ``deepzoo explain`` finding the segmentation and image-to-image pages."""

from __future__ import annotations

import json
import math

import pytest
import torch
from safetensors.torch import load_file

from deepzoo import api
from deepzoo.cli import main
from deepzoo.data.segmentation import IGNORE_INDEX
from deepzoo.recipes.segmentation_gan import SegmentationGanRecipe, label_map
from deepzoo.run.training import build_config, build_recipe
from tests.conftest import QUIET
from tests.test_run_safety import assert_same_weights, metrics_without_time, one_line_error, silent, weights_of

pytestmark = pytest.mark.usefixtures("one_thread")

DATA = "shapes?count=24&size=16"
TINY = ["model.depth=2", "model.base_width=4", "train.batch_size=8", "task_args.d_width=4", "task_args.d_layers=2"]
TASK = "segmentation-gan"


def recipe_for(*overrides: str, task: str = TASK):
    recipe = build_recipe(build_config(model="unet", data=DATA, task=task, overrides=[*QUIET, *TINY, *overrides]))[0]
    recipe.setup(torch.device("cpu"))
    return recipe


def softplus(v: float) -> float:
    """−log σ(−v): BCE with logits of a logit v against target 0 is softplus(v), against 1 softplus(−v)."""
    return math.log1p(math.exp(v))


def test_the_adversary_reads_the_truth_one_hot_and_the_prediction_as_softmax():
    recipe = recipe_for()
    x, y = recipe.data.train.x[:2], recipe.data.train.y[:2].clone()
    y[0, 0, :3] = IGNORE_INDEX
    seen = []
    recipe.model.discriminator.register_forward_pre_hook(lambda module, args: seen.append(args[0].detach()))
    recipe.model.train()
    recipe.training_step((x, y), "discriminator")
    real, fake = seen
    assert real.shape == fake.shape == (2, 3 + 4, 16, 16)
    assert torch.equal(real[:, :3], x) and torch.equal(fake[:, :3], x)  # the image, then the label map
    labelled = y != IGNORE_INDEX
    for c in range(4):  # the truth: class c's plane is 1 exactly where the mask says c
        assert torch.equal(real[:, 3 + c], (y == c).float())
    scores = recipe.model.generator(x)  # the same forward in training mode: batch statistics, the same scores
    assert torch.allclose(fake[:, 3:], scores.softmax(1) * labelled.unsqueeze(1), atol=1e-6)
    assert torch.all(real[0, 3:, 0, :3] == 0) and torch.all(fake[0, 3:, 0, :3] == 0)  # ignored: zero in both
    assert torch.allclose(fake[:, 3:].sum(1), labelled.float(), atol=1e-6)
    # the function on its own: 2 classes, one ignored pixel
    mask = torch.tensor([[[1, 0, IGNORE_INDEX]]])
    logits = torch.tensor([[[[0.0, 0.0, 5.0]], [[math.log(3), 0.0, 0.0]]]])
    ok = mask != IGNORE_INDEX
    assert label_map(mask, 2, ok).tolist() == [[[[0.0, 1.0, 0.0]], [[1.0, 0.0, 0.0]]]]
    assert torch.allclose(label_map(logits, 2, ok), torch.tensor([[[[0.25, 0.5, 0.0]], [[0.75, 0.5, 0.0]]]]))


def test_the_losses_equal_their_hand_computed_values():
    recipe = recipe_for()
    d, g = recipe.model.discriminator, recipe.model.generator
    scores = torch.tensor([0.0, 1.0, math.log(3), -1.0])
    with torch.no_grad():  # D answers 0.5 on every patch; G scores every pixel (0, 1, ln 3, −1)
        d.net[-1].weight.zero_(), d.net[-1].bias.fill_(0.5)
        g.head.weight.zero_(), g.head.bias.copy_(scores)
    x, y = recipe.data.train.x[:4], recipe.data.train.y[:4].clone()
    y[:, 0] = IGNORE_INDEX  # a row of ignored pixels counts for nothing
    out_d = recipe.training_step((x, y), "discriminator")
    assert out_d["loss"].item() == pytest.approx(softplus(-0.5) + softplus(0.5), rel=1e-6)
    out_g = recipe.training_step((x, y), "generator")
    labelled = y[y != IGNORE_INDEX].long()
    log_z = math.log(sum(math.exp(s) for s in scores.tolist()))
    cross_entropy = float(sum(log_z - scores[c] for c in labelled.tolist())) / len(labelled)
    assert out_g["segmentation_loss"].item() == pytest.approx(cross_entropy, rel=1e-5)
    assert out_g["adversarial"].item() == pytest.approx(softplus(-0.5), rel=1e-6)
    assert out_g["loss"].item() == pytest.approx(cross_entropy + 0.01 * softplus(-0.5), rel=1e-5)


def test_the_defaults_follow_the_paper_and_the_segmentation_task():
    recipe = build_recipe(build_config(model="unet", data="shapes?count=24", task=TASK, overrides=QUIET))[0]
    plain = build_recipe(build_config(model="unet", data="shapes?count=24", overrides=QUIET))[0]
    assert recipe.adversarial_weight == 0.01 and recipe.phases == ("discriminator", "generator")
    assert recipe.reuse_fakes and not recipe.saturating and recipe.real_label == 1.0
    d = recipe.model.discriminator
    assert d.receptive_field == 70 and d.net[0].in_channels == 3 + 4 and d.net[0].out_channels == 64
    assert sum(isinstance(m, torch.nn.BatchNorm2d) for m in d.modules()) == 3
    weights = torch.cat([m.weight.detach().flatten() for m in d.modules() if isinstance(m, torch.nn.Conv2d)])
    assert float(weights.std()) == pytest.approx(0.02, abs=5e-4)  # N(0, 0.02), as pix2pix's
    assert recipe.model.generator.head.out_channels == 4 and recipe.map_size == (64, 64)
    # no preset: the optimizer, schedule, batch and early stopping are the segmentation task's
    for section in ("optim", "sched", "train", "early_stop"):
        assert getattr(recipe.config, section) == getattr(plain.config, section), section
    assert recipe.default_monitor == plain.default_monitor == "valid/miou" and recipe.config.early_stop.enabled


def test_the_frozen_player_is_bit_identical_after_the_other_players_step(runs, monkeypatch):
    calls = []
    original = SegmentationGanRecipe.training_step

    def spy(self, batch, phase):
        players = {"generator": self.model.generator, "discriminator": self.model.discriminator}
        calls.append((phase, {n: [p.detach().clone() for p in m.parameters()] for n, m in players.items()},
                      {n: [p.requires_grad for p in m.parameters()] for n, m in players.items()}))
        return original(self, batch, phase)

    monkeypatch.setattr(SegmentationGanRecipe, "training_step", spy)
    api.train(model="unet", data=DATA, task=TASK, epochs=1, overrides=QUIET + TINY, echo=silent)
    assert [c[0] for c in calls[:4]] == ["discriminator", "generator"] * 2 and len(calls) == 4
    for (active, before, trainable), (_, after, _) in zip(calls, calls[1:]):
        frozen = "generator" if active == "discriminator" else "discriminator"
        assert not any(trainable[frozen]) and all(trainable[active])
        assert all(torch.equal(a, b) for a, b in zip(before[frozen], after[frozen]))
        assert any(not torch.equal(a, b) for a, b in zip(before[active], after[active]))


def test_without_the_adversarial_term_it_trains_the_plain_segmentation_network(runs):
    overrides = QUIET + TINY + ["data.augment=flip,crop"]
    gan = api.train(model="unet", data=DATA, task=TASK, epochs=2, name="gan", echo=silent,
                    overrides=overrides + ["task_args.adversarial_weight=0"])
    plain = api.train(model="unet", data=DATA, epochs=2, name="plain", echo=silent,
                      overrides=[o for o in overrides if not o.startswith("task_args.d_")])
    network = load_file(str(runs / "gan" / "generator.safetensors"))  # the segmentation network alone
    assert_same_weights(network, weights_of(runs / "plain"))
    assert all(gan.metrics[k] == plain.metrics[k] for k in plain.metrics if k.startswith("test/"))
    # the finished run loads as one pair and predicts masks as any segmentation run
    loaded = api.load_run("gan")
    assert loaded.recipe.predict(gan.recipe.data.test.x[:2])["mask"].shape == (2, 16, 16)
    evaluation = json.loads((runs / "gan" / "evaluation.json").read_text())
    assert evaluation["adversarial_weight"] == 0 and evaluation["task"] == TASK


def test_a_resumed_run_ends_with_the_weights_of_an_uninterrupted_one(runs):
    overrides = QUIET + TINY + ["data.augment=flip,scale,crop", "task_args.adversarial_weight=0.5",
                                "early_stop.enabled=false"]
    api.train(model="unet", data=DATA, task=TASK, epochs=1, name="cut", overrides=overrides, echo=silent)
    api.train(name="cut", resume=True, epochs=2, echo=silent)
    api.train(model="unet", data=DATA, task=TASK, epochs=2, name="full", overrides=overrides, echo=silent)
    assert_same_weights(weights_of(runs / "cut"), weights_of(runs / "full"))
    assert metrics_without_time(runs / "cut") == metrics_without_time(runs / "full")


@pytest.mark.parametrize("argv, message", [
    (["--model", "resnet18", "--data", DATA], "task segmentation-gan trains segmentation models (unet); resnet18 is"),
    (["--model", "unet", "--data", "digits"], "task segmentation-gan needs a mask per image"),
    (["--model", "unet", "--data", DATA, "--set", "task_args.adversarial_weight=-1"], "a loss weight must be ≥ 0"),
    (["--model", "unet", "--data", DATA, "--set", "task_args.adversarial_wieght=1"], "did you mean adversarial_weight"),
    (["--model", "unet", "--data", DATA], "task_args.d_layers=3: the PatchGAN's 3 halvings leave no patch of a 16×16"),
    (["--model", "unet", "--data", DATA, "--set", "task_args.d_layers=0"], "n_layers=0 must be at least 1"),
])
def test_runs_that_cannot_be_are_one_line(runs, capsys, argv, message):
    assert message in one_line_error(capsys, ["train", "--task", TASK, *argv, "--epochs", "1"])


@pytest.mark.parametrize("query, page", [("segment images", "docs/segmentation.md"),
                                         ("image to image translation", "docs/image_to_image.md")])
def test_explain_finds_the_pages(capsys, query, page):
    assert main(["explain", *query.split(), "--json", "--top", "3"]) == 0
    sources = [hit["source"] for hit in json.loads(capsys.readouterr().out)["hits"]]
    assert page in sources and [s for s in sources if s.startswith("docs/")][0] == page

