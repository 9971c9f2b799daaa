"""`deepzoo train` options that change how a run trains, each checked through the CLI (issue 17 §5):
``--compile``, ``--deterministic``, ``train.precision=bf16`` on the CPU, ``--config FILE`` and
``--backbone-lr-mult``. Every test fails if its option silently did nothing: it looks at what the run
actually trained with (the module the engine stepped, torch's global flags while it trained, the
optimizer's saved parameter groups), not only at what the config says.
"""

from __future__ import annotations

import csv
import json

import pytest
import torch
import yaml
from safetensors.torch import load_file

from deepzoo import engine
from deepzoo.cli import main
from deepzoo.recipes.supervised import SupervisedRecipe
from tests.conftest import QUIET

pytestmark = pytest.mark.usefixtures("one_thread")

SETS = [a for q in QUIET + ["train.checkpoint=false"] for a in ("--set", q)]
MOONS = ["--model", "mlp", "--data", "moons", "--set", "model.hidden=[16]"]


@pytest.fixture
def fits(monkeypatch):
    """Every :func:`deepzoo.engine.fit` the CLI makes, as (the Run it returned, what held while it ran)."""
    seen = []
    real = engine.fit

    def spy(recipe, config, *args, **kwargs):
        during = {"deterministic": torch.are_deterministic_algorithms_enabled()}
        run = real(recipe, config, *args, **kwargs)
        during["net"] = recipe.net  # the module the loop stepped (recipe.net is set by fit)
        seen.append((run, during))
        return run

    monkeypatch.setattr(engine, "fit", spy)
    return seen


def _train(capsys, *argv: str) -> str:
    status = main(["train", *argv])
    out, err = capsys.readouterr()
    assert status == 0, err
    return out


def _weights(runs, name: str) -> dict[str, torch.Tensor]:
    return load_file(str(runs / name / "model.safetensors"))


# -- --compile ------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_compile_trains_a_compiled_module_to_the_eager_metrics(runs, capsys, fits):
    import torch._dynamo

    torch._dynamo.reset()
    args = [*MOONS, "--epochs", "2", *SETS]
    _train(capsys, *args, "--name", "eager")
    _train(capsys, *args, "--name", "compiled", "--compile")
    (eager, eager_during), (compiled, compiled_during) = fits
    assert not isinstance(eager_during["net"], torch._dynamo.eval_frame.OptimizedModule)
    assert isinstance(compiled_during["net"], torch._dynamo.eval_frame.OptimizedModule)
    assert compiled_during["net"]._orig_mod is compiled.recipe.model  # it wraps the model that was saved
    assert yaml.safe_load((runs / "compiled" / "config.yaml").read_text())["train"]["compile"] is True
    # inductor's kernels reorder float sums, so equal only to rounding after two epochs of Adam
    a, b = _weights(runs, "eager"), _weights(runs, "compiled")
    assert a.keys() == b.keys() and not all(torch.equal(a[k], torch.zeros_like(a[k])) for k in a)
    for k in a:
        torch.testing.assert_close(b[k], a[k], atol=1e-4, rtol=1e-4)
    for key, value in eager.metrics.items():  # a count-based metric may flip one borderline point (1/160)
        assert compiled.metrics[key] == pytest.approx(value, abs=1e-4 if key.endswith("loss") else 0.007), key
    torch._dynamo.reset()


# -- --deterministic ------------------------------------------------------------------------------------
@pytest.fixture
def restore_determinism(monkeypatch):
    """``--deterministic`` switches torch's process-wide flag on; put it back for the tests after."""
    monkeypatch.setenv("CUBLAS_WORKSPACE_CONFIG", ":4096:8")  # restored (unset) afterwards
    flag, warn = torch.are_deterministic_algorithms_enabled(), torch.is_deterministic_algorithms_warn_only_enabled()
    benchmark = torch.backends.cudnn.benchmark
    yield
    torch.use_deterministic_algorithms(flag, warn_only=warn)
    torch.backends.cudnn.benchmark = benchmark


def test_deterministic_sets_torchs_flag_and_two_runs_give_identical_weights(runs, capsys, fits,
                                                                            restore_determinism):
    torch.use_deterministic_algorithms(False)
    args = [*MOONS, "--epochs", "2", "--seed", "3", "--deterministic", *SETS]
    _train(capsys, *args, "--name", "d1")
    _train(capsys, *args, "--name", "d2")
    assert [during["deterministic"] for _, during in fits] == [True, True]  # on while each run trained
    for name in ("d1", "d2"):
        assert yaml.safe_load((runs / name / "config.yaml").read_text())["train"]["deterministic"] is True
    a, b = _weights(runs, "d1"), _weights(runs, "d2")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    torch.use_deterministic_algorithms(False)
    _train(capsys, *MOONS, "--epochs", "1", *SETS, "--name", "plain")
    assert fits[-1][1]["deterministic"] is False  # without the flag the run does not ask for it


# -- train.precision=bf16 on the CPU --------------------------------------------------------------------
def test_bf16_on_cpu_trains_under_autocast_and_learns(runs, capsys, monkeypatch):
    seen = []
    real = SupervisedRecipe.training_step

    def spy(self, batch, phase):
        seen.append((torch.is_autocast_enabled("cpu"), torch.get_autocast_dtype("cpu")))
        out = real(self, batch, phase)
        seen[-1] += (self.net(batch[0]).dtype,)  # what the model's layers compute in under that autocast
        return out

    monkeypatch.setattr(SupervisedRecipe, "training_step", spy)
    args = [*MOONS, "--epochs", "3", "--set", "optim.lr=0.02", *SETS]
    _train(capsys, *args, "--set", "train.precision=bf16", "--name", "bf16")
    summary = json.loads((runs / "bf16" / "summary.json").read_text())
    assert summary["precision"] == "bf16" and summary["device"] == "cpu"
    assert seen and set(seen) == {(True, torch.bfloat16, torch.bfloat16)}
    seen.clear()
    _train(capsys, *args, "--name", "fp32")
    fp32 = json.loads((runs / "fp32" / "summary.json").read_text())
    assert fp32["precision"] == "fp32"  # auto on the CPU
    assert set(seen) == {(False, torch.bfloat16, torch.float32)}  # no autocast: fp32 layers
    # it learned (chance is 0.5), as well as fp32 does to bf16's 8-bit mantissa, and not identically
    bf16, full = summary["metrics"], fp32["metrics"]
    assert bf16["test/accuracy"] > 0.8 and bf16["test/loss"] == pytest.approx(full["test/loss"], abs=0.03)
    assert bf16["test/loss"] != full["test/loss"]


# -- --config FILE ---------------------------------------------------------------------------------------
def test_config_file_values_reach_the_run_and_flags_override_them(runs, tmp_path, capsys):
    config = tmp_path / "experiment.yaml"
    config.write_text(yaml.safe_dump({
        "model": {"name": "mlp", "args": {"hidden": [8, 4]}},
        "data": {"spec": "moons"},
        "seed": 7,
        "optim": {"name": "sgd", "lr": 0.2, "momentum": 0.5},
        "train": {"epochs": 5, "batch_size": 32, "progress": False, "tensorboard": False, "plots": False,
                  "checkpoint": False},
        "early_stop": {"enabled": False},
    }))
    _train(capsys, "--config", str(config), "--epochs", "2", "--seed", "11", "--set", "optim.lr=0.05",
           "--name", "from-file")
    saved = yaml.safe_load((runs / "from-file" / "config.yaml").read_text())
    # from the file
    assert saved["model"]["name"] == "mlp" and saved["model"]["args"] == {"hidden": [8, 4]}
    assert saved["data"]["spec"] == "moons"
    assert (saved["optim"]["name"], saved["optim"]["momentum"], saved["train"]["batch_size"]) == ("sgd", 0.5, 32)
    # the flags and --set win over the file
    assert (saved["train"]["epochs"], saved["seed"], saved["optim"]["lr"]) == (2, 11, 0.05)
    # and the run trained with them: two epochs at lr 0.05, hidden layers of 8 and 4 units, seed 11
    with (runs / "from-file" / "metrics.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert [int(r["epoch"]) for r in rows] == [1, 2] and {float(r["lr"]) for r in rows} == {0.05}
    # moons' 640 training points in batches of 32: 20 steps an epoch
    assert int(rows[-1]["step"]) == 2 * 20
    shapes = {k: tuple(v.shape) for k, v in _weights(runs, "from-file").items()}
    assert shapes == {"features.1.weight": (8, 2), "features.1.bias": (8,), "features.3.weight": (4, 8),
                      "features.3.bias": (4,), "head.weight": (1, 4), "head.bias": (1,)}
    assert json.loads((runs / "from-file" / "summary.json").read_text())["seed"] == 11


# -- --backbone-lr-mult ------------------------------------------------------------------------------------
def _groups_by_shape(runs, name: str) -> dict[float, list[tuple[int, ...]]]:
    """The learning rate of each parameter group the run's optimizer stepped with, and the shapes of its
    parameters (read from the Adam moments of the saved checkpoint)."""
    ckpt = torch.load(runs / name / "checkpoints" / "last.pt", weights_only=True)
    opt = ckpt["optimizers"]["model"]
    return {g["lr"]: sorted(tuple(opt["state"][i]["exp_avg"].shape) for i in g["params"]) for g in opt["param_groups"]}


def test_backbone_lr_mult_flag_gives_the_backbone_the_multiplied_rate(runs, capsys):
    common = ["--model", "mlp", "--data", "moons", "--set", "model.hidden=[8,8]", "--set", "optim.lr=0.01",
              "--epochs", "1", *[a for q in QUIET for a in ("--set", q)]]
    _train(capsys, *common, "--backbone-lr-mult", "0.1", "--name", "mult")
    assert yaml.safe_load((runs / "mult" / "config.yaml").read_text())["model"]["backbone_lr_mult"] == 0.1
    groups = _groups_by_shape(runs, "mult")
    by_lr = {round(lr, 6): shapes for lr, shapes in groups.items()}
    assert by_lr[0.01] == [(1,), (1, 8)]  # the head: head.bias, head.weight
    assert by_lr[0.001] == [(8,), (8,), (8, 2), (8, 8)]  # the two hidden layers
    _train(capsys, *common, "--name", "plain")
    assert {round(lr, 6) for lr in _groups_by_shape(runs, "plain")} == {0.01}  # without it: one rate for all
