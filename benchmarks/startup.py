"""Start-up time of deepzoo's commands, before and after a change, beside ``python -c "import torch"``.

Issue 18 ("instant start-up"): a command's wall time is mostly imports, so each command is timed as a
fresh ``python -m deepzoo`` process, for every source tree given with ``--tree`` (a folder holding
``deepzoo/``, e.g. ``src`` of this checkout and ``src`` of a ``git worktree`` at an earlier commit),
with ``python -c "import torch"`` — the floor no deepzoo command can go below — timed in the same
rounds. The trees and commands alternate within every round, so a change in the machine's load hits
all of them alike; the table gives the median of the rounds and the minimum.

    git worktree add /tmp/before a8c9df7          # the first wave, before issue 18
    python benchmarks/startup.py --tree before=/tmp/before/src --tree after=src

Commands: ``deepzoo --help``, ``deepzoo models``, and a one-epoch MLP on moons
(``deepzoo train --model mlp --data moons --epochs 1``, into a temporary runs folder).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

COMMANDS = {
    "deepzoo --help": ["--help"],
    "deepzoo models": ["models"],
    "train mlp moons 1 epoch": ["train", "--model", "mlp", "--data", "moons", "--epochs", "1", "--set",
                                "train.progress=false"],
}


def timed(argv: list[str], env: dict[str, str], cwd: str) -> float:
    """Wall seconds of one fresh process; a failing command stops the benchmark with its stderr."""
    start = time.perf_counter()
    done = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode:
        sys.exit(f"{' '.join(argv)} failed ({done.returncode}): {done.stderr.strip()[-500:]}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tree", action="append", required=True, metavar="LABEL=SRC",
                        help="a source folder holding deepzoo/ (repeat for before/after)")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    trees = dict(item.split("=", 1) for item in args.tree)
    times: dict[tuple[str, str], list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for round_ in range(args.repeats):
            times.setdefault(("python", 'python -c "import torch"'), []).append(
                timed([sys.executable, "-c", "import torch"], dict(os.environ), tmp))
            for label, src in (trees.items() if round_ % 2 == 0 else reversed(trees.items())):
                env = dict(os.environ, PYTHONPATH=os.path.abspath(src))
                for name, argv in COMMANDS.items():
                    extra = ["--runs-dir", os.path.join(tmp, f"runs-{label}-{round_}")] if argv[0] == "train" else []
                    times.setdefault((label, name), []).append(
                        timed([sys.executable, "-m", "deepzoo", *argv, *extra], env, tmp))
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"{os.cpu_count()} CPUs ({platform.machine()}), Python {platform.python_version()}, load average "
          f"{load:.2f}; {args.repeats} rounds, trees and commands alternating; seconds, median (min)")
    floor = times[("python", 'python -c "import torch"')]
    print(f'`python -c "import torch"` (the floor, in the same rounds): {statistics.median(floor):.2f} '
          f"({min(floor):.2f})")
    print(f"\n| command | {' | '.join(trees)} |\n|---|{'---|' * len(trees)}")
    for name in COMMANDS:
        cells = [f"{statistics.median(times[(label, name)]):.2f} ({min(times[(label, name)]):.2f})" for label in trees]
        print(f"| `{name}` | {' | '.join(cells)} |")


if __name__ == "__main__":
    main()
