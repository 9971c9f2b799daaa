"""The autoencoder recipe and its uses: every variant trains through ``api.train``, the AAE steps its
three players and resumes exactly, anomaly detection separates a held-out digit and planted frauds,
embed / denoise / colorize report their metrics and plots, ``deepzoo sample`` writes a grid and the
tensors, and bad inputs fail in one line."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import load_file

from deepzoo import api
from deepzoo.cli import main
from deepzoo.data import load_dataset
from deepzoo.errors import ConfigError
from tests.conftest import QUIET

VARIANTS = ["ae", "sparse_ae", "denoising_ae", "contractive_ae", "conv_ae", "vae", "aae"]
FAST = [*QUIET, "train.checkpoint=false"]
SETS = [a for q in QUIET for a in ("--set", q)]


def quiet_train(**kwargs):
    lines: list[str] = []
    run = api.train(echo=lambda *a: lines.append(" ".join(map(str, a))), **kwargs)
    return run, lines


def metric_rows(run) -> list[dict[str, float]]:
    with open(run.dir / "metrics.csv") as f:
        return [{k: float(v) for k, v in row.items() if v} for row in csv.DictReader(f)]


def one_line_error(capsys, argv) -> str:
    status = main(argv)
    err = capsys.readouterr().err.strip()
    assert status == 2, err
    assert err.startswith("deepzoo: error: ") and "\n" not in err and "Traceback" not in err
    return err


# -- reconstruct ------------------------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("variant", VARIANTS)
def test_every_variant_lowers_its_loss_on_digits(runs, variant):
    run, lines = quiet_train(model=variant, data="digits", task="reconstruct", epochs=2,
                             overrides=[*FAST, "train.batch_size=32"])
    rows = metric_rows(run)
    train_loss = "train/autoencoder/loss" if variant == "aae" else "train/loss"
    assert rows[-1][train_loss] < rows[0][train_loss]
    assert rows[-1]["valid/loss"] < rows[0]["valid/loss"]
    # digits are in [0, 1] (data_defaults normalize=none) → BCE, and the log says so
    assert any(line.startswith("reconstruction loss bce: inputs in [0, 1]") for line in lines)
    mse = run.metrics["test/mse"]
    assert 0 < mse < 0.141  # one grey level (the training mean) for every pixel gives 0.1412 on the test split


def test_default_task_keeps_images_in_unit_range(runs):
    _, lines = quiet_train(model="ae", data="digits", epochs=1, overrides=FAST)
    assert any(line.startswith("reconstruction loss bce") for line in lines)


def test_adam_defaults_to_the_family_learning_rate_unless_the_user_sets_one(runs):
    run, lines = quiet_train(model="ae", data="digits", epochs=1, overrides=FAST)
    assert run.config.optim.lr == 3e-3
    assert "autoencoder default (measured on digits): optim.lr=0.003" in lines
    run, lines = quiet_train(model="ae", data="digits", epochs=1, overrides=[*FAST, "optim.lr=1e-3"])
    assert run.config.optim.lr == 1e-3 and any(line.endswith("kept your optim.lr=0.001") for line in lines)
    run, _ = quiet_train(model="ae", data="digits", epochs=1, overrides=[*FAST, "optim.name=sgd"])
    assert run.config.optim.lr == 1e-3  # the default is Adam's; SGD keeps the global one
    run, lines = quiet_train(model="aae", data="digits", epochs=1, overrides=FAST)
    assert run.config.optim.lr == 1e-3  # the adversarial autoencoder keeps Adam's rate (see ADAM_DEFAULTS)
    assert not any("autoencoder default" in line for line in lines)


def test_standardised_data_gets_squared_error_and_a_linear_output(runs):
    run, lines = quiet_train(model="ae", data="digits", task="reconstruct", epochs=1,
                             overrides=[*FAST, "data.normalize=standard"])
    assert run.model.output == "linear"
    assert any(line.startswith("reconstruction loss mse: data range unknown (standardised)") for line in lines)


def test_only_autoencoders_train_on_autoencoder_tasks(runs):
    needle = r"task reconstruct trains autoencoders \(aae, ae, .*\); mlp is not one of them"
    with pytest.raises(ConfigError, match=needle):
        api.train(model="mlp", data="digits", task="reconstruct", epochs=1, overrides=FAST, echo=lambda *a: None)


def test_aae_phases_step_their_own_players():
    """The engine freezes all but the active player; the encoder is in two players (autoencoder and
    generator) and must get gradients in both phases — and nothing else may."""
    from deepzoo.engine.loop import _set_trainable

    cfg = api.build_config(model="aae", data="digits", task="reconstruct", overrides=FAST)
    recipe, data = api.build_recipe(cfg)
    recipe.setup(torch.device("cpu"))
    players = {name: [p for p in m.parameters() if p.requires_grad] for name, m in recipe.optimizer_modules().items()}
    model = recipe.model
    parts = {"encoder": model.encoder, "decoder": model.decoder, "discriminator": model.discriminator}
    expected = {"autoencoder": {"encoder", "decoder"}, "discriminator": {"discriminator"}, "generator": {"encoder"}}
    batch = (data.train.x[:32], data.train.y[:32])
    for phase in recipe.phases:
        model.zero_grad(set_to_none=True)
        _set_trainable(players, phase)
        recipe.training_step(batch, phase)["loss"].backward()
        moved = {name for name, part in parts.items() if any(p.grad is not None for p in part.parameters())}
        assert moved == expected[phase], phase


@pytest.mark.slow
def test_resumed_aae_ends_with_the_weights_of_an_uninterrupted_run(runs):
    common = dict(model="aae", data="digits", task="reconstruct", seed=3,
                  overrides=[*QUIET, "train.batch_size=128", "model.noise=mask"])
    quiet_train(name="full", epochs=3, **common)
    quiet_train(name="part", epochs=2, **common)
    _, lines = quiet_train(name="part", epochs=3, resume=True, overrides=QUIET)
    assert "resumed from epoch 2 (step 18)" in lines
    full, part = (load_file(str(runs / n / "model.safetensors")) for n in ("full", "part"))
    assert full.keys() == part.keys()
    assert all(torch.equal(full[k], part[k]) for k in full)
    assert (runs / "full" / "metrics.csv").read_text().count("\n") == 4


# -- anomaly -----------------------------------------------------------------------------------------
@pytest.mark.slow
def test_anomaly_separates_the_held_out_digit(runs):
    run, lines = quiet_train(model="ae", data="digits", task="anomaly", epochs=12, name="anom",
                             overrides=[*QUIET, "optim.lr=3e-3"])
    m = run.metrics
    assert m["test/roc_auc"] >= 0.9
    # precision and recall at the stored threshold, recounted here from the test items' scores ...
    test_scores = run.recipe.reconstruction_errors(run.recipe.data.test.x).cpu()
    flagged, is_zero = test_scores >= m["valid/threshold"], run.recipe.data.test.y == 0
    found = int((flagged & is_zero).sum())
    assert m["test/precision"] == pytest.approx(found / int(flagged.sum()))
    assert m["test/recall"] == pytest.approx(found / int(is_zero.sum()))
    # ... against flagging as many items at random, whose precision is the share of zeros (0.1) and recall
    # the share flagged (both beaten by the same factor, the lift): 5.7 at seed 0 (7.3 and 5.7 at seeds 1, 2)
    assert m["test/precision"] > 3 * float(is_zero.float().mean())
    assert any("class '0' of digits is the anomaly" in line for line in lines)
    # training saw normal items only; the test split kept both
    assert not bool((run.recipe.data.train.y == 0).any()) and not bool((run.recipe.data.valid.y == 0).any())
    assert int((run.recipe.data.test.y == 0).sum()) == 36  # 20% of the 178 zeros, stratified
    # the percentile threshold: 5% of the normal validation items score at least as high
    valid_scores = run.recipe.reconstruction_errors(run.recipe.data.valid.x)
    assert float((valid_scores >= m["valid/threshold"]).float().mean()) == pytest.approx(0.05, abs=0.01)
    # the threshold travels with the weights: predict flags exactly the items scoring ≥ it
    test_x = load_dataset("digits", normalize="none").test.x
    pred = api.predict("anom", test_x)
    assert torch.equal(pred["anomaly"], (pred["score"] >= m["valid/threshold"]).long())


def write_transactions(path, n: int = 1200, frauds: int = 36, text_at: int | None = None) -> None:
    """Card-like records: 8 features driven by 3 hidden factors; frauds break the correlations."""
    rng = np.random.default_rng(0)
    mixing = rng.normal(size=(3, 8))
    normal = rng.normal(size=(n - frauds, 3)) @ mixing + 0.05 * rng.normal(size=(n - frauds, 8))
    fraud = rng.normal(size=(frauds, 8)) * normal.std(0)
    x = np.concatenate([normal, fraud])
    y = np.r_[np.zeros(n - frauds, int), np.ones(frauds, int)]
    order = rng.permutation(n)
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["amount", *(f"v{j}" for j in range(1, 8)), "fraud"])
        for i, row in enumerate(order):
            cells = [f"{v:.5f}" for v in x[row]]
            if i == text_at:
                cells[2] = "n/a"
            writer.writerow([*cells, y[row]])


@pytest.mark.slow
def test_anomaly_finds_planted_frauds_in_a_csv(runs, tmp_path, capsys):
    path = tmp_path / "tx.csv"
    write_transactions(path)
    argv = ["train", "--model", "ae", "--data", f"csv:{path}?target=fraud", "--task", "anomaly", "--epochs", "15",
            "--name", "tx", "--set", "data.normalize=standard", "--set", "model.code_size=3",
            "--set", "model.hidden=[16]", "--set", "optim.lr=3e-3", "--set", "task_args.threshold=f1", *SETS]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "class '1' of tx is the anomaly" in out
    metrics = json.loads((runs / "tx" / "summary.json").read_text())["metrics"]
    assert metrics["test/roc_auc"] >= 0.95
    assert metrics["test/recall"] >= 0.5


# -- embed, denoise, colorize ---------------------------------------------------------------------------
@pytest.mark.slow
def test_embed_compares_codes_with_raw_inputs_and_pca(runs):
    from sklearn.decomposition import PCA
    from sklearn.neighbors import KNeighborsClassifier

    run, _ = quiet_train(model="ae", data="digits", task="embed", epochs=5,
                         overrides=[*FAST, "model.code_size=8", "optim.lr=3e-3"])
    m = run.metrics
    bundle = load_dataset("digits", normalize="none")
    train_x, test_x = bundle.train.x.flatten(1).numpy(), bundle.test.x.flatten(1).numpy()

    def knn(a, b):
        return KNeighborsClassifier(5).fit(a, bundle.train.y.numpy()).score(b, bundle.test.y.numpy())

    pca = PCA(8, random_state=0).fit(train_x)
    assert m["test/knn_raw_accuracy"] == pytest.approx(knn(train_x, test_x))
    assert m["test/knn_pca_accuracy"] == pytest.approx(knn(pca.transform(train_x), pca.transform(test_x)))
    assert m["test/code_dims"] == 8
    assert m["test/knn_code_accuracy"] > 0.5  # chance is 0.1


@pytest.mark.slow
def test_denoise_measures_psnr_and_draws_filters(runs):
    run, lines = quiet_train(model="denoising_ae", data="digits", task="denoise", epochs=10, overrides=FAST)
    assert "denoise: mask noise, level 0.25; the loss compares the output with the clean input" in lines
    m = run.metrics
    # masking zeroes 16 of the 64 pixels: the noisy MSE of an image is about a quarter of its mean square
    clean = run.recipe.data.test.x.flatten(1)
    expected = float((-10 * torch.log10(0.25 * clean.square().mean(1))).mean())
    assert m["test/psnr_noisy"] == pytest.approx(expected, abs=0.5)
    # the reconstructions are closer to the clean images than the noisy inputs: 12.73 → 14.42 dB at seed 0
    # (gains 1.70-1.94 dB over seeds 0-2; 2 epochs still lose to the noisy input, 11.8 dB)
    assert m["test/psnr_denoised"] > m["test/psnr_noisy"] + 1.0
    # q = 0: the "noisy" input is the clean image itself (PSNR capped at 100 dB)
    clean_run, _ = quiet_train(model="ae", data="digits", task="denoise", epochs=1,
                               overrides=[*FAST, "model.noise_level=0"])
    assert clean_run.metrics["test/psnr_noisy"] == 100.0


@pytest.mark.slow
def test_colorize_reports_psnr_against_the_grayscale_baseline(runs):
    run, lines = quiet_train(model="conv_ae", data="sample-images?crop=16&count=512", task="colorize", epochs=30,
                             overrides=FAST)
    m = run.metrics
    colour = run.recipe.data.test.x
    gray = (0.299 * colour[:, 0] + 0.587 * colour[:, 1] + 0.114 * colour[:, 2]).unsqueeze(1).expand_as(colour)
    mse = (gray - colour).square().flatten(1).mean(1)
    assert m["test/psnr_grayscale"] == pytest.approx(float((-10 * torch.log10(mse)).mean()), abs=1e-3)
    # the colours beat the grayscale copy: 24.04 → 24.84 dB at seed 0 (gains 0.80-1.38 dB over seeds 0-2;
    # 96 crops or 15 epochs still lose to it)
    assert m["test/psnr_colorized"] > m["test/psnr_grayscale"] + 0.5
    assert any(line.startswith("reconstruction loss mse: data range [-1, 1]") for line in lines)


@pytest.mark.slow
@pytest.mark.parametrize("task, model, data, files", [
    ("reconstruct", "vae", "digits", ["reconstructions.png", "samples.png", "reconstructions/epoch_001.png",
                                      "samples/epoch_001.png"]),
    ("anomaly", "ae", "digits", ["anomaly_errors.png", "reconstructions.png"]),
    ("embed", "ae", "digits", ["tsne.png"]),
    ("denoise", "denoising_ae", "digits", ["filters.png", "reconstructions.png"]),
    ("colorize", "conv_ae", "sample-images?crop=16&count=48", ["reconstructions.png"]),
])
def test_each_task_draws_its_plots(runs, task, model, data, files):
    run, _ = quiet_train(model=model, data=data, task=task, epochs=1,
                         overrides=[*QUIET, "train.checkpoint=false", "train.plots=true"])
    for name in files:
        with Image.open(run.dir / "plots" / name) as image:
            assert image.format == "PNG" and min(image.size) >= 100, name


@pytest.mark.parametrize("model, data, needle", [
    ("conv_ae", "digits", r"colorize needs colour images \(3, H, W\); digits items have shape \(1, 8, 8\)"),
    ("vae", "sample-images?crop=16&count=16", "colorize needs a model that maps 1 channel to 3"),
])
def test_colorize_refuses_what_it_cannot_do(runs, model, data, needle):
    with pytest.raises(ConfigError, match=needle):
        api.train(model=model, data=data, task="colorize", epochs=1, overrides=FAST, echo=lambda *a: None)


# -- deepzoo sample ------------------------------------------------------------------------------------
@pytest.mark.slow
def test_sample_writes_a_grid_and_the_tensors(runs, capsys):
    assert main(["train", "--model", "vae", "--data", "digits", "--task", "reconstruct", "--epochs", "1",
                 "--name", "v", *SETS]) == 0
    assert main(["sample", "v", "--n", "12", "--seed", "5"]) == 0
    first = load_file(str(runs / "v" / "samples" / "samples_seed5.safetensors"))["samples"]
    assert first.shape == (12, 1, 8, 8) and 0 <= float(first.min()) and float(first.max()) <= 1
    assert (runs / "v" / "samples" / "samples_seed5.png").is_file()
    assert main(["sample", "v", "--n", "12", "--seed", "5", "--out", "again"]) == 0
    assert torch.equal(first, load_file("again/samples_seed5.safetensors")["samples"])
    assert main(["train", "--model", "ae", "--data", "digits", "--task", "reconstruct", "--epochs", "1",
                 "--name", "a", *SETS]) == 0
    capsys.readouterr()
    assert "model ae has no prior to sample from" in one_line_error(capsys, ["sample", "a"])


# -- bad input -------------------------------------------------------------------------------------------
def test_image_folder_of_mixed_sizes_fails_in_one_line(runs, tmp_path, capsys):
    for cls, size in (("a", 8), ("b", 9)):
        (tmp_path / "imgs" / cls).mkdir(parents=True)
        for i in range(2):
            Image.new("L", (size, size), color=40 * i).save(tmp_path / "imgs" / cls / f"{i}.png")
    err = one_line_error(capsys, ["train", "--model", "conv_ae", "--data", f"imagefolder:{tmp_path / 'imgs'}",
                                  "--task", "reconstruct"])
    assert "is 9×9 pixels but" in err


def test_csv_with_text_in_a_feature_column_fails_in_one_line(runs, tmp_path, capsys):
    path = tmp_path / "tx.csv"
    write_transactions(path, n=40, frauds=4, text_at=7)
    err = one_line_error(capsys, ["train", "--model", "ae", "--data", f"csv:{path}?target=fraud",
                                  "--task", "anomaly"])
    assert "line 9" in err and "'v2'" in err and "n/a" in err
