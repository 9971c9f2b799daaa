"""docs/transfer_learning.md runs offline: its script (benchmarks/docs_figures.py transfer-learning
--quick) makes the photos, trains the source network and starts the target runs from its local weight
file — frozen (only the 3-class head trains), fine-tuned, and from scratch."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from safetensors.torch import load_file

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_the_walkthrough_runs_offline_and_a_frozen_start_keeps_the_pretrained_backbone(tmp_path):
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "docs_figures.py"), "transfer-learning",
                           "--quick", "--runs-dir", str(tmp_path)], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    results = json.loads((tmp_path / "transfer-learning.json").read_text())
    starts = ["from scratch", "frozen backbone", "fine-tuned", "fine-tuned, backbone lr × 0.1"]
    assert [k for k in results if k in starts] == starts
    # ResNet-20's head: 64 pooled features → 3 classes (64·3 + 3); the frozen run trains nothing else
    assert results["frozen backbone"]["trainable"] == 64 * 3 + 3
    assert results["from scratch"]["trainable"] == results["fine-tuned"]["trainable"] > 250_000
    runs = tmp_path / "transfer-learning"
    source = load_file(runs / "source" / "model.safetensors")
    frozen = load_file(runs / "frozen-backbone-0" / "model.safetensors")
    tuned = load_file(runs / "fine-tuned-0" / "model.safetensors")
    backbone = [k for k in source if not k.startswith("head.")]
    assert all((frozen[k] == source[k]).all() for k in backbone)  # batch-norm statistics included
    assert not all((tuned[k] == source[k]).all() for k in backbone)
    assert frozen["head.weight"].shape == (3, 64) and not (frozen["head.weight"] == source["head.weight"]).all()
