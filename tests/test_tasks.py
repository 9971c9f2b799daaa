"""Supervised heads: losses against closed forms, metrics against scikit-learn, the refusals of the
classic mistakes, and the tutorial's problems reaching their accuracies."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from sklearn.metrics import f1_score, roc_auc_score
from torch import nn

from deepzoo import api
from deepzoo.data import DatasetMeta, RawData, build_bundle
from deepzoo.errors import ConfigError, DataError
from deepzoo.tasks.heads import TaskHead, check_no_output_squashing
from tests.conftest import QUIET


def meta(task, k=0, **kw):
    return DatasetMeta("t", task, (2,), num_classes=k, class_names=[str(i) for i in range(k)], **kw)


def test_binary_loss_is_bce_on_the_sigmoid_of_one_logit():
    head = TaskHead("binary", meta("binary", 2))
    logits, y = torch.tensor([[2.0], [-1.0]]), torch.tensor([1, 0])
    p = 1 / (1 + math.exp(-2.0)), 1 / (1 + math.exp(1.0))
    expected = -(math.log(p[0]) + math.log(1 - p[1])) / 2
    assert head.loss(logits, y).item() == pytest.approx(expected, rel=1e-6)


def test_multiclass_loss_with_label_smoothing_matches_the_formula():
    head = TaskHead("multiclass", meta("multiclass", 3), label_smoothing=0.1)
    logits, y = torch.tensor([[1.0, 2.0, 0.5]]), torch.tensor([1])
    logp = torch.log_softmax(logits, -1)[0]
    target = torch.full((3,), 0.1 / 3)
    target[1] += 0.9
    assert head.loss(logits, y).item() == pytest.approx(-(target * logp).sum().item(), rel=1e-6)


def test_multilabel_pos_weight_scales_the_positive_term():
    head = TaskHead("multilabel", meta("multilabel", 2), pos_weight=[3.0, 1.0])
    logits, y = torch.tensor([[0.0, 0.0]]), torch.tensor([[1, 0]])
    expected = (3 * math.log(2) + math.log(2)) / 2
    assert head.loss(logits, y).item() == pytest.approx(expected, rel=1e-6)


def test_binary_and_multiclass_metrics_agree_with_scikit_learn():
    rng = np.random.default_rng(0)
    y = torch.from_numpy(rng.integers(0, 3, 200))
    logits = torch.from_numpy(rng.normal(size=(200, 3))).float() + 1.5 * torch.nn.functional.one_hot(y, 3)
    m = TaskHead("multiclass", meta("multiclass", 3)).metrics(logits, y)
    pred = logits.argmax(1).numpy()
    assert m["accuracy"] == pytest.approx((pred == y.numpy()).mean(), abs=1e-6)
    assert m["f1"] == pytest.approx(f1_score(y, pred, average="macro"), abs=1e-5)
    assert m["auroc"] == pytest.approx(roc_auc_score(y, logits.softmax(1).numpy(), multi_class="ovr"), abs=1e-4)
    yb = y.clamp(max=1)
    mb = TaskHead("binary", meta("binary", 2)).metrics(logits[:, 1:2], yb)
    assert mb["auroc"] == pytest.approx(roc_auc_score(yb, logits[:, 1].numpy()), abs=1e-5)


def test_regression_metrics_are_in_target_units():
    head = TaskHead("regression", meta("regression", target_mean=[10.0], target_std=[2.0]))
    outputs, targets = torch.tensor([[0.5], [-1.0]]), torch.tensor([[0.0], [-1.0]])
    m = head.metrics(outputs, targets)  # predictions 11, 8 against 10, 8 in target units
    assert m["mse"] == pytest.approx(0.5) and m["mae"] == pytest.approx(0.5)
    assert m["loss"] == pytest.approx(0.125)  # on the standardised scale


def test_a_softmax_layer_before_the_loss_is_refused():
    with pytest.raises(ConfigError, match="ends in Softmax"):
        check_no_output_squashing(nn.Sequential(nn.Linear(2, 3), nn.Softmax(-1)))
    check_no_output_squashing(nn.Sequential(nn.Linear(2, 3)))


@pytest.mark.parametrize("task, y, message", [
    ("multiclass", np.linspace(0, 1, 20), "needs integer class labels"),
    ("binary", np.linspace(0, 1, 20), "needs integer class labels"),
    ("multilabel", np.tile([[0, 2], [1, 0]], (10, 1)), "needs a 0/1 matrix"),
    ("regression", np.array(["a", "b"] * 10), "needs numeric targets"),
])
def test_targets_that_cannot_serve_the_task_are_refused(task, y, message):
    with pytest.raises(DataError, match=message):
        build_bundle(RawData("t", np.zeros((20, 2), np.float32), y), task=task)


def test_unknown_task_option_is_refused():
    with pytest.raises(ConfigError, match="unknown task option"):
        TaskHead("binary", meta("binary", 2), treshold=0.3)


def test_the_declared_head_options_are_the_heads_keywords_with_its_defaults():
    from deepzoo.recipes.base import resolve_options
    from deepzoo.recipes.supervised import HEAD_OPTIONS

    plain = TaskHead("regression", meta("regression"))
    declared = TaskHead("regression", meta("regression"), **resolve_options("regression", HEAD_OPTIONS, {}))
    for head in (plain, declared):
        assert (head.threshold, head.label_smoothing, head.activation, head.loss_name) == (0.5, 0.0, "linear", "mse")
        assert head.class_weights is None and head.pos_weight is None


def test_a_mistyped_head_option_is_one_line_with_the_close_match(runs):
    with pytest.raises(ConfigError, match=r"^task binary: unknown task option\(s\) treshold; did you mean threshold\?"):
        api.build_recipe(api.build_config("mlp", "moons", overrides=QUIET + ["task_args.treshold=0.3"]))
    recipe, _ = api.build_recipe(api.build_config("mlp", "moons", overrides=QUIET + ["task_args.threshold=0.25"]))
    assert recipe.head.threshold == 0.25


def test_moons_binary_reaches_the_tutorials_accuracy(runs):
    run = api.train(model="mlp", data="moons", epochs=60, echo=lambda *a: None, overrides=QUIET)
    assert run.summary["task"] == "binary"
    assert run.metrics["test/accuracy"] >= 0.86


@pytest.mark.slow
def test_lenet_on_digits_reaches_97_percent(runs):
    run = api.train(model="lenet", data="digits", epochs=60, echo=lambda *a: None,
                    overrides=QUIET + ["task_args.label_smoothing=0.1"])
    assert run.metrics["test/accuracy"] >= 0.97


@pytest.mark.slow
def test_multilabel_beats_the_label_frequency_baseline_by_a_wide_margin(runs):
    run = api.train(model="cnn", data="digits-multilabel", epochs=15, echo=lambda *a: None,
                    overrides=QUIET + ["optim.lr=0.003"])
    m = run.metrics
    assert run.summary["task"] == "multilabel"
    assert m["test/map"] >= m["test/baseline_map"] + 0.4
    assert m["test/subset_accuracy"] >= m["test/baseline_subset_accuracy"] + 0.3


def test_house_prices_linear_fit_matches_the_tutorial(runs):
    run = api.train(model="linear", data="house-prices", epochs=100, echo=lambda *a: None, overrides=QUIET + [
        "data.normalize=none", "data.standardize_targets=false", "model.weight_init=-0.01", "model.bias_init=8",
        "optim.lr=0.01", "train.batch_size=12", "early_stop.enabled=false"])
    assert run.metrics["train/mse"] == pytest.approx(0.13, abs=0.02)  # the tutorial reports ≈ 0.13
