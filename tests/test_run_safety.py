"""The run-folder fault matrix: what a hostile but realistic user can do to a run folder, and what
deepzoo guarantees in each case (docs/training.md, "What deepzoo guarantees").

Every case here failed before these guarantees existed: unsafe names deleted or escaped folders,
``--overwrite`` deleted a live run, half-fitting weights loaded silently, ``--resume`` trained with
settings its config did not record, a kill at the wrong moment left a folder that could be neither
resumed nor rerun, bad values left tracebacks and folders, and a diverging run exited 0.
"""

from __future__ import annotations

import csv
import gzip
import os
import signal
import subprocess
import sys
import time
import tracemalloc

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

from deepzoo import api
from deepzoo.cli import main
from deepzoo.engine.checkpoint import load_checkpoint
from deepzoo.errors import ConfigError, DataError, Interrupted, TrainingError
from deepzoo.recipes.supervised import SupervisedRecipe
from tests.conftest import QUIET

SETS = [a for q in QUIET for a in ("--set", q)]
TINY = ["--model", "mlp", "--data", "moons", "--epochs", "1", "--set", "model.hidden=[8]", *SETS]
#: several batches per epoch, dropout (so the RNG state matters) and no early stop before the end
RESUMABLE = QUIET + ["model.dropout=0.2", "train.batch_size=32", "early_stop.enabled=false",
                     "train.log_every=7"]


def silent(*args, **kwargs):
    pass


def one_line_error(capsys, argv, status=2):
    """Run the CLI and return its one-line error (no traceback, nothing else on stderr)."""
    code = main(argv)
    err = capsys.readouterr().err.strip()
    assert code == status, err
    assert "\n" not in err and "Traceback" not in err, err
    return err


def weights_of(run_dir):
    """The run's exported weights, copied out of safetensors' memory map (a test truncates the file)."""
    return {k: v.clone() for k, v in load_file(str(run_dir / "model.safetensors")).items()}


def assert_same_weights(a, b):
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key


def metrics_without_time(run_dir):
    with (run_dir / "metrics.csv").open() as f:
        return [{k: v for k, v in row.items() if k != "seconds"} for row in csv.DictReader(f)]


# -- 1. run names are names ----------------------------------------------------------------------------


@pytest.fixture
def bystanders(runs, tmp_path):
    """Files that no run may touch: one in the working directory, one in a folder beside the runs root,
    one inside the runs root, and a finished run."""
    assert main(["train", *TINY, "--name", "kept"]) == 0
    files = [tmp_path / "notes.txt", tmp_path / "victim" / "data.csv", runs / "README.txt"]
    for f in files:
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text("precious")
    return files + [runs / "kept" / "model.safetensors"]


@pytest.mark.parametrize("overwrite", [False, True])
@pytest.mark.parametrize("name", [".", "..", "../victim", "../../etc/evil", "a/b", "ABSOLUTE", "", "x y"])
def test_an_unsafe_name_is_refused_and_touches_nothing(bystanders, tmp_path, capsys, name, overwrite):
    name = str(tmp_path / "victim") if name == "ABSOLUTE" else name
    before = sorted(p for p in tmp_path.rglob("*"))
    err = one_line_error(capsys, ["train", *TINY, "--name", name] + (["--overwrite"] if overwrite else []))
    assert "a name is letters, digits" in err
    assert sorted(p for p in tmp_path.rglob("*")) == before
    assert all(f.read_bytes() for f in bystanders)


def test_overwrite_refuses_a_folder_that_is_not_a_run(bystanders, runs, capsys):
    photos = runs / "photos"
    photos.mkdir()
    (photos / "cat.jpg").write_bytes(b"a photo")
    err = one_line_error(capsys, ["train", *TINY, "--name", "photos", "--overwrite"])
    assert "is not a deepzoo run folder" in err
    assert (photos / "cat.jpg").read_bytes() == b"a photo"


def test_overwrite_refuses_a_link_out_of_the_runs_root(bystanders, runs, tmp_path, capsys):
    (runs / "link").symlink_to(tmp_path / "victim")
    err = one_line_error(capsys, ["train", *TINY, "--name", "link", "--overwrite"])
    assert "is a link" in err and (tmp_path / "victim" / "data.csv").read_text() == "precious"


def test_overwrite_replaces_a_finished_run_and_runs_dir_is_created(bystanders, runs, tmp_path, capsys):
    old = weights_of(runs / "kept")
    assert main(["train", *TINY, "--name", "kept", "--overwrite", "--seed", "3"]) == 0
    assert not all(torch.equal(old[k], v) for k, v in weights_of(runs / "kept").items())
    assert main(["train", *TINY, "--name", "elsewhere", "--runs-dir", str(tmp_path / "new" / "root")]) == 0
    assert (tmp_path / "new" / "root" / "elsewhere" / "summary.json").is_file()


# -- 2. one process per run folder -----------------------------------------------------------------------


def deepzoo(*args, cwd):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen([sys.executable, "-m", "deepzoo", *args], cwd=cwd, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def wait_for_line(process, needle: str, timeout: float = 120) -> list[str]:
    lines, deadline = [], time.time() + timeout
    while time.time() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line)
        if needle in line:
            return lines
    raise AssertionError(f"{needle!r} never printed: {''.join(lines)[-2000:]}")


@pytest.mark.slow
def test_a_live_run_is_locked_and_a_killed_holder_leaves_no_stale_lock(tmp_path):
    holder = deepzoo("train", "--model", "mlp", "--data", "digits", "--epochs", "100000", "--name", "live",
                     "--set", "early_stop.enabled=false", *SETS, cwd=tmp_path)
    try:
        wait_for_line(holder, "epoch 2/")
        for extra in (["--overwrite"], ["--resume"]):
            second = subprocess.run([sys.executable, "-m", "deepzoo", "train", "--model", "mlp", "--data",
                                     "digits", "--name", "live", *extra], cwd=tmp_path, capture_output=True,
                                    text=True, timeout=120)
            assert second.returncode == 2, second.stderr
            assert f"in use by another deepzoo process (PID {holder.pid})" in second.stderr
        assert holder.poll() is None, "the live run must be untouched"
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    resumed = subprocess.run([sys.executable, "-m", "deepzoo", "train", "--name", "live", "--resume",
                              "--epochs", "100000", "--set", "train.epochs=4"], cwd=tmp_path,
                             capture_output=True, text=True, timeout=120)
    assert resumed.returncode in (0, 2), resumed.stderr
    assert "in use" not in resumed.stderr  # the kernel released the dead holder's lock


# -- 3. weights load completely or not at all -----------------------------------------------------------


def test_weights_whose_shapes_all_differ_are_refused(runs, tmp_path, capsys):
    assert main(["train", *TINY, "--name", "wide", "--set", "model.hidden=[16]"]) == 0
    err = one_line_error(capsys, ["train", *TINY, "--name", "t", "--weights",
                                  str(runs / "wide" / "model.safetensors")])
    assert "does not fit" in err and "is (16, 2) in the file, (8, 2) here" in err
    assert not (runs / "t").exists()


def test_a_file_with_one_unrelated_tensor_is_refused(runs, tmp_path, capsys):
    path = tmp_path / "odd.safetensors"
    save_file({"embedding.weight": torch.ones(3, 3)}, str(path))
    err = one_line_error(capsys, ["train", *TINY, "--weights", str(path)])
    assert "missing from the file" in err and "not in the model: embedding.weight" in err


def test_a_torchvision_resnet18_file_does_not_load_into_resnet20(runs, tmp_path, capsys):
    import torchvision

    path = tmp_path / "resnet18.pth"
    torch.save(torchvision.models.resnet18().state_dict(), path)  # random weights, ImageNet layout
    err = one_line_error(capsys, ["train", "--model", "resnet20", "--data", "digits", "--weights", str(path),
                                  "--freeze", "backbone", *SETS])
    assert "conv1.weight is (64, 3, 7, 7) in the file, (16, 1, 3, 3) here" in err
    assert "ImageNet 7×7 stem against the small-input 3×3 stem" in err
    assert "not in the model: layer2.0.downsample" in err and "more" in err
    assert not runs.exists() or not any(runs.iterdir())


class Payload:
    """What a malicious weights file carries: unpickling it would run a shell command."""

    def __reduce__(self):
        return os.system, ("touch pwned",)


def test_a_pickled_payload_is_refused_in_one_line_without_torchs_advice(runs, tmp_path, capsys):
    path = tmp_path / "evil.pt"
    torch.save({"w": torch.ones(2), "payload": Payload()}, path)
    err = one_line_error(capsys, ["train", *TINY, "--weights", str(path)])
    assert "pickled Python objects" in err and "weights_only" not in err
    assert not (tmp_path / "pwned").exists()
    path.write_bytes(b"\x89PNG not weights at all")
    err = one_line_error(capsys, ["train", *TINY, "--weights", str(path)])
    assert "not a readable weights file" in err and "weights_only" not in err


def test_only_the_head_may_differ_and_the_log_counts_the_tensors(runs):
    api.train(model="mlp", data="digits", epochs=1, name="ten", overrides=QUIET + ["model.hidden=[8]"], echo=silent)
    weights = runs / "ten" / "model.safetensors"
    ten = weights_of(runs / "ten")
    # digits has 64 inputs and moons 2: the first layer differs, which no transfer may reset
    with pytest.raises(ConfigError, match=r"\(8, 64\) in the file, \(8, 2\) here"):
        api.train(model="mlp", data="moons", epochs=1, name="two", echo=silent,
                  overrides=QUIET + ["model.hidden=[8]", f"model.weights={weights}"])
    model = api.create_model("mlp", num_classes=3, input_shape=(64,), hidden=[8], weights=str(weights))
    state = model.state_dict()
    assert state["head.weight"].shape == (3, 8)
    assert all(torch.equal(state[k], ten[k]) for k in ten if not k.startswith("head."))
    lines = []
    api.train(model="mlp", data="digits", epochs=1, name="again", echo=lines.append,
              overrides=QUIET + ["model.hidden=[8]", f"model.weights={weights}"])
    assert f"weights: loaded {len(ten)} of {len(ten)} tensors from {weights}" in lines, lines


# -- 4. resume trains what its config says --------------------------------------------------------------


@pytest.fixture
def finished(runs):
    """A finished 2-epoch run ``r`` and the bytes of its config and weights."""
    api.train(model="mlp", data="moons", epochs=2, name="r", overrides=RESUMABLE, echo=silent)
    return runs / "r"


@pytest.mark.parametrize("argv, key", [
    (["--set", "optim.lr=0.5"], "optim.lr"),
    (["--set", "train.batch_size=8"], "train.batch_size"),
    (["--model", "lenet"], "model.name"),
    (["--seed", "7"], "seed"),
    (["--set", "model.dropout=0.5"], "model.dropout"),
])
def test_resume_refuses_a_change_to_what_each_step_computes(finished, capsys, argv, key):
    config = (finished / "config.yaml").read_bytes()
    err = one_line_error(capsys, ["train", "--name", "r", "--resume", "--epochs", "4", *argv])
    assert f"--resume cannot change {key}" in err and "--config runs/r/config.yaml" in err
    assert (finished / "config.yaml").read_bytes() == config


def test_resume_applies_and_records_more_epochs_and_patience(finished, capsys):
    assert main(["train", "--name", "r", "--resume", "--epochs", "4", "--set", "early_stop.patience=3"]) == 0
    text = (finished / "config.yaml").read_text()
    from deepzoo.config import RunConfig

    cfg = RunConfig.load(finished / "config.yaml")
    assert (cfg.train.epochs, cfg.early_stop.patience) == (4, 3)
    assert "# resumed at" in text and "train.epochs: 2 → 4" in text and "early_stop.patience: 10 → 3" in text
    assert [int(r["epoch"]) for r in metrics_without_time(finished)] == [1, 2, 3, 4]


def test_resume_refuses_more_epochs_under_a_schedule_that_spans_them(runs, capsys):
    api.train(model="mlp", data="moons", epochs=2, name="cos", overrides=RESUMABLE + ["sched.name=cosine"],
              echo=silent)
    err = one_line_error(capsys, ["train", "--name", "cos", "--resume", "--epochs", "4"])
    assert "sched.name=cosine" in err


def test_resuming_a_finished_run_trains_nothing(finished, capsys):
    weights, rows = weights_of(finished), metrics_without_time(finished)
    assert main(["train", "--name", "r", "--resume"]) == 0
    assert "finished, all 2 epochs are trained; nothing to train" in capsys.readouterr().out
    assert_same_weights(weights_of(finished), weights)
    assert metrics_without_time(finished) == rows


def test_resuming_an_early_stopped_run_trains_nothing(runs, capsys):
    # a learning rate this high makes the validation loss rise, so patience 1 ends the run early
    api.train(model="mlp", data="moons", epochs=30, name="es", echo=silent,
              overrides=QUIET + ["optim.lr=0.5", "early_stop.patience=1", "train.batch_size=16"])
    rows = metrics_without_time(runs / "es")
    assert len(rows) < 30
    assert main(["train", "--name", "es", "--resume"]) == 0
    assert "early stopping ended it" in capsys.readouterr().out
    assert metrics_without_time(runs / "es") == rows


# -- 5. any moment is a safe moment to be killed ----------------------------------------------------------


def signal_at(call: int, signum: int):
    """A training step that delivers ``signum`` to this process at step number ``call``, as a scheduler
    would (the handler runs inside the step)."""
    original = SupervisedRecipe.training_step
    calls = {"n": 0}

    def step(self, batch, phase):
        calls["n"] += 1
        if calls["n"] == call:
            signal.raise_signal(signum)
        return original(self, batch, phase)

    return step


@pytest.mark.parametrize("signum, status, resident", [(signal.SIGTERM, 143, "true"), (signal.SIGINT, 130, "true"),
                                                       (signal.SIGTERM, 143, "false")])
def test_a_signal_checkpoints_the_step_and_resume_matches_an_uninterrupted_run(runs, monkeypatch, capsys,
                                                                               signum, status, resident):
    overrides = RESUMABLE + [f"data.resident={resident}"]
    api.train(model="mlp", data="moons", epochs=3, name="full", overrides=overrides, echo=silent)
    # moons' 640 training items are 20 batches of 32 per epoch, so step 30 is in the middle of epoch 2
    argv = ["train", "--model", "mlp", "--data", "moons", "--epochs", "3", "--name", "cut"]
    argv += [a for o in overrides for a in ("--set", o)]
    with monkeypatch.context() as patch:
        patch.setattr(SupervisedRecipe, "training_step", signal_at(30, signum))
        err = one_line_error(capsys, argv, status=status)
    assert f"stopped by {signal.Signals(signum).name} after step 30 (batch 10 of 20 in epoch 2)" in err
    assert "continue with: deepzoo train --name cut --resume" in err
    ckpt = load_checkpoint(runs / "cut" / "checkpoints" / "last.pt")
    assert (ckpt["epoch"], ckpt["batches"], ckpt["step"]) == (1, 10, 30)
    assert main(["train", "--name", "cut", "--resume"]) == 0
    assert "resumed from epoch 2, batch 11 (step 30)" in capsys.readouterr().out
    assert_same_weights(weights_of(runs / "cut"), weights_of(runs / "full"))
    assert metrics_without_time(runs / "cut") == metrics_without_time(runs / "full")


@pytest.mark.slow
def test_sigterm_from_outside_stops_with_143_and_the_resume_command(tmp_path):
    common = ["--model", "mlp", "--data", "digits", "--epochs", "6", "--set", "train.batch_size=4",
              "--set", "early_stop.enabled=false", *SETS]
    full = subprocess.run([sys.executable, "-m", "deepzoo", "train", *common, "--name", "full"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=300)
    assert full.returncode == 0, full.stderr
    victim = deepzoo("train", *common, "--name", "cut", cwd=tmp_path)
    wait_for_line(victim, "epoch 1/")
    victim.send_signal(signal.SIGTERM)
    out = victim.communicate(timeout=120)[0]
    assert victim.returncode == 143, out
    assert "stopped by SIGTERM" in out and "continue with: deepzoo train --name cut --resume" in out
    resumed = subprocess.run([sys.executable, "-m", "deepzoo", "train", "--name", "cut", "--resume"], cwd=tmp_path,
                             capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    assert_same_weights(weights_of(tmp_path / "runs" / "cut"), weights_of(tmp_path / "runs" / "full"))


def test_resume_before_the_first_complete_checkpoint_starts_afresh(runs, capsys):
    api.train(model="mlp", data="moons", epochs=2, name="full", overrides=RESUMABLE, echo=silent)
    api.train(model="mlp", data="moons", epochs=2, name="early", overrides=RESUMABLE, echo=silent)
    # what a kill after best.pt and before last.pt leaves (the first curves are drawn in between)
    for name in ("checkpoints/last.pt", "summary.json", "model.safetensors"):
        (runs / "early" / name).unlink()
    err = one_line_error(capsys, ["train", "--model", "mlp", "--data", "moons", "--name", "early"])
    assert "pass --resume to continue it" in err
    assert main(["train", "--name", "early", "--resume"]) == 0  # so the two messages do not go in a circle
    assert "no complete checkpoint yet" in capsys.readouterr().out
    assert_same_weights(weights_of(runs / "early"), weights_of(runs / "full"))


def test_leftover_temporaries_are_removed_at_the_next_start(finished, capsys):
    stale = [finished / "checkpoints" / ".last.pt.x1y2.tmp", finished / ".summary.json.ab.tmp"]
    for path in stale:
        path.write_bytes(b"")
    assert main(["train", "--name", "r", "--resume"]) == 0
    assert "removed 2 temporary file(s)" in capsys.readouterr().out
    assert not any(p.exists() for p in stale)


@pytest.mark.parametrize("file, command", [
    ("model.safetensors", ["evaluate", "r"]),
    ("model.safetensors", ["predict", "r", "--input", "INPUT"]),
    ("summary.json", ["evaluate", "r"]),
    ("meta.json", ["predict", "r", "--input", "INPUT"]),
    ("config.yaml", ["evaluate", "r"]),
    ("checkpoints/last.pt", ["train", "--name", "r", "--resume", "--epochs", "3"]),
])
def test_a_truncated_file_is_one_line_naming_it(finished, tmp_path, capsys, file, command):
    path = finished / file
    path.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2] if file != "config.yaml" else b"a: [1,\n")
    np.savez(tmp_path / "x.npz", x=np.zeros((2, 2), np.float32))
    command = [str(tmp_path / "x.npz") if a == "INPUT" else a for a in command]
    err = one_line_error(capsys, command)
    assert file.rpartition("/")[2] in err


def test_resume_writes_a_damaged_model_file_again(finished, capsys):
    weights = weights_of(finished)
    (finished / "model.safetensors").write_bytes(b"\x00" * 10)
    assert "--resume` writes it again" in one_line_error(capsys, ["evaluate", "r"])
    assert main(["train", "--name", "r", "--resume"]) == 0
    assert "writing the model and summary again" in capsys.readouterr().out
    assert_same_weights(weights_of(finished), weights)
    assert main(["evaluate", "r"]) == 0


# -- 6. config values are checked before anything is created ------------------------------------------------


@pytest.mark.parametrize("setting", [
    "train.batch_size=0", "train.epochs=0", "train.epochs=-3", "train.eval_batch_size=0", "train.accumulate=0",
    "train.log_every=0", "train.grad_clip=-1", "optim.lr=0", "optim.lr=-1e-3", "optim.weight_decay=-0.1",
    "optim.momentum=1.0", "optim.betas=[0.9,1.5]", "sched.gamma=0", "sched.step_size=0", "sched.milestones=[0]",
    "sched.factor=1", "early_stop.patience=0", "early_stop.min_delta=-1", "early_stop.mode=upward",
    "train.precision=fp64", "data.num_workers=-1", "model.backbone_lr_mult=-1", "train.diverge_factor=0.5",
    "train.device=cuda7",
])
def test_an_out_of_range_value_is_one_line_and_no_folder(runs, capsys, setting):
    err = one_line_error(capsys, ["train", "--model", "mlp", "--data", "moons", "--name", "bad", "--set", setting])
    assert setting.partition("=")[0] in err
    assert not (runs / "bad").exists()


# -- 7. every command validates its inputs the same way ---------------------------------------------------


@pytest.fixture
def image_run(runs, tmp_path):
    """A 1-epoch CNN on an 8×8 RGB image folder, for predict's image inputs."""
    from PIL import Image

    rng = np.random.default_rng(0)
    for label in ("a", "b"):
        (tmp_path / "photos" / label).mkdir(parents=True)
        for i in range(6):
            pixels = rng.integers(0, 255, (8, 8, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(tmp_path / "photos" / label / f"{i}.png")
    assert main(["train", "--model", "cnn", "--data", f"imagefolder:{tmp_path / 'photos'}", "--epochs", "1",
                 "--name", "img", "--set", "model.width=4", *SETS]) == 0
    return tmp_path


def test_predict_refuses_a_decompression_bomb_and_a_corrupt_image(image_run, capsys, monkeypatch):
    from PIL import Image

    big = image_run / "big.png"
    Image.new("RGB", (64, 64)).save(big)
    with monkeypatch.context() as patch:
        patch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)  # 64×64 is then above Pillow's bomb guard
        assert "decompression bomb" in one_line_error(capsys, ["predict", "img", "--input", str(big)])
    broken = image_run / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 20)
    assert "cannot be read as an image" in one_line_error(capsys, ["predict", "img", "--input", str(broken)])
    capsys.readouterr()
    assert main(["predict", "img", "--input", str(image_run / "photos" / "a")]) == 0
    assert len(capsys.readouterr().out.strip().splitlines()) == 7  # header + 6 images


@pytest.mark.parametrize("make, needle", [
    (lambda p: np.savez(p, x=np.array([object(), object()], dtype=object)), "array 'x' cannot be read"),
    (lambda p: np.savez(p, x=np.array([[np.nan, 1.0]], np.float32)), "NaN"),
    (lambda p: np.savez(p, x=np.zeros((2, 3), np.float32)), "the model expects (2,)"),
    (lambda p: np.savez(p, y=np.zeros(2)), "no array 'x'"),
    (lambda p: p.write_bytes(b"PK\x03\x04 truncated"), "is not a readable .npz"),
])
def test_predict_refuses_bad_npz_inputs(finished, tmp_path, capsys, make, needle):
    path = tmp_path / "inputs.npz"
    make(path)
    assert needle in one_line_error(capsys, ["predict", "r", "--input", str(path)])


def test_predict_refuses_a_csv_with_nan_like_training_does(finished, tmp_path, capsys):
    path = tmp_path / "inputs.csv"
    path.write_text("x0,x1\n0.5,1\nnan,2\n")
    err = one_line_error(capsys, ["predict", "r", "--input", str(path)])
    assert "line 3" in err and "NaN" in err


def write_gzip_idx(path, shape, payload_bytes):
    """An IDX image file whose header says ``shape`` but whose body holds ``payload_bytes`` zero bytes."""
    header = (0x00000803).to_bytes(4, "big") + b"".join(int(d).to_bytes(4, "big") for d in shape)
    with gzip.open(path, "wb", compresslevel=9) as f:
        f.write(header)
        for _ in range(payload_bytes // (1 << 20)):
            f.write(bytes(1 << 20))


def test_an_inflating_gzip_is_refused_within_the_bound_its_header_sets(tmp_path):
    from deepzoo.data.formats_images import read_idx

    path = tmp_path / "train-images-idx3-ubyte.gz"
    write_gzip_idx(path, (10, 28, 28), 256 << 20)  # 256 MiB of zeros: about 250 KB on disk
    assert path.stat().st_size < 1 << 20
    tracemalloc.start()
    with pytest.raises(DataError, match="longer than its header says"):
        read_idx(path, "images")
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 4 << 20, f"read {peak / 2**20:.0f} MiB for a header of 7840 values"
    write_gzip_idx(path, (60000, 1000, 1000), 1 << 20)  # a header announcing 60 GB
    with pytest.raises(DataError, match="more than a gzip file of"):
        read_idx(path, "images")


# -- 8. divergence is named ----------------------------------------------------------------------------------


def test_a_diverging_run_ends_as_diverged(runs, capsys):
    err = one_line_error(capsys, ["train", "--model", "mlp", "--data", "digits", "--name", "lr1e6",
                                  "--set", "optim.lr=1e6", *SETS])
    assert "training diverged" in err and "over 100× the first step's" in err
    assert "no checkpoint had been written yet" in err


def test_divergence_later_keeps_and_names_the_last_good_checkpoint(runs, monkeypatch):
    original = SupervisedRecipe.training_step
    calls = {"n": 0}

    def exploding(self, batch, phase):
        calls["n"] += 1
        out = original(self, batch, phase)
        if calls["n"] > 50:  # from epoch 3 of 22-step epochs
            out["loss"] = out["loss"] * 1e6
        return out

    monkeypatch.setattr(SupervisedRecipe, "training_step", exploding)
    with pytest.raises(TrainingError, match=r"diverged.*checkpoints/last.pt \(epoch 2\), is kept"):
        api.train(model="mlp", data="moons", epochs=5, name="late", overrides=RESUMABLE, echo=silent)
    ckpt = load_checkpoint(runs / "late" / "checkpoints" / "last.pt")
    assert ckpt["epoch"] == 2 and all(torch.isfinite(v).all() for v in ckpt["model"].values())


def test_a_nan_in_the_first_epoch_says_no_checkpoint_exists(runs, monkeypatch):
    original = SupervisedRecipe.training_step

    def poisoned(self, batch, phase):
        out = original(self, batch, phase)
        out["loss"] = out["loss"] * float("nan")
        return out

    monkeypatch.setattr(SupervisedRecipe, "training_step", poisoned)
    with pytest.raises(TrainingError, match="NaN or infinite at step 1 .*no checkpoint had been written yet"):
        api.train(model="mlp", data="moons", epochs=2, name="nan1", overrides=QUIET, echo=silent)


def test_the_api_raises_interrupted_not_a_user_error(runs, monkeypatch):
    from deepzoo.errors import DeepzooError

    monkeypatch.setattr(SupervisedRecipe, "training_step", signal_at(3, signal.SIGTERM))
    with pytest.raises(Interrupted) as stop:
        api.train(model="mlp", data="moons", epochs=2, name="sig", overrides=RESUMABLE, echo=silent)
    assert stop.value.status == 143 and not isinstance(stop.value, DeepzooError)
