"""Self-supervised runs end to end through ``api.train``: every task learns, the summary carries the
evaluation protocol, and the evaluation leaves the trained encoder bit-identical."""

from __future__ import annotations

import csv
import json
import math

import pytest
import torch

from deepzoo import api
from deepzoo.errors import ConfigError
from tests.conftest import QUIET

TASKS = ("simclr", "rotation", "jigsaw", "relpatch", "exemplar")
SMALL = QUIET + ["model.width=8", "task_args.evaluate=false", "early_stop.enabled=false", "train.checkpoint=false"]
# MNIST-1D with half of its training part held out: 2000 training signals
SMALL_MNIST1D = ["data.valid_fraction=0.5"]


def _losses(run) -> list[float]:
    with open(run.dir / "metrics.csv") as f:
        return [float(row["train/loss"]) for row in csv.DictReader(f)]


def pretext_chance(run) -> float:
    """The pretext accuracy of guessing: one over the classes of the pretext head (4 rotations, P
    permutations, 8 or 2 positions, N seeds), or for SimCLR one over the 2B - 1 other views of a batch."""
    if run.summary["task"] == "simclr":
        return 1 / (2 * run.config.train.batch_size - 1)
    return 1 / [m for m in run.recipe.model.modules() if isinstance(m, torch.nn.Linear)][-1].out_features


def guess_ceiling(chance: float, n: int) -> float:
    """What guessing reaches on ``n`` items at most, but for one time in a thousand: chance plus three
    binomial standard errors."""
    return chance + 3 * math.sqrt(chance * (1 - chance) / n)


# every task on images; on signals SimCLR (the shift/scale/noise views) and the jigsaw (nine segments)
CASES = [(task, "digits") for task in TASKS] + [("simclr", "mnist1d"), ("jigsaw", "mnist1d")]
# Exemplar learns its surrogate classes slowly: 200 seeds x 4 copies stayed at chance (0.005-0.015) for
# 10 epochs; 50 seeds x 16 copies at lr 1e-2 reach 0.20-0.26 in 10 epochs (seeds 0-2), 0.3 s a run
EXEMPLAR = ["task_args.seeds=50", "task_args.copies=16", "optim.lr=1e-2"]


@pytest.mark.slow
@pytest.mark.parametrize(("task", "data"), CASES)
def test_each_task_trains_and_its_loss_goes_down(runs, task, data):
    extra = SMALL_MNIST1D if data == "mnist1d" else []
    extra += EXEMPLAR if task == "exemplar" else []
    epochs = 10 if task == "exemplar" else 3
    run = api.train(model="cnn", data=data, task=task, epochs=epochs, echo=lambda *a: None, overrides=SMALL + extra)
    losses = _losses(run)
    assert len(losses) == epochs and losses[-1] < losses[0]
    assert run.summary["task"] == task
    # the head learned its pretext task: above what guessing reaches on the validation items (one
    # prediction per item or seed; measured over seeds 0-2 against this ceiling: simclr 0.09-0.12 (0.023),
    # rotation 0.59-0.62 (0.33), jigsaw 0.70-0.75 (0.028), relpatch 0.40-0.46 (0.18), exemplar 0.20-0.26
    # (0.079); on MNIST-1D simclr 0.26-0.30 (0.014), jigsaw 0.136-0.18 (0.120))
    items = run.config.task_args["seeds"] if task == "exemplar" else len(run.recipe.data.valid)
    assert run.metrics["valid/pretext_accuracy"] > guess_ceiling(pretext_chance(run), items)


@pytest.mark.slow
def test_summary_reports_the_evaluation_protocol_and_its_baselines(runs):
    overrides = QUIET + ["model.width=8", "train.plots=true", "task_args.finetune_epochs=3",
                         "task_args.supervised_epochs=3", "task_args.probe_steps=50"]
    run = api.train(model="cnn", data="digits", task="simclr", epochs=2, echo=lambda *a: None, overrides=overrides)
    metrics = json.loads((run.dir / "summary.json").read_text())["metrics"]
    # two SimCLR epochs improve on the same encoder at initialisation, under both probes (seed 0: linear
    # 0.731 against 0.692, kNN 0.675 against 0.614; seeds 1-2: +0.07 to +0.10 linear, +0.05 kNN); with
    # no training at all the two would be equal
    assert metrics["test/linear_accuracy"] > metrics["test/random_linear_accuracy"] + 0.02
    assert metrics["test/knn_accuracy"] > metrics["test/random_knn_accuracy"] + 0.02
    # every other protocol entry learned the ten balanced classes: above guessing on the 360 test digits
    # (0.147; measured at seed 0: pixels 0.936, fine-tuned 0.28 / 0.48 / 0.43, supervised 0.52)
    ceiling = guess_ceiling(0.1, len(run.recipe.data.test))
    for name in ("raw_linear_accuracy", "finetune_1pct_accuracy", "finetune_10pct_accuracy",
                 "finetune_100pct_accuracy", "supervised_accuracy"):
        assert metrics[f"test/{name}"] > ceiling, name
    assert (run.dir / "plots" / "pretext_examples.png").is_file()
    assert (run.dir / "plots" / "evaluation.png").is_file()


@pytest.mark.slow
def test_the_evaluation_leaves_every_encoder_tensor_and_buffer_unchanged(runs):
    cfg = api.build_config("cnn", "digits", "simclr", overrides=[
        "model.width=8", "task_args.finetune_epochs=1", "task_args.supervised_epochs=1", "task_args.probe_steps=20"])
    recipe, _ = api.build_recipe(cfg)
    recipe.setup(torch.device("cpu"))
    recipe.model.train()
    with torch.no_grad():  # non-trivial batch-norm statistics, as after training
        for m in recipe.model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.5, 0.5)
    before = {k: v.clone() for k, v in recipe.model.state_dict().items()}
    metrics = recipe.evaluate_representation()
    assert "test/linear_accuracy" in metrics and "test/finetune_100pct_accuracy" in metrics
    after = recipe.model.state_dict()
    assert before.keys() == after.keys()
    assert all(torch.equal(before[k], after[k]) for k in before), "the evaluation changed the encoder"
    assert all(m.training for m in recipe.model.modules())  # its mode is restored too


def test_random_baseline_is_the_encoder_at_initialisation(runs):
    cfg = api.build_config("cnn", "digits", "rotation", overrides=["model.width=8"])
    recipe, _ = api.build_recipe(cfg)
    initial = {k: v.clone() for k, v in recipe.model.encoder.state_dict().items()}
    with torch.no_grad():
        for p in recipe.model.encoder.parameters():
            p.add_(1.0)  # as if trained
    random_model = recipe.initial_model()
    assert all(torch.equal(initial[k], v) for k, v in random_model.encoder.state_dict().items())


def test_unknown_task_option_names_the_closest(runs):
    with pytest.raises(ConfigError, match="did you mean temperature"):
        api.build_recipe(api.build_config("cnn", "digits", "simclr", overrides=["task_args.temprature=0.2"]))


@pytest.mark.slow
@pytest.mark.parametrize("task", ["simclr", "relpatch"])
def test_rgb_images_without_labels_train_and_skip_the_evaluation(runs, task):
    lines: list[str] = []
    run = api.train(model="cnn", data="sample-images", task=task, epochs=1, echo=lines.append,
                    overrides=SMALL[:-3] + ["data.count=96", "data.crop=32", "early_stop.enabled=false"])
    assert "test/linear_accuracy" not in run.metrics
    assert any("no class labels" in line for line in lines)
    if task == "relpatch":
        assert any("channel dropping" in line for line in lines)


@pytest.mark.slow
def test_lars_with_warmup_and_cosine_trains_simclr(runs):
    overrides = SMALL + ["optim.name=lars", "optim.lr=1.0", "optim.weight_decay=1e-6", "sched.name=cosine",
                         "sched.warmup_epochs=1", "train.batch_size=128"]
    run = api.train(model="cnn", data="digits", task="simclr", epochs=3, echo=lambda *a: None, overrides=overrides)
    losses = _losses(run)
    assert losses[-1] < losses[0]


@pytest.mark.slow
def test_an_image_folder_trains_and_is_evaluated(runs, tmp_path):
    from PIL import Image

    g = torch.Generator().manual_seed(0)
    for label, tint in (("red", 0), ("blue", 2)):
        (tmp_path / "photos" / label).mkdir(parents=True)
        for i in range(15):
            pixels = torch.rand(12, 12, 3, generator=g) * 0.3
            pixels[..., tint] += 0.7
            Image.fromarray((pixels * 255).byte().numpy()).save(tmp_path / "photos" / label / f"{i}.png")
    overrides = SMALL[:-3] + ["early_stop.enabled=false", "task_args.finetune=false", "task_args.supervised=false",
                              "task_args.probe_steps=50", "train.batch_size=8"]
    run = api.train(model="cnn", data=f"imagefolder:{tmp_path / 'photos'}", task="simclr", epochs=1,
                    echo=lambda *a: None, overrides=overrides)
    assert run.metrics["test/raw_linear_accuracy"] == 1.0  # the two tints are linearly separable
    # ... and stay apart in the features, trained or random: kNN names all 6 test images (seeds 0-2)
    assert run.metrics["test/knn_accuracy"] == run.metrics["test/random_knn_accuracy"] == 1.0


def test_a_finished_run_gives_features_without_its_data(runs):
    run = api.train(model="cnn", data="digits", task="exemplar", epochs=1, name="ex", echo=lambda *a: None,
                    overrides=SMALL + ["task_args.seeds=40", "task_args.copies=1"])
    assert run.config.task_args["seeds"] == 40  # written back, so the head's size is known without data
    x = torch.rand(5, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    features = api.predict("ex", x)["features"]  # rebuilt from config.yaml, meta.json and the weights
    assert features.shape == (5, run.recipe.model.num_features)
    assert torch.allclose(features, run.recipe.predict(x)["features"], atol=1e-6)


@pytest.mark.parametrize(("model", "size"), [("cnn", None), ("mlp", (8,))])
def test_tile_trained_encoders_see_whole_inputs(runs, model, size):
    cfg = api.build_config(model, "mnist1d", "jigsaw", overrides=["data.valid_fraction=0.9"])
    recipe, _ = api.build_recipe(cfg)
    assert recipe.layout.side == 90 and recipe.encoder_shape() == (1, 8)  # 40 samples upsampled, 8-sample tiles
    assert recipe.model.feature_size == size  # a convnet takes the whole signal, an MLP only a tile's size
    assert recipe.model.features(torch.rand(3, 1, 40)).shape == (3, recipe.model.num_features)
    assert any("resized" in line for line in recipe.log_lines) == (model == "mlp")


@pytest.mark.slow
def test_a_resumed_run_draws_the_same_views_and_ends_with_the_same_weights(runs):
    overrides = QUIET + ["model.width=8", "task_args.evaluate=false", "early_stop.enabled=false"]
    whole = api.train(model="cnn", data="digits", task="simclr", epochs=2, name="whole", echo=lambda *a: None,
                      overrides=overrides)
    api.train(model="cnn", data="digits", task="simclr", epochs=1, name="parts", echo=lambda *a: None,
              overrides=overrides)
    resumed = api.train(name="parts", epochs=2, resume=True, echo=lambda *a: None)
    expected, got = whole.recipe.model.state_dict(), resumed.recipe.model.state_dict()
    assert all(torch.equal(expected[k], got[k]) for k in expected)
