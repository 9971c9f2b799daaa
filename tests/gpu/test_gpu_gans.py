"""GANs on the device: the MLP GAN and the DCGAN on the embedded digits (the DCGAN with its judge classifier
and plots), then SRResNet pre-training and SRGAN fine-tuning on photo crops."""

from __future__ import annotations

import json

import torch
from safetensors.torch import load_file

from deepzoo import api
from tests.conftest import QUIET
from tests.gpu.conftest import DEVICE, assert_module_on_device, assert_run_folder, metric_rows, on_device

#: a learning rate of 1e-3 and batches of 32 (the presets: 2e-4, and 64 or 128) move the generators within
#: three epochs (measured on the CPU, seeds 0-2: mean-image gap 0.65-0.70 untrained → 0.24-0.34 trained)
FAST = ["optim.lr=1e-3", "train.batch_size=32"]
TINY = {"gan": ["model.hidden=[32]", "model.latent_dim=16"], "dcgan": ["model.g_width=8", "model.d_width=8"]}
SR_TINY = ["model.scale=2", "model.num_blocks=1", "model.width=16"]
#: 96 crops split 60 / 16 / 20: batches of 16 leave a last training batch of 12 (a last batch of one
#: item stops SRGAN in its discriminator's last BatchNorm2d, a 1×1 map at 16 px, as 128 crops would:
#: 81 training crops = 5 × 16 + 1)
SR_DATA = "sample-images?crop=16&count=96"


def mean_image_gap(recipe, n: int = 512) -> float:
    """RMS distance between the mean of ``n`` generated images and the mean test image (model units): an
    untrained generator's grey images sit far from the digits' dark background, a trained one's close."""
    fake = recipe.sample(n, torch.Generator().manual_seed(0))
    real = recipe.data.test.x.to(fake.device)
    return float((fake.mean(0) - real.mean(0)).square().mean().sqrt())


def untrained_gap(model: str, overrides: list[str]) -> float:
    """:func:`mean_image_gap` of the same GAN at initialisation, on the device (the baseline to beat)."""
    recipe, _ = api.build_recipe(api.build_config(model=model, data="digits", task="gan", overrides=overrides))
    recipe.setup(torch.device(DEVICE))
    return mean_image_gap(recipe)


def test_mlp_gan_moves_its_samples_towards_the_digits(runs):
    """Three epochs of the MLP GAN: the mean generated image is much closer to the digits' than at
    initialisation, both players' losses are logged, and the pair lives on the device."""
    overrides = on_device(QUIET + TINY["gan"] + FAST + ["task_args.classifier_run=none"])
    before = untrained_gap("gan", overrides)
    run = api.train(model="gan", data="digits", task="gan", epochs=3, echo=lambda *a: None, overrides=overrides)
    assert_run_folder(run.dir, extra=("generator.safetensors", "evaluation.json"))
    assert mean_image_gap(run.recipe) < 0.6 * before
    assert {"train/discriminator/loss", "train/generator/loss"} <= set(metric_rows(run.dir)[0])
    assert_module_on_device(run.model)


def test_dcgan_trains_and_its_judge_scores_samples_on_the_device(runs):
    """Three epochs of a small DCGAN with a judge classifier trained on the fly on the device: the samples'
    mean image moves towards the digits', the offline scores are finite with the real-vs-real floor
    below the samples' distance, and the sample grids, GIF and histograms are drawn from device tensors."""
    overrides = on_device([q for q in QUIET if q != "train.plots=false"] + TINY["dcgan"] + FAST
                          + ["task_args.classifier_epochs=1"])
    before = untrained_gap("dcgan", overrides + ["task_args.classifier_run=none"])
    run = api.train(model="dcgan", data="digits", task="gan", epochs=3, name="dcgan", echo=lambda *a: None,
                    overrides=overrides)
    plots = ["plots/samples/epoch_003.png", "plots/samples.gif", "plots/gan_training.png",
             "plots/class_histogram.png"]
    summary = assert_run_folder(run.dir, extra=("generator.safetensors", "evaluation.json",
                                                "classifier/model.safetensors", *plots))
    assert mean_image_gap(run.recipe) < 0.75 * before
    m = summary["metrics"]
    assert 0 < m["test/fcd_real_floor"] < m["test/fcd"]
    assert m["test/classifier_score_real"] >= 1.0  # exp(mean KL) is at least 1 (Salimans et al. 2016, §4)
    assert json.loads((run.dir / "evaluation.json").read_text())["classifier"] is not None
    assert_module_on_device(run.model)


def test_srresnet_then_srgan_on_the_device(runs):
    """SRResNet pre-training raises the validation PSNR and lowers the content loss over three epochs;
    SRGAN fine-tuning from its weights changes the generator, logs both parts of its loss and raises the
    PSNR further; both folders hold the generator file."""
    pre = api.train(model="srgan", data=SR_DATA, task="sr", epochs=3, name="srresnet", echo=lambda *a: None,
                    overrides=on_device(QUIET + SR_TINY + ["optim.lr=1e-3"]))
    assert_run_folder(pre.dir, extra=("generator.safetensors", "evaluation.json"))
    rows = metric_rows(pre.dir)
    # measured on the CPU, seeds 0-6: +1.4 to +1.6 dB and a loss of 0.34-0.41 → 0.14-0.19
    assert rows[-1]["valid/psnr"] > rows[0]["valid/psnr"] + 0.5, [r["valid/psnr"] for r in rows]
    assert rows[-1]["train/generator/loss"] < 0.8 * rows[0]["train/generator/loss"]

    gan = api.train(model="srgan", data=SR_DATA, epochs=2, name="srgan", echo=lambda *a: None,
                    overrides=on_device(QUIET + SR_TINY + ["model.weights=runs/srresnet/model.safetensors"]))
    assert gan.recipe.phases == ("discriminator", "generator")
    assert_run_folder(gan.dir, extra=("generator.safetensors", "evaluation.json"))
    start = load_file(str(pre.dir / "generator.safetensors"))
    tuned = gan.model.generator.state_dict()
    assert any(not torch.equal(start[k], v.cpu()) for k, v in tuned.items())
    assert {"train/generator/content", "train/generator/adversarial"} <= set(metric_rows(gan.dir)[0])
    # the content loss still dominates (adversarial weight 1e-3): CPU, seeds 0-6, +1.3 to +2.5 dB more
    assert gan.metrics["valid/psnr"] > pre.metrics["valid/psnr"] + 0.5
    assert_module_on_device(gan.model)
