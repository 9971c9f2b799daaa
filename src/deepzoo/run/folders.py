"""Run folders: ``<runs_dir>/<name>/`` with config, metrics, checkpoints, weights, plots and summary.

What this module guarantees (docs/training.md, "What deepzoo guarantees"):

- **A run name is a name.** Letters, digits, ``.``, ``_`` and ``-``, never ``.`` or ``..``: a run folder
  is always a child of the runs root (``--runs-dir``, created if missing), whatever the name says.
- **One process per run folder.** Training, resuming and overwriting hold an exclusive OS lock
  (``flock`` on ``<run>/.lock``) for their whole length. The kernel releases it when the holder exits
  or is killed, so a killed run never leaves a stale lock; a second process is told the holder's PID.
- **Nothing is deleted that is not a run.** An existing run is never silently overwritten: without a
  name the next free one is taken (``cnn-digits``, ``cnn-digits-2`` ...); an explicit name that exists
  needs ``--resume`` or ``--overwrite``, and ``--overwrite`` empties only a deepzoo run folder (its
  ``config.yaml`` is there with ``summary.json`` or ``meta.json``) that no other process holds.
"""

from __future__ import annotations

import errno
import json
import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config import RunConfig
from ..errors import ConfigError, TrainingError
from ..files import remove_temporaries

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows has no flock; run folders are then unlocked
    fcntl = None

#: a run name: letters, digits, ".", "_" and "-" (and not "." or "..")
RUN_NAME = re.compile(r"[A-Za-z0-9_.-]+")
LOCK_FILE = ".lock"
#: files deepzoo writes when it creates a run folder (with config.yaml, one of them marks a run)
RUN_MARKERS = ("summary.json", "meta.json")


def check_run_name(name: str, option: str = "--name") -> str:
    """``name`` if it is a plain run name; else a one-line :class:`ConfigError`."""
    if not RUN_NAME.fullmatch(name) or name in (".", ".."):
        raise ConfigError(f"{option} {name!r}: a name is letters, digits, '.', '_' and '-' (not a path, "
                          "not '.' or '..'); use --runs-dir to put runs in another folder")
    return name


def default_name(config: RunConfig) -> str:
    """``<model>-<dataset>``, with the path part of a file spec reduced to its stem."""
    data = config.data.spec.partition("?")[0]
    data = Path(data.partition(":")[2] or data).stem or data
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", f"{config.model.name}-{data}").strip("-") or "run"


def is_run_folder(path: Path) -> bool:
    """Whether ``path`` is a folder deepzoo made for a run (config.yaml with summary.json or meta.json)."""
    return (path / "config.yaml").is_file() and any((path / m).is_file() for m in RUN_MARKERS)


def _is_unused(path: Path) -> bool:
    """A folder that holds nothing but a lock or temporaries (a run killed while it was being created)."""
    return all(p.name == LOCK_FILE or p.name.endswith(".tmp") for p in path.iterdir())


class RunLock:
    """An exclusive ``flock`` on ``<run>/.lock``, held while a process writes the run folder.

    The lock belongs to the open file, so the kernel drops it when the process ends in any way; the
    file itself stays (deleting it would let two processes lock two different files). The holder's
    PID is written into it for the message the next process gets.
    """

    def __init__(self, run_dir: Path):
        self.run_dir = run_dir
        self.fd: int | None = None

    def acquire(self) -> RunLock:
        if fcntl is None:
            return self
        fd = os.open(self.run_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as err:
            holder = os.read(fd, 32).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            if err.errno not in (errno.EAGAIN, errno.EACCES):
                raise
            raise TrainingError(f"{self.run_dir} is in use by another deepzoo process (PID {holder}); "
                                "wait for it to finish or stop it first") from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self.fd = fd
        return self

    def release(self) -> None:
        if self.fd is not None:
            os.close(self.fd)  # closing the file drops the flock
            self.fd = None

    def __enter__(self) -> RunLock:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.release()


@dataclass
class RunFolder:
    """A run folder this process holds: its path, its lock, and whether this call created it (a new
    folder whose set-up fails is removed again, so a bad value leaves nothing behind)."""

    path: Path
    lock: RunLock
    created: bool = False
    removed_temporaries: list[Path] = field(default_factory=list)

    def clear(self, keep: tuple[str, ...] = ()) -> None:
        """Delete everything in the folder but its lock and ``keep``."""
        for entry in self.path.iterdir():
            if entry.name == LOCK_FILE or entry.name in keep:
                continue
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()

    def discard(self) -> None:
        """Remove a folder this call created and release it (set-up failed before anything trained)."""
        self.lock.release()
        if self.created:
            shutil.rmtree(self.path, ignore_errors=True)


def runs_root(config: RunConfig) -> Path:
    """The runs root (created if missing)."""
    root = Path(config.runs_dir).expanduser()
    if root.exists() and not root.is_dir():
        raise ConfigError(f"--runs-dir {config.runs_dir}: is a file, not a folder")
    root.mkdir(parents=True, exist_ok=True)
    return root


def _child(root: Path, name: str) -> Path:
    """``root/name``, refusing a name that is a symbolic link leading out of the runs root."""
    path = root / check_run_name(name)
    if path.is_symlink() or (path.exists() and path.resolve().parent != root.resolve()):
        raise ConfigError(f"{path}: is a link to {path.resolve()}; run folders must be real folders in {root}")
    return path


def _held(path: Path, created: bool = False) -> RunFolder:
    folder = RunFolder(path, RunLock(path).acquire(), created)
    folder.removed_temporaries = remove_temporaries(path)
    return folder


def new_run_folder(config: RunConfig, overwrite: bool = False) -> RunFolder:
    """Create and lock the folder of a new run, fixing ``config.name`` when none was given."""
    root = runs_root(config)
    if not config.name:
        base = default_name(config)
        for i in range(1, 10_000):
            path = root / (base if i == 1 else f"{base}-{i}")
            try:
                path.mkdir()
            except FileExistsError:
                continue
            config.name = path.name
            return _held(path, created=True)
        raise TrainingError(f"{root}: no free run name {base}-N left; pass --name")
    path = _child(root, config.name)
    try:
        path.mkdir()
        return _held(path, created=True)
    except FileExistsError:
        pass
    if not path.is_dir():
        raise TrainingError(f"{path} exists and is not a folder; pick another --name")
    folder = _held(path)
    if _is_unused(path):
        return folder
    if not overwrite:
        folder.lock.release()
        raise TrainingError(f"{path} exists; pass --resume to continue it or --overwrite to replace it")
    if not is_run_folder(path):
        folder.lock.release()
        raise TrainingError(f"{path} is not a deepzoo run folder (no config.yaml with summary.json or "
                            "meta.json); --overwrite deletes only runs, so pick another --name")
    folder.clear()
    return folder


def resumable_run_folder(config: RunConfig) -> RunFolder:
    """Lock the existing folder of the run ``config.name`` for ``--resume``."""
    if not config.name:
        raise ConfigError("--resume needs the run's --name")
    path = _child(runs_root(config), config.name)
    if not path.is_dir():
        raise TrainingError(f"{path}: no such run to resume")
    folder = _held(path)
    if not (path / "config.yaml").is_file():
        folder.lock.release()
        raise TrainingError(f"{path}: the run never started (no config.yaml); train it without --resume")
    return folder


def resolve_run_dir(run: str | Path, runs_dir: str = "runs") -> Path:
    """A run given by path or by name under ``runs_dir``, for commands that only read it; one-line
    error when it is not a run."""
    for candidate in (Path(run), Path(runs_dir) / str(run)):
        if (candidate / "config.yaml").is_file():
            return candidate
    raise ConfigError(f"{run}: not a run folder (no config.yaml found there or under {runs_dir}/)")


def read_json(path: Path, regenerate: str) -> dict[str, Any]:
    """A JSON file of a run folder; a damaged one is a one-line error saying what writes it again."""
    try:
        data = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise TrainingError(f"{path}: cannot be read ({type(err).__name__}); {regenerate}") from None
    if not isinstance(data, dict):
        raise TrainingError(f"{path}: not a JSON object; {regenerate}")
    return data


def read_summary(run_dir: Path) -> dict[str, Any]:
    """``summary.json`` of a run folder (empty when training did not finish)."""
    path = run_dir / "summary.json"
    if not path.is_file():
        return {}
    return read_json(path, f"`deepzoo train --name {run_dir.name} --resume` writes it again")
