"""Mode coverage: the GAN recipe learns eight Gaussians on a ring within a fixed step budget (slow)."""

from __future__ import annotations

import pytest
import torch

import deepzoo.data.mixtures  # noqa: F401 - registers the ring dataset
from deepzoo import api
from tests.conftest import QUIET
from tests.test_gan_training import NO_JUDGE, SILENT


@pytest.mark.slow
def test_gan_covers_the_ring(runs):
    """All eight Gaussians of the ring covered within a fixed step budget (seed 0), as docs/gans.md
    claims for seeds 0-5."""
    torch.set_num_threads(1)  # a tiny MLP: threads only add overhead
    try:
        run = api.train(model="gan", data="ring", task="gan", epochs=RING_EPOCHS, seed=0, **SILENT,
                        overrides=QUIET + NO_JUDGE + RING_SETTINGS)
    finally:
        torch.set_num_threads(2)
    assert run.metrics["test/modes_covered"] == 8  # docs/gans.md: 8 / 8
    assert run.metrics["test/modes_covered_real"] == 8
    assert run.metrics["test/high_quality"] > 0.8


# Chosen by experiment: with these settings seeds 0-5 all cover 8 modes by the last epoch (1600 steps;
# remeasured for this test, high-quality share 0.95-0.99);
# the notes' one-hidden-layer generator with 100-dimensional noise covers 3-5.
RING_EPOCHS = 40
RING_SETTINGS = ["model.hidden=[192,192,192]", "model.latent_dim=8", "task_args.preset=none", "optim.lr=1e-3",
                 "optim.betas=[0.5,0.999]", "train.batch_size=128"]
