"""Every autoencoder the registry has, two epochs on the embedded digits on the device (in the precision
auto picks there: bf16 autocast on CUDA), with the VAE drawing its reconstructions and samples."""

from __future__ import annotations

import pytest

from deepzoo import api
from deepzoo.engine.checkpoint import load_checkpoint
from deepzoo.recipes.autoencoder import autoencoder_names
from tests.conftest import QUIET
from tests.gpu.conftest import AUTO_PRECISION, assert_module_on_device, assert_run_folder, metric_rows, on_device

VARIANTS = autoencoder_names()
PLOTTED = {"vae": ("plots/reconstructions.png", "plots/samples.png", "plots/samples/epoch_002.png")}


def test_the_registry_lists_the_seven_autoencoders():
    """The parametrisation below covers every kind: a new one joins it, a lost one fails here."""
    assert set(VARIANTS) >= {"ae", "sparse_ae", "denoising_ae", "contractive_ae", "conv_ae", "vae", "aae"}


@pytest.mark.parametrize("variant", VARIANTS)
def test_each_autoencoder_lowers_its_losses_on_the_device(runs, variant):
    """Training and validation losses fall from the first epoch to the second, and the test MSE is below
    the 0.1412 of predicting the training mean for every pixel (tests/test_autoencoder_recipe.py); the
    AAE's checkpoint holds the state of its three optimizers, each of which stepped."""
    plots = PLOTTED.get(variant, ())
    quiet = [q for q in QUIET if q != "train.plots=false"] if plots else QUIET
    run = api.train(model=variant, data="digits", task="reconstruct", epochs=2, echo=lambda *a: None,
                    overrides=on_device(quiet + ["train.batch_size=32"]))
    summary = assert_run_folder(run.dir, extra=plots)
    assert summary["precision"] == AUTO_PRECISION
    rows = metric_rows(run.dir)
    train_loss = "train/autoencoder/loss" if variant == "aae" else "train/loss"
    assert rows[-1][train_loss] < rows[0][train_loss], [r[train_loss] for r in rows]
    assert rows[-1]["valid/loss"] < rows[0]["valid/loss"], [r["valid/loss"] for r in rows]
    assert 0 < run.metrics["test/mse"] < 0.141
    assert_module_on_device(run.model)
    if variant == "aae":
        optimizers = load_checkpoint(run.dir / "checkpoints" / "last.pt")["optimizers"]
        assert set(optimizers) == {"autoencoder", "discriminator", "generator"}
        assert all(o["state"] for o in optimizers.values()), "an optimizer of the AAE never stepped"
