"""Runs: their folders (:mod:`.folders`: names, locks, what ``--overwrite`` may delete, reading a
finished run's files) and their building and training (:mod:`.training`, the public face of which is
:mod:`deepzoo.api`)."""

from .folders import (
    RunFolder,
    RunLock,
    check_run_name,
    default_name,
    new_run_folder,
    read_json,
    read_summary,
    resolve_run_dir,
    resumable_run_folder,
    runs_root,
)

__all__ = ["RunFolder", "RunLock", "check_run_name", "default_name", "new_run_folder", "read_json", "read_summary",
           "resolve_run_dir", "resumable_run_folder", "runs_root"]
