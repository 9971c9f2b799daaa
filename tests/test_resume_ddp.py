"""Process-level guarantees: a run killed with SIGKILL resumes to the same weights, bit for bit, as
an uninterrupted run; a kill during a checkpoint write leaves the previous checkpoint loadable; two
DDP processes (gloo, CPU) reach the weights of one process with the combined batch."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
import torch
from safetensors.torch import load_file

from deepzoo.engine.checkpoint import load_checkpoint
from tests.conftest import QUIET

pytestmark = pytest.mark.slow


def deepzoo(*args, cwd, **kwargs):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen([sys.executable, "-m", "deepzoo", *args], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kwargs)


TRAIN = ["train", "--model", "mlp", "--data", "digits", "--epochs", "12", "--set", "model.dropout=0.2",
         "--set", "train.batch_size=8", "--set", "early_stop.patience=3"] + [a for q in QUIET for a in ("--set", q)]


def test_sigkill_then_resume_matches_an_uninterrupted_run(tmp_path):
    full = deepzoo(*TRAIN, "--name", "full", cwd=tmp_path)
    assert full.wait(timeout=300) == 0, full.stdout.read()

    victim = deepzoo(*TRAIN, "--name", "killed", cwd=tmp_path)
    last = tmp_path / "runs" / "killed" / "checkpoints" / "last.pt"
    deadline = time.time() + 120
    while time.time() < deadline:
        if last.exists() and load_checkpoint(last)["epoch"] >= 2:
            break
        time.sleep(0.05)
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    killed_at = load_checkpoint(last)["epoch"]
    assert killed_at < 12 and not (tmp_path / "runs" / "killed" / "summary.json").exists()

    resumed = deepzoo("train", "--name", "killed", "--resume", cwd=tmp_path)
    out, _ = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, out
    assert f"resumed from epoch {killed_at}" in out
    a = load_file(str(tmp_path / "runs" / "full" / "model.safetensors"))
    b = load_file(str(tmp_path / "runs" / "killed" / "model.safetensors"))
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key
    full_rows = (tmp_path / "runs" / "full" / "metrics.csv").read_text().splitlines()
    resumed_rows = (tmp_path / "runs" / "killed" / "metrics.csv").read_text().splitlines()
    def without_time(line):  # the last column is the epoch's wall time
        return line.rsplit(",", 1)[0]

    assert [without_time(r) for r in full_rows] == [without_time(r) for r in resumed_rows]


def test_sigkill_during_a_checkpoint_write_leaves_the_previous_one(tmp_path):
    path = tmp_path / "last.pt"
    script = (
        "import sys, torch\n"
        "from deepzoo.engine.checkpoint import atomic_save\n"
        "atomic_save({'x': torch.ones(4)}, sys.argv[1])\n"
        "print('first', flush=True)\n"
        "while True:\n"
        "    atomic_save({'x': torch.zeros(4), 'big': torch.randn(40_000_000)}, sys.argv[1])\n"
    )
    def temporary_files():
        return [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]

    # A kill that lands between two writes tests nothing, so it must land while a temporary file
    # exists, and that file must still be there afterwards (SIGKILL leaves no time to remove it). If a
    # write completes in the instant between seeing its file and the kill, try again (at most 3 times).
    for _attempt in range(3):
        child = subprocess.Popen([sys.executable, "-c", script, str(path)], stdout=subprocess.PIPE, text=True)
        try:
            assert child.stdout.readline().strip() == "first"
            deadline = time.time() + 60
            while not temporary_files() and time.time() < deadline:
                time.sleep(0.001)
            assert temporary_files(), "no checkpoint write started within 60 s: the kill would test nothing"
        finally:
            child.send_signal(signal.SIGKILL)
            child.wait()
            child.stdout.close()
        if temporary_files():
            break
    else:
        pytest.fail("every kill landed after a write had finished: none tested a write in flight")
    state = load_checkpoint(path)
    # the previous checkpoint, complete: the first file or a finished later one, never the torn one
    if torch.equal(state["x"], torch.ones(4)):
        assert set(state) == {"x"}
    else:
        assert torch.equal(state["x"], torch.zeros(4)) and state["big"].shape == (40_000_000,)


def test_torchrun_two_processes_match_one_process_with_the_combined_batch(tmp_path):
    common = ["--model", "mlp", "--data", "moons", "--epochs", "3", "--set", "early_stop.enabled=false",
              "--set", "model.hidden=[16]"] + [a for q in QUIET for a in ("--set", q)]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    single = subprocess.run([sys.executable, "-m", "deepzoo", "train", *common, "--name", "one",
                             "--set", "train.batch_size=32"], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert single.returncode == 0, single.stderr
    ddp = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
                          "-m", "deepzoo", "train", *common, "--name", "two", "--set", "train.batch_size=16"],
                         cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert ddp.returncode == 0, ddp.stderr[-3000:]
    a = load_file(str(tmp_path / "runs" / "one" / "model.safetensors"))
    b = load_file(str(tmp_path / "runs" / "two" / "model.safetensors"))
    for key in a:
        torch.testing.assert_close(b[key], a[key], atol=1e-5, rtol=0)
    assert '"world_size": 2' in (tmp_path / "runs" / "two" / "summary.json").read_text()
