"""Transfer learning end to end (issue 4 §4): weights from a short run on one embedded task start a
run on another task with a different number of classes.

The source run (3 epochs) trains the compact ``cnn`` (conv → batch norm → ReLU blocks, so there are
batch-norm statistics to freeze) on the 10 classes of ``digits``; the target task is digits 0, 1 and 2 only
(3 classes), written as an ``npz:`` archive. The expected values are independent of deepzoo's code:
the source run's own weight file (every backbone tensor must come back bit for bit when frozen) and
the initial head rebuilt from the target run's saved ``config.yaml`` (the head must have moved).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from deepzoo import api
from deepzoo.cli import main
from deepzoo.config import RunConfig
from deepzoo.runtime import seed_everything
from tests.conftest import QUIET

TINY = QUIET + ["model.width=8", "train.checkpoint=false"]
SETS = [a for q in TINY for a in ("--set", q)]


@pytest.fixture
def source(runs, tmp_path):
    """A 3-epoch run of ``cnn`` on digits (10 classes) and a 3-class digits archive."""
    run = api.train(model="cnn", data="digits", epochs=3, name="source", overrides=TINY + ["optim.lr=0.01"],
                    echo=lambda *a: None)
    assert run.summary["metrics"]["test/accuracy"] > 0.5  # it learned something worth transferring
    from sklearn.datasets import load_digits

    d = load_digits()
    keep = d.target < 3
    path = tmp_path / "digits012.npz"
    np.savez(path, x=(d.images[keep] / 16.0).astype(np.float32)[:, None], y=d.target[keep])
    return runs / "source" / "model.safetensors", f"npz:{path}"


def initial_model(run_dir):
    """The target run's model as it was before its first step, rebuilt from its saved config exactly as
    ``api.train`` builds it (same seed, so the same fresh head)."""
    cfg = RunConfig.load(run_dir / "config.yaml")
    seed_everything(cfg.seed, cfg.train.deterministic)
    recipe, _ = api.build_recipe(cfg)
    return {k: v.clone() for k, v in recipe.model.state_dict().items()}


def test_freeze_backbone_keeps_every_backbone_tensor_and_trains_the_new_head(source, runs, capsys):
    weights, data = source
    pretrained = load_file(str(weights))
    assert pretrained["head.weight"].shape == (10, 16)  # depth 2 blocks of 8 then 16 channels; 10 classes
    status = main(["train", "--model", "cnn", "--data", data, "--epochs", "2", "--name", "frozen",
                   "--weights", str(weights), "--freeze", "backbone",
                   "--set", "early_stop.enabled=false", *SETS])
    out = capsys.readouterr().out
    assert status == 0, out
    assert "the head (head.weight, head.bias) was re-initialised" in out and "backbone frozen" in out

    trained = load_file(str(runs / "frozen" / "model.safetensors"))
    backbone = [k for k in pretrained if not k.startswith("head.")]
    # parameters, batch-norm running mean/var and num_batches_tracked: all of them, bit for bit
    assert any(k.endswith("running_var") for k in backbone) and any(k.endswith("num_batches_tracked")
                                                                    for k in backbone)
    assert set(trained) == set(pretrained)
    for k in backbone:
        assert trained[k].dtype == pretrained[k].dtype and torch.equal(trained[k], pretrained[k]), k
    # the head was replaced for 3 classes and trained away from its fresh initialisation
    assert trained["head.weight"].shape == (3, 16) and trained["head.bias"].shape == (3,)
    start = initial_model(runs / "frozen")
    for k in backbone:  # the rebuilt start did load the source weights
        assert torch.equal(start[k], pretrained[k]), k
    assert not torch.equal(trained["head.weight"], start["head.weight"])
    assert not torch.equal(trained["head.bias"], start["head.bias"])


def backbone_shift(runs, name: str, start: dict[str, torch.Tensor]) -> float:
    trained = load_file(str(runs / name / "model.safetensors"))
    return sum(float((trained[k] - start[k]).norm()) for k in start
               if not k.startswith("head.") and trained[k].is_floating_point() and "running" not in k)


def test_backbone_lr_mult_moves_the_backbone_less(source, runs):
    weights, data = source
    start = {k: v for k, v in load_file(str(weights)).items() if not k.startswith("head.")}
    shifts = {}
    for mult in (1.0, 0.1):
        name = f"mult{mult}"
        run = api.train(model="cnn", data=data, epochs=1, name=name, echo=lambda *a: None,
                        overrides=TINY + [f"model.weights={weights}", f"model.backbone_lr_mult={mult}",
                                          "early_stop.enabled=false"])
        assert run.summary["metrics"]["test/accuracy"] > 0.5
        shifts[mult] = backbone_shift(runs, name, start)
    assert shifts[1.0] > 0 and shifts[0.1] > 0
    # Adam's step is about lr per coordinate, so a tenth of the rate moves the backbone far less
    assert shifts[0.1] < 0.3 * shifts[1.0], shifts


def test_backbone_lr_mult_sets_the_optimizer_groups(source):
    from deepzoo.engine.optim import build_optimizer

    weights, data = source
    cfg = api.build_config(model="cnn", data=data, overrides=TINY + [f"model.weights={weights}",
                                                                       "model.backbone_lr_mult=0.1",
                                                                       "optim.lr=0.01"])
    recipe, _ = api.build_recipe(cfg)
    opt = build_optimizer(recipe.model, cfg.optim, recipe.head_prefixes, cfg.model.backbone_lr_mult)
    lr_of = {id(p): g["lr"] for g in opt.param_groups for p in g["params"]}
    for name, p in recipe.model.named_parameters():
        assert lr_of[id(p)] == pytest.approx(0.01 if name.startswith("head.") else 0.001), name
