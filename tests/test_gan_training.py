"""GAN training through the engine: frozen players, the DCGAN paper preset, k discriminator steps,
exact resume, the run's outputs and offline scores, the watchdogs, and mode coverage on the ring."""

from __future__ import annotations

import logging
import math

import pytest
import torch
import torch.nn.functional as F

import deepzoo.data.mixtures  # noqa: F401 - registers the ring dataset
from deepzoo import api
from deepzoo.data import load_dataset
from deepzoo.engine.checkpoint import load_checkpoint
from deepzoo.errors import ConfigError
from deepzoo.models import create_model
from deepzoo.recipes.gan import COLLAPSE_STEPS, GanRecipe, images_per_second
from tests.conftest import QUIET

SILENT = {"echo": lambda *a, **k: None}
NO_JUDGE = ["task_args.classifier_run=none"]
TINY_GAN = ["model.hidden=[32]", "model.latent_dim=16"]
TINY_DCGAN = ["model.g_width=8", "model.d_width=8"]


def train(model="gan", data="digits", epochs=1, overrides=(), **kwargs):
    return api.train(model=model, data=data, task="gan", epochs=epochs, overrides=QUIET + list(overrides),
                     **SILENT, **kwargs)


def recipe_for(model="gan", data="digits", overrides=()):
    cfg = api.build_config(model=model, data=data, task="gan", overrides=QUIET + list(overrides))
    return api.build_recipe(cfg)[0]


@pytest.mark.parametrize("model, extra", [("gan", TINY_GAN), ("dcgan", TINY_DCGAN)])
def test_the_frozen_player_gets_no_gradient_and_no_update(runs, monkeypatch, model, extra):
    calls = []
    original = GanRecipe.training_step

    def spy(self, batch, phase):
        players = {"generator": self.model.generator, "discriminator": self.model.discriminator}
        calls.append({
            "phase": phase,
            "params": {n: [p.detach().clone() for p in m.parameters()] for n, m in players.items()},
            "grads_none": {n: all(p.grad is None for p in m.parameters()) for n, m in players.items()},
            "trainable": {n: [p.requires_grad for p in m.parameters()] for n, m in players.items()},
        })
        return original(self, batch, phase)

    monkeypatch.setattr(GanRecipe, "training_step", spy)
    train(model, overrides=NO_JUDGE + extra + ["train.batch_size=128"])
    assert [c["phase"] for c in calls[:4]] == ["discriminator", "generator"] * 2
    for before, after in zip(calls, calls[1:]):
        active = before["phase"]
        frozen = "generator" if active == "discriminator" else "discriminator"
        assert not any(before["trainable"][frozen]) and all(before["trainable"][active])
        # the step of the active player left the frozen one bit-identical and without a gradient ...
        assert all(torch.equal(a, b) for a, b in zip(before["params"][frozen], after["params"][frozen]))
        assert after["grads_none"][frozen]
        # ... and moved the active one
        assert any(not torch.equal(a, b) for a, b in zip(before["params"][active], after["params"][active]))


def test_dcgan_trains_with_the_paper_settings(runs):
    run = train("dcgan", overrides=NO_JUDGE + TINY_DCGAN)
    assert run.config.train.batch_size == 128
    assert run.config.early_stop.enabled is False
    ckpt = load_checkpoint(run.dir / "checkpoints" / "last.pt")
    for name in ("discriminator", "generator"):
        for group in ckpt["optimizers"][name]["param_groups"]:
            assert group["lr"] == 2e-4 and tuple(group["betas"]) == (0.5, 0.999)
    x = run.recipe.data.train.x
    assert x.min().item() == -1.0 and x.max().item() == 1.0  # digits scaled to [−1, 1]
    assert run.summary["precision"] == "fp32"  # CPU
    rows = (run.dir / "metrics.csv").read_text().splitlines()[0].split(",")
    for key in ("train/discriminator/loss", "train/discriminator/d_real", "train/discriminator/d_fake",
                "train/generator/loss", "train/generator/d_fake"):
        assert key in rows


def test_settings_the_user_changed_are_kept(runs):
    recipe = recipe_for("dcgan", overrides=["optim.lr=1e-4", "train.batch_size=32", "early_stop.monitor=valid/fcd"])
    assert recipe.config.optim.lr == 1e-4 and recipe.config.train.batch_size == 32
    assert tuple(recipe.config.optim.betas) == (0.5, 0.999)
    assert recipe.config.early_stop.enabled is True
    assert "kept your optim.lr=0.0001, train.batch_size=32" in "\n".join(recipe.log_lines)


def test_k_discriminator_steps_each_read_their_own_minibatch(runs, monkeypatch):
    seen = []
    original = GanRecipe.discriminator_step

    def spy(self, real, condition):
        seen.append(real.clone())
        return original(self, real, condition)

    monkeypatch.setattr(GanRecipe, "discriminator_step", spy)
    run = train(overrides=NO_JUDGE + TINY_GAN + ["task_args.k=3", "train.batch_size=100"])
    assert run.recipe.phases == ("discriminator",) * 3 + ("generator",)
    assert [len(x) for x in seen[:3]] == [100, 100, 100]
    first = torch.cat(seen[:3]).flatten(1)
    assert len(torch.unique(first, dim=0)) == 300  # three different minibatches, not one batch thrice
    assert len(seen) == 3 * math.ceil(len(run.recipe.data.train) / 300)  # one pass of D over the data per epoch


def test_sample_uses_its_own_generator_and_the_data_units(runs):
    recipe = recipe_for(overrides=TINY_GAN)
    state = torch.get_rng_state()
    a = recipe.sample(16, torch.Generator().manual_seed(3))
    b = recipe.sample(16, torch.Generator().manual_seed(3))
    assert torch.equal(torch.get_rng_state(), state)
    assert a.shape == (16, 1, 8, 8) and torch.equal(a, b)
    assert a.min() >= -1 and a.max() <= 1  # meta.value_range of digits loaded for a GAN
    assert torch.allclose(recipe.to_raw(a), (a + 1) / 2)  # pixels


def test_dcgan_upsamples_digits_to_its_image_size(runs):
    recipe = recipe_for("dcgan", overrides=TINY_DCGAN + ["model.image_size=32"])
    x = recipe.data.train.x
    assert x.shape[1:] == (1, 32, 32)
    # repeated pixels: the judge's area downsampling gives back the 8×8 digits
    original = load_dataset("digits", normalize="symmetric").train.x
    assert torch.allclose(F.interpolate(x, size=(8, 8), mode="area"), original, atol=1e-6)
    assert any("resized from 8×8 to 32×32" in line for line in recipe.log_lines)


def test_discriminator_collapse_is_warned_once(runs, caplog):
    recipe = recipe_for(overrides=TINY_GAN)
    recipe._d_losses = [torch.tensor(0.3)] + [torch.tensor(0.01)] * (COLLAPSE_STEPS - 1)
    recipe.watch_discriminator(1)
    assert not recipe.warnings  # one step short
    recipe._d_losses = [torch.tensor(0.01)] * 5
    with caplog.at_level(logging.WARNING, logger="deepzoo"):
        recipe.watch_discriminator(2)
        recipe._d_losses = [torch.tensor(0.01)] * 5
        recipe.watch_discriminator(3)
    assert len(recipe.warnings) == 1 and "discriminator collapse by epoch 2" in recipe.warnings[0]
    assert "discriminator collapse" in caplog.text


def test_mode_collapse_is_warned(runs):
    recipe = recipe_for(overrides=TINY_GAN)
    recipe.watch_modes({"mode_coverage": 0.3, "mode_coverage_real": 1.0})
    assert len(recipe.warnings) == 1 and "mode collapse" in recipe.warnings[0]
    recipe.watch_modes({"mode_coverage": 0.9, "mode_coverage_real": 1.0})
    assert len(recipe.warnings) == 1


def test_precision_timing_leaves_the_model_and_the_rng_alone():
    pair = create_model("dcgan", image_size=8, channels=1, g_width=8, d_width=8)
    before = {k: v.clone() for k, v in pair.state_dict().items()}
    real = torch.rand(16, 1, 8, 8) * 2 - 1
    state = torch.get_rng_state()
    rate = images_per_second(pair, real, "fp32", steps=2, warmup=1)
    assert rate > 0
    assert torch.equal(torch.get_rng_state(), state)
    assert all(torch.equal(v, before[k]) for k, v in pair.state_dict().items())


def test_precision_is_fp32_on_cpu_unless_the_user_chose(runs):
    assert recipe_for(overrides=TINY_GAN).preferred_precision == "fp32"
    assert getattr(recipe_for(overrides=TINY_GAN + ["train.precision=bf16"]), "preferred_precision", None) is None


@pytest.mark.parametrize("overrides, message", [
    (["data.normalize=standard"], "needs data in \\[-1, 1\\]"),
    (["task_args.k=0"], "at least one step"),
    (["task_args.label_smoothing=0.6"], "label_smoothing"),
])
def test_user_mistakes_are_one_line_errors(runs, overrides, message):
    with pytest.raises(ConfigError, match=message):
        recipe_for(overrides=overrides)


def test_srgan_is_not_trained_as_an_unconditional_gan(runs):
    with pytest.raises(ConfigError, match="srgan is not one of them"):
        recipe_for("srgan", data="sample-images?crop=16&count=32")


def test_the_preset_keeps_a_value_the_user_gave_even_when_it_is_the_config_default(runs):
    from deepzoo.config import RunConfig

    default_lr = RunConfig().optim.lr
    recipe = recipe_for("dcgan", overrides=[f"optim.lr={default_lr}"])
    assert recipe.config.optim.lr == default_lr
    assert f"kept your optim.lr={default_lr}" in "\n".join(recipe.log_lines)
