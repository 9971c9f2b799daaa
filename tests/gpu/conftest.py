"""The GPU suite's device, marker and shared checks.

Every test in ``tests/gpu`` is marked ``gpu`` and trains on the device named by the environment variable
``DEEPZOO_GPU_TESTS_DEVICE`` (default ``cuda``). Where that is CUDA and no CUDA device is present, every
test here is skipped with a reason, so ``make test`` stays green on a CPU machine;
``DEEPZOO_GPU_TESTS_DEVICE=cpu`` runs the same tests on the CPU, a dry run of the suite itself.
"""

from __future__ import annotations

import csv
import json
import math
import os
from pathlib import Path

import pytest
import torch

DEVICE = os.environ.get("DEEPZOO_GPU_TESTS_DEVICE", "cuda")
DEVICE_TYPE = torch.device(DEVICE).type
SKIP_REASON = "CUDA is not available: run tests/gpu on a GPU machine (benchmarks/gpu_session.sh runs it first)"
HERE = Path(__file__).resolve().parent
#: what ``train.precision=auto`` resolves to on the device (bf16 autocast on CUDA, fp32 on the CPU)
AUTO_PRECISION = "bf16" if DEVICE_TYPE == "cuda" else "fp32"
#: the files every run folder written with tests/conftest.py's QUIET overrides holds
RUN_FILES = ("config.yaml", "meta.json", "metrics.csv", "summary.json", "model.safetensors")
CHECKPOINTS = ("checkpoints/last.pt", "checkpoints/best.pt")


def pytest_collection_modifyitems(config, items):
    """Mark every test of this folder ``gpu``, skip them all where the device is CUDA and absent, and run
    the ``--compile`` tests last: each compiles for tens of seconds on a cold cache, so a time limit that
    cuts the suite short cuts them rather than the families."""
    missing = DEVICE_TYPE == "cuda" and not torch.cuda.is_available()
    for item in items:
        if HERE in Path(item.path).resolve().parents:
            item.add_marker(pytest.mark.gpu)
            if missing:
                item.add_marker(pytest.mark.skip(reason=SKIP_REASON))
    items.sort(key=lambda item: HERE in Path(item.path).resolve().parents and "compile" in item.name)


@pytest.fixture(autouse=True)
def one_thread_on_the_cpu():
    """One intra-op thread for a CPU dry run: the cores are shared, and OpenMP spin-waiting there made
    the same run take 0.3 s or 20 s (as tests/conftest.py's ``one_thread``); a GPU run keeps its threads."""
    if DEVICE_TYPE != "cpu":
        yield
        return
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def on_device(overrides: list[str] | tuple[str, ...] = ()) -> list[str]:
    """``overrides`` with ``train.device`` set to the suite's device, so every run lands there."""
    return [*overrides, f"train.device={DEVICE}"]


def metric_rows(run_dir: Path) -> list[dict[str, float]]:
    """``metrics.csv`` of a run as one dict of floats per epoch (empty cells left out)."""
    with (Path(run_dir) / "metrics.csv").open() as f:
        return [{k: float(v) for k, v in row.items() if v} for row in csv.DictReader(f)]


def assert_run_folder(run_dir: Path, extra: tuple[str, ...] = (), checkpoints: bool = True) -> dict:
    """The run folder holds what the CPU tests expect (config, meta, metrics, summary, weights and,
    unless turned off, both checkpoints, plus ``extra``), its summary has finite metrics and names the
    suite's device; returns the summary."""
    run_dir = Path(run_dir)
    wanted = (*RUN_FILES, *(CHECKPOINTS if checkpoints else ()), *extra)
    missing = [name for name in wanted if not (run_dir / name).is_file() or (run_dir / name).stat().st_size == 0]
    present = sorted(str(p.relative_to(run_dir)) for p in run_dir.rglob("*"))
    assert not missing, f"{run_dir} lacks {missing}; it has {present}"
    summary = json.loads((run_dir / "summary.json").read_text())
    assert torch.device(summary["device"]).type == DEVICE_TYPE, summary["device"]
    bad = {k: v for k, v in summary["metrics"].items() if isinstance(v, float) and not math.isfinite(v)}
    assert not bad, f"non-finite metrics: {bad}"
    assert len(metric_rows(run_dir)) >= 1
    return summary


def assert_module_on_device(module: torch.nn.Module) -> None:
    """Every parameter and buffer of ``module`` lives on the suite's device: the work really ran there."""
    tensors = [*module.parameters(), *module.buffers()]
    assert tensors, "the module has no tensors to check"
    places = {t.device.type for t in tensors}
    assert places == {DEVICE_TYPE}, f"tensors on {places}, expected {DEVICE_TYPE}"


def guess_ceiling(chance: float, n: int) -> float:
    """What guessing at ``chance`` reaches on ``n`` items at most, but for one time in a thousand: chance
    plus three binomial standard errors (a learned accuracy must beat it)."""
    return chance + 3 * math.sqrt(chance * (1 - chance) / n)
