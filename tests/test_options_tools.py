"""Options of the commands around training, each checked through the CLI (issue 17 §5): ``tune --timeout``
and ``--pruner asha``; ``lr-find --start/--end/--diverge``; ``predict --output`` for .npz, image and
folder inputs; ``evaluate``'s and ``datasets``' text output; ``sample`` on a GAN run. The expected values
come from outside the command under test: the trials a fake clock allows, the geometric schedule
written out, the model rebuilt from its weight file, the ``--json`` output, the generator run by hand.
"""

from __future__ import annotations

import csv
import json
import math
import types

import numpy as np
import optuna
import pytest
import torch
from optuna.trial import TrialState
from PIL import Image
from safetensors.torch import load_file, load_model

from deepzoo import cli
from deepzoo.models import create_model
from tests.conftest import QUIET

pytestmark = pytest.mark.usefixtures("one_thread")

SETS = [a for q in QUIET for a in ("--set", q)]


def _main(capsys, *argv) -> str:
    status = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert status == 0, err
    return out


# -- tune --timeout and --pruner asha ----------------------------------------------------------------------
def _study(runs, name: str) -> optuna.Study:
    from optuna.storages.journal import JournalFileBackend, JournalStorage

    storage = JournalStorage(JournalFileBackend(str(runs / name / "journal.log")))
    return optuna.load_study(study_name=name, storage=storage)


def _tune(space, *extra):
    return ["tune", "--model", "mlp", "--data", "moons", "--space", space, "--set", "model.hidden=[8]", *extra]


def test_tune_timeout_stops_taking_trials_and_the_rest_wait_for_the_next_run(runs, tmp_path, capsys, monkeypatch):
    from deepzoo.tune import workers

    # a fake clock on which every trial takes 10 s: with --timeout 25 trials start at 0, 10 and 20 s;
    # the third one ends at 30 s, past the deadline, and still finishes
    clock = [1000.0]
    monkeypatch.setattr(workers, "time", types.SimpleNamespace(monotonic=lambda: clock[0],
                                                               perf_counter=workers.time.perf_counter))
    real = workers.TrialObjective.__call__

    def ten_seconds(self, trial):
        try:
            return real(self, trial)
        finally:
            clock[0] += 10.0

    monkeypatch.setattr(workers.TrialObjective, "__call__", ten_seconds)
    space = tmp_path / "space.yaml"
    space.write_text("optim.lr: {type: float, low: 1.0e-3, high: 0.1, log: true}\n")
    argv = _tune(space, "--sampler", "random", "--pruner", "none", "--epochs", "1", "--trials", "6", "--study", "t")
    out = _main(capsys, *argv, "--timeout", "25")
    assert "time is up (25 s): the queued trials wait for the next run" in out
    states = [t.state for t in _study(runs, "t").trials]
    assert states == [TrialState.COMPLETE] * 3 + [TrialState.WAITING] * 3
    assert "\n3 complete, 3 waiting\n" in out
    # the same command without --timeout runs the three that waited, and no more
    _main(capsys, *argv)
    assert [t.state for t in _study(runs, "t").trials] == [TrialState.COMPLETE] * 6


def test_asha_prunes_a_hopeless_trial_at_its_first_rung(runs, tmp_path, capsys):
    # Grid order: lr 0.01 and 0.003 first (they learn), then 1e-7 (it cannot). Optuna's successive halving
    # ("auto" minimum resource) sets its rungs once a trial has completed: 3 epochs // 100 → rung 0 at
    # epoch 1, reduction factor 4. The second trial is then alone at rung 0 and goes on; the third, while
    # fewer than 4 trials reached the rung, goes on only if as good as the best there, so it stops after
    # epoch 1. The median pruner would prune nothing here (it waits for 3 finished trials and 2 epochs).
    space = tmp_path / "space.yaml"
    space.write_text("optim.lr: [0.01, 0.003, 1.0e-7]\n")
    _main(capsys, *_tune(space, "--sampler", "grid", "--pruner", "asha", "--epochs", "3", "--study", "a"))
    first, second, hopeless = _study(runs, "a").trials
    assert [t.params["optim.lr"] for t in (first, second, hopeless)] == [0.01, 0.003, 1e-7]
    assert [t.state for t in (first, second, hopeless)] == [TrialState.COMPLETE] * 2 + [TrialState.PRUNED]
    assert sorted(second.intermediate_values) == [1, 2, 3] and sorted(hopeless.intermediate_values) == [1]
    # Optuna's successive-halving bookkeeping: both reached rung 0, the pruned one went no further
    assert "completed_rung_0" in second.system_attrs and "completed_rung_0" in hopeless.system_attrs
    assert "completed_rung_1" not in hopeless.system_attrs
    assert hopeless.system_attrs["completed_rung_0"] > second.system_attrs["completed_rung_0"]  # valid/loss


# -- lr-find --start / --end / --diverge -------------------------------------------------------------------
def _lr_find(capsys, tmp_path, *extra) -> tuple[list[dict[str, float]], str]:
    out = tmp_path / "lr.png"
    printed = _main(capsys, "lr-find", "--model", "mlp", "--data", "moons", "--out", out, *extra)
    with out.with_suffix(".csv").open() as f:
        rows = [{k: float(v) for k, v in row.items()} for row in csv.DictReader(f)]
    return rows, printed


def test_lr_find_start_and_end_set_the_swept_range(runs, tmp_path, capsys):
    rows, printed = _lr_find(capsys, tmp_path, "--start", "1e-4", "--end", "1e-2", "--steps", "21",
                             "--diverge", "1e6")
    expected = [1e-4 * 10 ** (i / 10) for i in range(21)]  # two decades in 20 equal ratios
    assert [r["lr"] for r in rows] == pytest.approx(expected, rel=1e-5)  # the CSV keeps 6 digits
    assert [int(r["step"]) for r in rows] == list(range(1, 22))
    assert "21 steps; stopped: reached lr 0.01" in printed


def test_lr_find_diverge_sets_the_stopping_rule(runs, tmp_path, capsys):
    # the same sweep (1e-5 → 10 over 60 steps) stopped at 1.5× and at 4× the best smoothed loss
    common = ("--start", "1e-5", "--end", "10", "--steps", "60")
    tight, printed = _lr_find(capsys, tmp_path, *common, "--diverge", "1.5")
    loose, _ = _lr_find(capsys, tmp_path, *common, "--diverge", "4")
    n = len(tight)
    assert f"stopped: the smoothed loss exceeded 1.5× its best at step {n} " in printed
    smoothed = [r["smoothed"] for r in tight]
    assert smoothed[-1] > 1.5 * min(smoothed)  # the last step broke the rule ...
    assert all(smoothed[i] <= 1.5 * min(smoothed[: i + 1]) * (1 + 1e-5) for i in range(n - 1))  # ... none before
    assert n < len(loose) <= 60
    # both followed the same sweep up to where the tighter rule stopped
    assert [r["lr"] for r in tight] == [r["lr"] for r in loose[:n]]
    assert [r["loss"] for r in tight] == [r["loss"] for r in loose[:n]]


# -- predict --output: .npz, one image, a folder --------------------------------------------------------------
CLASSES = ("cat", "dog", "owl")


@pytest.fixture
def image_run(runs, tmp_path, capsys):
    """A 1-epoch CNN on a 3-class folder of 8×8 RGB images, and the pixels of four new images."""
    rng = np.random.default_rng(0)
    for c, label in enumerate(CLASSES):
        (tmp_path / "photos" / label).mkdir(parents=True)
        for i in range(6):
            pixels = rng.integers(0, 90, (8, 8, 3), dtype=np.uint8)
            pixels[..., c] += 160  # each class has its own dominant channel
            Image.fromarray(pixels).save(tmp_path / "photos" / label / f"{i}.png")
    _main(capsys, "train", "--model", "cnn", "--data", f"imagefolder:{tmp_path / 'photos'}", "--epochs", "1",
          "--name", "img", "--set", "model.width=4", *SETS)
    return rng.integers(0, 256, (4, 8, 8, 3), dtype=np.uint8)


def _by_hand(runs, pixels: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """Probabilities and labels from the run's weight file, its saved normalisation and a fresh model."""
    meta = json.loads((runs / "img" / "meta.json").read_text())
    assert meta["class_names"] == list(CLASSES) and tuple(meta["input_shape"]) == (3, 8, 8)
    model = create_model("cnn", in_chans=3, num_classes=3, input_shape=(3, 8, 8), width=4)
    load_model(model, str(runs / "img" / "model.safetensors"))
    x = torch.from_numpy(pixels.transpose(0, 3, 1, 2) / 255.0).float()
    mean, std = (torch.tensor(meta[k]).view(1, 3, 1, 1) for k in ("mean", "std"))
    with torch.no_grad():
        probs = model.eval()((x - mean) / std).softmax(-1).numpy()
    return probs, [CLASSES[i] for i in probs.argmax(1)]


def _read(path, ids: list | None = None) -> tuple[list[str], np.ndarray, list[str]]:
    """Header, probabilities and labels of a predictions CSV; with ``ids``, its first column (``id``, an
    image's path) must hold them."""
    with open(path, newline="") as f:
        header, *rows = list(csv.reader(f))
    if ids is not None:
        assert header[0] == "id" and [r[0] for r in rows] == [str(i) for i in ids]
        header, rows = header[1:], [r[1:] for r in rows]
    return header, np.array([[float(v) for v in r[:-1]] for r in rows]), [r[-1] for r in rows]


def test_predict_output_writes_the_csv_for_npz_one_image_and_a_folder(image_run, runs, tmp_path, capsys):
    pixels = image_run
    probs, labels = _by_hand(runs, pixels)
    header = ["p(cat)", "p(dog)", "p(owl)", "label"]

    np.savez(tmp_path / "new.npz", x=pixels.transpose(0, 3, 1, 2) / 255.0)  # raw units: pixels in [0, 1]
    assert _main(capsys, "predict", "img", "--input", tmp_path / "new.npz", "--output", tmp_path / "npz.csv") == ""
    got_header, got, got_labels = _read(tmp_path / "npz.csv", ids=range(len(pixels)))  # an array's row index
    assert got_header == header and got_labels == labels
    np.testing.assert_allclose(got, probs, atol=1e-5)

    (tmp_path / "new").mkdir()
    for i, name in enumerate(["b.png", "d.png", "a.png", "c.png"]):  # read in sorted order: a, b, c, d
        Image.fromarray(pixels[i]).save(tmp_path / "new" / name)
    _main(capsys, "predict", "img", "--input", tmp_path / "new" / "d.png", "--output", tmp_path / "one.csv")
    got_header, got, got_labels = _read(tmp_path / "one.csv", ids=[tmp_path / "new" / "d.png"])
    assert got_header == header and got_labels == [labels[1]]
    np.testing.assert_allclose(got, probs[[1]], atol=1e-5)

    out = tmp_path / "predictions" / "folder.csv"  # a folder that does not exist yet
    assert _main(capsys, "predict", "img", "--input", tmp_path / "new", "--output", out) == ""
    got_header, got, got_labels = _read(out, ids=[tmp_path / "new" / f"{n}.png" for n in "abcd"])
    order = [2, 0, 3, 1]  # a.png, b.png, c.png, d.png
    assert got_header == header and got_labels == [labels[i] for i in order]
    np.testing.assert_allclose(got, probs[order], atol=1e-5)
    assert np.allclose(got.sum(1), 1, atol=1e-5)
    # a path that cannot be written (here a folder) is one line, exit status 2, not a traceback
    assert cli.main(["predict", "img", "--input", str(tmp_path / "new.npz"), "--output", str(tmp_path / "new")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"deepzoo: error: --output {tmp_path / 'new'}: cannot be written") and err.count("\n") == 1


# -- evaluate and datasets: the text output -------------------------------------------------------------------
def test_evaluate_text_prints_the_split_table_of_the_json_numbers(runs, capsys):
    _main(capsys, "train", "--model", "mlp", "--data", "moons", "--epochs", "2", "--name", "m",
          "--set", "model.hidden=[8]", "--set", "optim.lr=0.02", *SETS)
    metrics = json.loads(_main(capsys, "evaluate", "m", "--json"))
    lines = _main(capsys, "evaluate", "m").rstrip("\n").splitlines()
    assert lines[0] == "evaluation of m"
    assert lines[1].split() == ["metric", "train", "valid", "test"]
    names = list(dict.fromkeys(k.partition("/")[2] for k in metrics))
    assert [line.split()[0] for line in lines[2:]] == names == ["loss", "accuracy", "f1", "auroc"]
    for line in lines[2:]:
        name, *cells = line.split()
        for split, cell in zip(["train", "valid", "test"], cells, strict=True):
            assert float(cell) == pytest.approx(metrics[f"{split}/{name}"], abs=5e-5), (name, split)
    assert 0.7 < metrics["test/accuracy"] <= 1  # it learned: the numbers are not a constant prediction's


def test_datasets_text_lists_every_registered_dataset_and_format(capsys):
    listing = json.loads(_main(capsys, "datasets", "--json"))
    lines = _main(capsys, "datasets").rstrip("\n").splitlines()
    split = lines.index("file formats (--data FORMAT:PATH[?option=value&...]):")
    named = next(i for i, line in enumerate(lines) if line.startswith("named datasets (fetched on first use into"))
    assert lines[0] == "embedded datasets:"
    shown = [line.split(None, 2) for line in lines[1:named]]
    assert [s[0] for s in shown] == [d["name"] for d in listing["datasets"]]
    assert [" ".join(s[1:]) for s in shown] == [f"{d['kind']} {d['summary']}".strip() for d in listing["datasets"]]
    fetched = [line.split(None, 4) for line in lines[named + 1:split]]
    assert [s[:4] for s in fetched] == [
        [d["name"], d["kind"], "cached" if d["cached"] else "missing", f"{d['folder']}/"] for d in listing["named"]]
    assert [s[4] for s in fetched] == [d["summary"] for d in listing["named"]]
    assert {"digits", "moons", "house-prices", "regression", "mnist1d", "sample-images", "karate"} <= {
        s[0] for s in shown}
    formats = [line.split(None, 1) for line in lines[split + 1:]]
    assert [f[0] for f in formats] == [f["format"] for f in listing["formats"]]
    assert [f[1] for f in formats] == [f["summary"] for f in listing["formats"]]
    assert {"csv:PATH", "npz:PATH", "imagefolder:PATH", "mnist:PATH", "cifar10:PATH", "planetoid:PATH",
            "edgelist:PATH"} <= {f[0] for f in formats}


# -- sample on a GAN run -------------------------------------------------------------------------------------
def test_sample_draws_from_the_trained_gan_generator(runs, capsys):
    _main(capsys, "train", "--model", "gan", "--data", "digits", "--task", "gan", "--epochs", "1", "--name", "g",
          "--set", "model.hidden=[32]", "--set", "model.latent_dim=16", "--set", "task_args.classifier_run=none",
          *SETS)
    out = _main(capsys, "sample", "g", "--n", "6", "--seed", "4")
    folder = runs / "g" / "samples"
    assert "6 samples of shape (1, 8, 8): runs/g/samples/samples_seed4.png, runs/g/samples/samples_seed4.safetensors" \
        in out
    samples = load_file(str(folder / "samples_seed4.safetensors"))["samples"]
    # by hand: the trained generator (its own weight file) on N(0, 1) noise from the seed
    generator = create_model("gan", data_shape=(1, 8, 8), latent_dim=16, hidden=[32]).generator
    load_model(generator, str(runs / "g" / "generator.safetensors"))
    with torch.no_grad():
        expected = generator.eval()(torch.randn(6, 16, generator=torch.Generator().manual_seed(4)))
    assert samples.shape == (6, 1, 8, 8)
    torch.testing.assert_close(samples, expected)
    assert samples.min() >= -1 and samples.max() <= 1  # the data's units for a GAN on digits: [-1, 1]
    grid = Image.open(folder / "samples_seed4.png")
    assert grid.format == "PNG" and min(grid.size) > 0
    # another seed, other samples; an untrained generator would give others again
    _main(capsys, "sample", "g", "--n", "6", "--seed", "5", "--out", runs / "elsewhere")
    other = load_file(str(runs / "elsewhere" / "samples_seed5.safetensors"))["samples"]
    assert not torch.allclose(other, samples)
    untrained = create_model("gan", data_shape=(1, 8, 8), latent_dim=16, hidden=[32]).generator
    with torch.no_grad():
        assert not torch.allclose(untrained.eval()(torch.randn(6, 16, generator=torch.Generator().manual_seed(4))),
                                  samples, atol=1e-3)
    assert math.isfinite(float(samples.sum()))
