"""Shared test fixtures: an isolated runs folder and quiet training defaults."""

from __future__ import annotations

import os

import pytest
import torch

os.environ.setdefault("OMP_NUM_THREADS", "2")

QUIET = ["train.progress=false", "train.tensorboard=false", "train.plots=false"]


@pytest.fixture
def runs(tmp_path, monkeypatch):
    """A fresh runs folder; the working directory moves there so nothing lands in the repo."""
    monkeypatch.chdir(tmp_path)
    return tmp_path / "runs"


@pytest.fixture(scope="module")
def one_thread():
    """One intra-op thread for a module's tests: the cores are shared, and OpenMP spin-waiting then
    costs more than it gains (modules opt in with ``pytestmark = pytest.mark.usefixtures("one_thread")``)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
