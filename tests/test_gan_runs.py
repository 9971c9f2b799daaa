"""End-to-end GAN runs (slow): exact resume, the run folder's samples, GIF, generator weights and offline
scores."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import load_file

from deepzoo import api
from deepzoo.metrics.gan import file_sha256
from tests.test_gan_training import SILENT, TINY_DCGAN, train


@pytest.mark.slow
def test_a_resumed_gan_run_matches_an_uninterrupted_one(runs):
    extra = TINY_DCGAN + ["task_args.classifier_epochs=1"]
    train("dcgan", epochs=1, name="cut", overrides=extra)
    resumed = api.train(name="cut", resume=True, epochs=2, **SILENT)
    straight = train("dcgan", epochs=2, name="straight", overrides=extra)
    for file in ("model.safetensors", "generator.safetensors"):
        a, b = load_file(str(resumed.dir / file)), load_file(str(straight.dir / file))
        assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a), file
    assert resumed.metrics["test/fcd"] == straight.metrics["test/fcd"]


@pytest.mark.slow
def test_a_run_writes_samples_gif_generator_and_offline_scores(runs):
    run = train("dcgan", epochs=2, overrides=TINY_DCGAN + ["train.plots=true", "task_args.classifier_epochs=2"])
    plots = run.dir / "plots"
    assert sorted(p.name for p in (plots / "samples").iterdir()) == ["epoch_001.png", "epoch_002.png"]
    assert Image.open(plots / "samples.gif").n_frames == 2
    for name in ("gan_training.png", "class_histogram.png"):
        assert (plots / name).is_file()
    generator = load_file(str(run.dir / "generator.safetensors"))
    own = run.model.generator.state_dict()
    assert generator.keys() == own.keys() and all(torch.equal(generator[k], own[k]) for k in own)
    evaluation = json.loads((run.dir / "evaluation.json").read_text())
    assert evaluation["classifier"]["sha256"] == file_sha256(run.dir / "classifier" / "model.safetensors")
    m = run.metrics
    for key in ("test/fcd", "test/fcd_real_floor", "test/classifier_score", "test/classifier_score_real",
                "test/mode_coverage", "test/mode_coverage_real", "valid/fcd"):
        assert key in m
    assert 0 < m["test/fcd_real_floor"] < m["test/fcd"]  # two epochs of a tiny DCGAN are far from the data
    assert m["test/mode_coverage_real"] == 1.0
    # the real digits' score, recomputed here from the run's own judge, is the baseline for the samples'
    judge = api.load_judge(run.dir / "classifier", torch.device("cpu"))
    real = run.recipe.to_raw(run.recipe.data.test.x)
    assert m["test/classifier_score_real"] == pytest.approx(classifier_score_by_hand(judge.outputs(real)[1]))
    # two epochs leave the tiny generator on one class (measured 1.00003, coverage 0.1, seeds 0-2): at the
    # closed-form floor of 1 (every sample predicted alike), below the real digits' 1.46
    assert 1.0 <= m["test/classifier_score"] < m["test/classifier_score_real"]


def classifier_score_by_hand(probs: torch.Tensor) -> float:
    """exp(mean_i KL(p(y|x_i) || p(y))) in NumPy, p(y) the mean prediction (Salimans et al. 2016, §4)."""
    p = probs.double().numpy()
    marginal = p.mean(0)
    kl = np.where(p > 0, p * np.log(np.where(p > 0, p, 1.0) / marginal), 0.0).sum(1)
    return float(np.exp(kl.mean()))
