"""A study's report: the trials table (``trials.csv``), ``best.yaml`` and the plots.

``best.yaml`` is the trials' base config with the best trial's values set; ``deepzoo train --config
best.yaml`` replays the best trial (same data split, seed and settings, so the same result on CPU).
"""

from __future__ import annotations

import csv
import math
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

from ..config import RunConfig
from .study import StudySettings, trial_status
from .tables import format_table


@dataclass
class TrialRow:
    """One trial as the table shows it (surplus trials, closed unrun, are left out)."""

    number: int
    status: str
    value: float | None
    epochs: int | None
    best_epoch: int | None
    seconds: float | None
    params: dict[str, Any]
    run: str | None
    note: str = ""


@dataclass
class StudyReport:
    """What ``deepzoo tune`` prints and where it wrote things."""

    rows: list[TrialRow]
    best: TrialRow | None
    files: dict[str, Path] = field(default_factory=dict)
    importances: dict[str, float] = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for row in self.rows:
            out[row.status] = out.get(row.status, 0) + 1
        return out


def trial_rows(study: optuna.Study, settings: StudySettings) -> list[TrialRow]:
    space = settings.search_space
    rows = []
    for t in study.get_trials(deepcopy=False):
        status = trial_status(t)
        if status == "surplus":
            continue
        attrs = t.user_attrs
        note = attrs.get("error") or attrs.get("lost") or attrs.get("crashed") or ""
        if "retry_of" in attrs:
            note = f"re-run of trial {attrs['retry_of']}" + (f"; {note}" if note else "")
        rows.append(TrialRow(t.number, status, t.value if t.state != TrialState.FAIL else None,
                             attrs.get("epochs"), attrs.get("best_epoch"), attrs.get("seconds"),
                             space.decode(t.params), attrs.get("run"), note))
    return rows


def format_trials(rows: list[TrialRow], monitor: str) -> str:
    """The trials table: number, status, value, epochs, seconds and every searched key."""
    keys = list(dict.fromkeys(k for r in rows for k in r.params))
    headers = ["trial", "status", monitor, "epochs", "best epoch", "seconds", *keys]
    table = [[r.number, r.status, r.value, r.epochs, r.best_epoch, r.seconds, *(r.params.get(k) for k in keys)]
             for r in rows]
    return format_table(headers, table)


def write_trials_csv(rows: list[TrialRow], monitor: str, path: Path) -> Path:
    keys = list(dict.fromkeys(k for r in rows for k in r.params))
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["trial", "status", monitor, "epochs", "best_epoch", "seconds", *keys, "run", "note"])
        for r in rows:
            writer.writerow([r.number, r.status, r.value, r.epochs, r.best_epoch, r.seconds,
                             *(r.params.get(k) for k in keys), r.run, r.note])
    return path


def best_config(settings: StudySettings, best: TrialRow) -> RunConfig:
    """The user's base config with the best trial's values (``name`` unset: a replay picks its own)."""
    config = settings.search_space.apply(RunConfig.from_dict(settings.user_config), best.params)
    config.name = None
    return config


def param_importances(study: optuna.Study) -> dict[str, float]:
    """Optuna's default importance evaluator (PED-ANOVA in Optuna 5; fANOVA before), over complete
    trials; empty when there are too few trials or parameters to say anything."""
    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    if len(complete) < 2 or not complete[0].params:
        return {}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            importances = optuna.importance.get_param_importances(study)
    except (RuntimeError, ValueError, ZeroDivisionError):
        return {}
    return {k: float(v) for k, v in importances.items() if math.isfinite(v)}


def write_report(study: optuna.Study, settings: StudySettings, plots: bool = True) -> StudyReport:
    """Write ``trials.csv``, ``best.yaml``, the plots and the HTML page of them all (``report.html``) into
    the study folder."""
    from ..plots.tune import plot_history, plot_importances, plot_trial_curves
    from ..report import write_study_report

    folder = settings.folder
    rows = trial_rows(study, settings)
    complete = [r for r in rows if r.status == "complete" and r.value is not None and math.isfinite(r.value)]
    sign = 1 if settings.direction == "maximize" else -1
    best = max(complete, key=lambda r: (sign * r.value, -r.number)) if complete else None
    report = StudyReport(rows, best)
    report.files["trials"] = write_trials_csv(rows, settings.monitor, folder / "trials.csv")
    if best is not None:
        path = folder / "best.yaml"
        best_config(settings, best).save(path)
        report.files["best config"] = path
    if plots:
        trials: list[FrozenTrial] = [t for t in study.get_trials(deepcopy=False) if trial_status(t) != "surplus"]
        report.files["history"] = plot_history(trials, settings.monitor, settings.direction,
                                               folder / "plots" / "history.png")
        report.files["curves"] = plot_trial_curves(trials, settings.monitor, best.number if best else None,
                                                   folder / "plots" / "curves.png")
        report.importances = param_importances(study)
        if report.importances:
            report.files["importances"] = plot_importances(report.importances, folder / "plots" / "importances.png")
    report.files["report"] = write_study_report(folder)
    return report
