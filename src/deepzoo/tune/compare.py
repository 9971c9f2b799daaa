"""Several runs side by side: the config keys that differ, the final metrics, the validation curves."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ..config import RunConfig, flat_config
from ..errors import ConfigError
from ..run import read_summary, resolve_run_dir
from ..run.diagnostics import read_history
from .tables import format_table

# Keys that differ between any two runs by construction, so they say nothing.
IGNORED = ("name", "runs_dir")


@dataclass
class RunRecord:
    """One run as read from its folder: flat config, summary metrics and per-epoch history."""

    label: str
    dir: Path
    config: dict[str, Any]
    summary: dict[str, Any]
    history: list[dict[str, float]]

    @property
    def metrics(self) -> dict[str, float]:
        """The final metrics (``summary.json``); for an unfinished run, its last epoch's row."""
        if self.summary:
            return dict(self.summary.get("metrics", {}))
        last = self.history[-1] if self.history else {}
        return {k: v for k, v in last.items() if "/" in k and not k.startswith("lr")}

    @property
    def status(self) -> str:
        if self.summary:
            return f"best epoch {self.summary.get('best_epoch')} of {self.summary.get('epochs_run')}"
        return f"unfinished (epoch {int(self.history[-1]['epoch'])})" if self.history else "not started"


def load_runs(runs: list[str], runs_dir: str = "runs") -> list[RunRecord]:
    """Read each run (a path or a name under ``runs_dir``); labels are folder names, or paths where
    two folders share a name."""
    dirs = [resolve_run_dir(r, runs_dir) for r in runs]
    if len({d.resolve() for d in dirs}) < len(dirs):
        raise ConfigError("compare: the same run is named twice")
    names = [d.name for d in dirs]
    records = []
    for d in dirs:
        config = yaml.safe_load((d / "config.yaml").read_text()) or {}
        label = d.name if names.count(d.name) == 1 else str(d)
        records.append(RunRecord(label, d, flat_config(config), read_summary(d), read_history(d)))
    return records


def differing_keys(records: list[RunRecord]) -> list[str]:
    """Config keys whose values are not the same in every run (a key missing from a run counts), in
    the config's section order."""
    sections = [f.name for f in dataclasses.fields(RunConfig)]
    keys = {k for r in records for k in r.config}
    differ = [k for k in keys if k not in IGNORED and len({repr(r.config.get(k)) for r in records}) > 1]
    return sorted(differ, key=lambda k: (sections.index(k.split(".")[0]) if k.split(".")[0] in sections
                                         else len(sections), k))


def config_table(records: list[RunRecord]) -> str:
    """Rows: the differing keys; columns: the runs."""
    keys = differing_keys(records)
    if not keys:
        return "the runs' configs are identical (apart from their names)"
    return format_table(["key", *(r.label for r in records)], [[k, *(r.config.get(k) for r in records)]
                                                               for k in keys])


def metrics_table(records: list[RunRecord]) -> str:
    """Rows: every final metric any run reports, then each run's status; columns: the runs."""
    names = sorted({k for r in records for k in r.metrics}, key=lambda k: (k.partition("/")[0] != "valid", k))
    rows: list[list[Any]] = [[m, *(r.metrics.get(m) for r in records)] for m in names]
    rows.append(["status", *(r.status for r in records)])
    return format_table(["metric", *(r.label for r in records)], rows)
