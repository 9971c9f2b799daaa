"""The learning-rate range test: schedule, smoothing and the suggestion rules checked by hand, and a
real run that gives the model back with its initial weights."""

from __future__ import annotations

import csv
import math

import numpy as np
import pytest
import torch

from deepzoo import api, cli
from deepzoo.errors import ConfigError
from deepzoo.recipes.base import Recipe
from deepzoo.runtime import seed_everything
from deepzoo.tune.lr_find import LRFindResult, lr_range_test, lr_schedule, smooth, steepest_lr
from tests.conftest import QUIET


def test_schedule_is_geometric_from_start_to_end():
    lrs = lr_schedule(1e-7, 10.0, 100)  # fastai's defaults
    assert len(lrs) == 100 and lrs[0] == pytest.approx(1e-7) and lrs[-1] == pytest.approx(10.0)
    ratios = np.array(lrs[1:]) / np.array(lrs[:-1])
    assert ratios == pytest.approx(np.full(99, 10 ** (8 / 99)))
    with pytest.raises(ConfigError, match="need 0 < start < end"):
        lr_schedule(1.0, 0.1, 10)


def test_smoothing_is_a_bias_corrected_moving_average():
    # beta 0.5: a = 0.5, 1.25, 2.125; divided by 1 - 0.5^(i+1) = 0.5, 0.75, 0.875
    assert smooth([1.0, 2.0, 3.0], beta=0.5) == pytest.approx([1.0, 5 / 3, 17 / 7])
    assert smooth([2.0] * 5) == pytest.approx([2.0] * 5)  # no pull towards 0 at the start


def test_suggestion_rules_by_hand():
    lrs = [10.0 ** k for k in range(-6, 1)]  # one decade per step
    smoothed = [5, 5, 4, 1, 0.5, 0.4, 2]
    # central differences before the minimum (index 5): 0, -0.5, -2.0, -1.75, -0.3, -0.1 → steepest at index 2
    assert steepest_lr(lrs, smoothed) == lrs[2]
    result = LRFindResult(lrs, smoothed, smoothed, minimum_lr=lrs[5], steepest_lr=lrs[2], stopped="")
    assert result.suggestion == pytest.approx(1e-2)  # the minimum's lr (0.1) / 10
    assert steepest_lr(lrs, [1, 2, 3, 4, 5, 6, 7]) is None  # lowest at the start: nothing fell


@pytest.fixture
def moons_recipe(runs):
    """The moons MLP, initialised from seed 0 as a run would be (not from whatever the global RNG
    holds after the tests before it)."""
    config = api.build_config("mlp", "moons", overrides=QUIET)
    seed_everything(config.seed)
    recipe, _ = api.build_recipe(config)
    return recipe, config


def test_range_test_restores_weights_and_stops_on_divergence(moons_recipe):
    recipe, config = moons_recipe
    before = {k: v.clone() for k, v in recipe.model.state_dict().items()}
    rng = torch.get_rng_state()
    result = lr_range_test(recipe, config)  # 1e-7 → 10 over 100 steps
    after = recipe.model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert torch.equal(torch.get_rng_state(), rng)
    # lr 10 is far too high for Adam on moons: the smoothed loss passes 4× its best before the end
    n = len(result.lrs)
    assert n < 100 and result.smoothed[-1] > 4 * min(result.smoothed)
    assert all(result.smoothed[i] <= 4 * min(result.smoothed[: i + 1]) for i in range(n - 1))
    assert result.lrs == pytest.approx(lr_schedule(1e-7, 10.0, 100)[:n])
    assert result.minimum_lr == result.lrs[int(np.argmin(result.smoothed))]
    assert result.suggestion == pytest.approx(result.minimum_lr / 10)
    assert result.steepest_lr is not None and result.steepest_lr <= result.minimum_lr


def test_range_test_runs_to_the_end_without_divergence(moons_recipe):
    recipe, config = moons_recipe
    result = lr_range_test(recipe, config, start=1e-6, end=1e-4, steps=20)
    assert len(result.lrs) == 20 and result.stopped == "reached lr 0.0001"


def test_range_test_needs_one_optimizer(moons_recipe):
    _, config = moons_recipe

    class TwoPlayers(Recipe):
        phases = ("discriminator", "generator")

    with pytest.raises(ConfigError, match="one optimizer; task .* steps discriminator, generator"):
        lr_range_test(TwoPlayers(config, None), config)


def test_lr_find_command_writes_plot_and_record(runs, tmp_path, capsys):
    out = tmp_path / "lr.png"
    assert cli.main(["lr-find", "--model", "mlp", "--data", "moons", "--steps", "40", "--out", str(out)]) == 0
    assert out.stat().st_size > 0
    with out.with_suffix(".csv").open() as f:
        rows = list(csv.DictReader(f))
    lowest = min(rows, key=lambda r: float(r["smoothed"]))
    printed = capsys.readouterr().out
    assert f"suggested learning rate: {float(lowest['lr']) / 10:.3g}" in printed
    assert "the learning rate at the smoothed loss's minimum / 10" in printed
    assert all(math.isfinite(float(r["loss"])) for r in rows)
