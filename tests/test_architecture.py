"""The architecture holds: imports run one way (the layer table of docs/ARCHITECTURE.md), heavy libraries
load only where used, and a command prints no third-party warning and a user error in one line."""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "deepzoo"
ARCHITECTURE = ROOT / "docs" / "ARCHITECTURE.md"


def layer_table() -> dict[str, int]:
    """Package (or top-level module) → its layer, read from the table in docs/ARCHITECTURE.md."""
    rows = re.findall(r"^\| (\d+) \| ([^|]+) \|", ARCHITECTURE.read_text(), flags=re.MULTILINE)
    return {name: int(layer) for layer, cell in rows for name in re.findall(r"`([\w_]+)`", cell)}


def unit_of(path: Path) -> str:
    """The package a module file belongs to (``engine`` for engine/loop.py, ``api`` for api.py)."""
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    return parts[0]


def imported_units(path: Path) -> list[tuple[str, int]]:
    """Every deepzoo package a module imports — at the top or inside a function — with its line."""
    dotted = ["deepzoo", *path.relative_to(PACKAGE).with_suffix("").parts]
    package = dotted[:-1]  # what a relative import starts from, for a module and a package's __init__
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)]
                names = [".".join(base + [node.module])] if node.module else \
                    [".".join(base + [alias.name]) for alias in node.names]
            else:
                names = [node.module or ""]
        else:
            continue
        for name in names:
            parts = name.split(".")
            if parts[0] == "deepzoo" and len(parts) > 1:
                found.append((parts[1], node.lineno))
    return found


def test_every_package_is_in_the_layer_table():
    """A new package must be placed in the table before it can be checked."""
    layers = layer_table()
    units = {unit_of(p) for p in PACKAGE.rglob("*.py")} - {"__init__"}
    assert units - set(layers) == set(), f"add these to docs/ARCHITECTURE.md's layer table: {units - set(layers)}"


def test_imports_run_one_way():
    """Each module imports only packages of lower layers (function-local imports included)."""
    layers = layer_table()
    wrong = []
    for path in sorted(PACKAGE.rglob("*.py")):
        unit = unit_of(path)
        if unit == "__init__":
            continue
        for target, line in imported_units(path):
            if target != unit and layers.get(target, 99) >= layers[unit]:
                wrong.append(f"{path.relative_to(ROOT)}:{line} ({unit}, layer {layers[unit]}) imports {target} "
                             f"(layer {layers.get(target)})")
    assert not wrong, "imports against the layers of docs/ARCHITECTURE.md:\n" + "\n".join(wrong)


def test_the_import_walk_sees_function_local_and_relative_imports():
    """The checker itself: relative imports at the top and inside a function are found, so the test
    above can fail (engine/logger.py imports plots inside ``redraw``)."""
    assert "recipes" in {t for t, _ in imported_units(PACKAGE / "engine" / "loop.py")}
    assert "plots" in {t for t, _ in imported_units(PACKAGE / "engine" / "logger.py")}


def run_python(code: str, cwd: Path) -> subprocess.CompletedProcess:
    """``code`` in a fresh interpreter (the test's own), from ``cwd``."""
    env = dict(os.environ, PYTHONWARNINGS="default")
    return subprocess.run([sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=300)


def test_engine_and_data_load_no_plotting_or_graph_library(tmp_path):
    """``import deepzoo.engine`` and ``import deepzoo.data`` load neither matplotlib nor PyG."""
    done = run_python("import sys, deepzoo.engine, deepzoo.data; "
                      "print(sorted(m for m in ('matplotlib', 'torch_geometric') if m in sys.modules))", tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


@pytest.mark.slow
def test_a_csv_run_prints_no_third_party_warning_and_never_loads_pyg(tmp_path):
    """The issue's check: a one-epoch MLP on moons in a subprocess, with every warning shown; its
    stderr holds no ``Warning`` and PyTorch Geometric was never imported."""
    done = run_python("import sys\nfrom deepzoo.cli import main\n"
                      "rc = main(['train', '--model', 'mlp', '--data', 'moons', '--epochs', '1', '--set', "
                      "'train.progress=false'])\nprint('pyg', 'torch_geometric' in sys.modules)\nsys.exit(rc)",
                      tmp_path)
    assert done.returncode == 0, done.stderr
    assert "Warning" not in done.stderr, done.stderr
    assert "pyg False" in done.stdout


@pytest.mark.slow
def test_a_graph_run_prints_no_third_party_warning(tmp_path):
    """A GCN run imports PyTorch Geometric, whose torch.jit deprecation warning is filtered by message."""
    done = run_python("import sys\nfrom deepzoo.cli import main\n"
                      "sys.exit(main(['train', '--model', 'gcn', '--data', 'karate', '--epochs', '1', '--set', "
                      "'train.progress=false']))", tmp_path)
    assert done.returncode == 0, done.stderr
    assert "Warning" not in done.stderr, done.stderr


def test_a_user_error_is_one_line_on_stderr(tmp_path):
    """An unknown model name: exit 2 and exactly one line on stderr, with the close match."""
    done = subprocess.run([sys.executable, "-m", "deepzoo", "train", "--model", "mlpp", "--data", "moons"],
                          cwd=tmp_path, env=dict(os.environ, PYTHONWARNINGS="default"), capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "did you mean mlp" in done.stderr, done.stderr


def test_the_model_listing_loads_neither_torch_nor_a_family(tmp_path):
    """``deepzoo models`` reads the recorded catalogue: no PyTorch, no model module is imported."""
    done = run_python("import sys\nfrom deepzoo.cli import main\nmain(['models'])\n"
                      "print('loaded', sorted(m for m in sys.modules if m == 'torch' or m.startswith('deepzoo.models.')"
                      " and not m.endswith('_catalogue')))", tmp_path)
    assert done.returncode == 0, done.stderr
    assert "resnet50" in done.stdout and "loaded []" in done.stdout, done.stdout[-300:]
