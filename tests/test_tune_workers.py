"""The default journal-file storage with several processes: two workers share a study, and a study
killed with SIGKILL mid-trial resumes to its trial count, re-running the lost trial's parameters."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import optuna
import pytest

from deepzoo import cli
from deepzoo.tune.study import trial_status

pytestmark = pytest.mark.slow

SPACE = "optim.lr: {type: float, low: 1.0e-3, high: 0.1, log: true}\n"


def _study(runs, name: str) -> optuna.Study:
    from optuna.storages.journal import JournalFileBackend, JournalStorage

    storage = JournalStorage(JournalFileBackend(str(runs / name / "journal.log")))
    return optuna.load_study(study_name=name, storage=storage)


def _finished_slots(trials) -> list[int]:
    return sorted(t.user_attrs["slot"] for t in trials if trial_status(t) in ("complete", "pruned", "failed"))


@pytest.fixture
def space(runs, tmp_path, monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # worker processes share the two cores
    path = tmp_path / "space.yaml"
    path.write_text(SPACE)
    return path


def _args(space, name: str, trials: int, epochs: int) -> list[str]:
    return ["tune", "--model", "mlp", "--data", "moons", "--space", str(space), "--sampler", "random",
            "--pruner", "none", "--study", name, "--trials", str(trials), "--epochs", str(epochs)]


def test_two_workers_share_a_study(runs, space):
    assert cli.main(_args(space, "pair", 5, 5) + ["--workers", "2"]) == 0
    # a race for the last queued trial may leave a surplus one, closed unrun
    trials = [t for t in _study(runs, "pair").trials if trial_status(t) != "surplus"]
    assert [trial_status(t) for t in trials] == ["complete"] * 5
    assert _finished_slots(trials) == [0, 1, 2, 3, 4]  # each slot once: exactly N trials between them
    assert len({t.user_attrs["worker"]["pid"] for t in trials}) == 2  # both workers took trials
    assert len({t.user_attrs["run"] for t in trials}) == 5


def test_sigkill_mid_trial_then_resume(runs, space):
    # trials long enough (30 epochs) that the poll below sees one mid-training on a fast, idle machine
    args = _args(space, "crash", 4, 30)
    proc = subprocess.Popen([sys.executable, "-m", "deepzoo", *args], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    journal = runs / "crash" / "journal.log"
    deadline = time.monotonic() + 240
    victim = None
    while victim is None and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
        if not journal.is_file():
            continue
        trials = _study(runs, "crash").trials if journal.stat().st_size else []
        running = [t for t in trials if t.state == optuna.trial.TrialState.RUNNING and t.intermediate_values]
        if running and any(t.state == optuna.trial.TrialState.COMPLETE for t in trials):
            victim = running[0]
    assert victim is not None, "the study never had a finished trial and one mid-training"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()

    before = {t.number: t for t in _study(runs, "crash").trials if t.state.is_finished()}
    stamps = {n: (runs / "crash" / t.user_attrs["run"] / "summary.json").stat().st_mtime_ns for n, t in before.items()}
    assert cli.main(args) == 0  # the same command resumes the study

    trials = _study(runs, "crash").trials
    assert trial_status(trials[victim.number]) == "lost"
    retry = [t for t in trials if t.user_attrs.get("retry_of") == victim.number]
    assert len(retry) == 1 and retry[0].params == victim.params and trial_status(retry[0]) == "complete"
    assert _finished_slots(trials) == [0, 1, 2, 3]  # reached its count, no slot twice
    for number, old in before.items():  # finished trials kept as they were, not run again
        assert (trials[number].state, trials[number].value) == (old.state, old.value)
        path = runs / "crash" / old.user_attrs["run"] / "summary.json"
        assert path.stat().st_mtime_ns == stamps[number]
    finished_runs = [t.user_attrs["run"] for t in trials if trial_status(t) == "complete"]
    assert len(set(finished_runs)) == 4


def test_sigterm_mid_trial_queues_it_again_and_the_same_command_continues(runs, space, monkeypatch, capsys):
    from deepzoo.recipes.supervised import SupervisedRecipe
    from tests.test_run_safety import signal_at

    args = _args(space, "term", 2, 3)
    with monkeypatch.context() as patch:
        patch.setattr(SupervisedRecipe, "training_step", signal_at(5, signal.SIGTERM))
        assert cli.main(args) == 143
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err == ("deepzoo: SIGTERM stopped trial 0; it is queued again: rerun the same `deepzoo tune` command "
                   "to continue the study")
    assert trial_status(_study(runs, "term").trials[0]) == "lost"
    assert cli.main(args) == 0
    trials = _study(runs, "term").trials
    retry = [t for t in trials if t.user_attrs.get("retry_of") == 0]
    assert len(retry) == 1 and trial_status(retry[0]) == "complete"
    assert _finished_slots(trials) == [0, 1]
