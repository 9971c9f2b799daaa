"""Shared test fixtures: an isolated runs folder and quiet training defaults."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("OMP_NUM_THREADS", "2")

QUIET = ["train.progress=false", "train.tensorboard=false", "train.plots=false"]


@pytest.fixture
def runs(tmp_path, monkeypatch):
    """A fresh runs folder; the working directory moves there so nothing lands in the repo."""
    monkeypatch.chdir(tmp_path)
    return tmp_path / "runs"
