"""``runs/<name>/report.html``: one self-contained page that shows a whole run.

What it holds, each read from the run folder (a file that is missing or damaged becomes a note):
the run and its final metrics with the best epoch (``summary.json``, ``metrics.csv``), the diagnostics
(``diagnostics.json``), every picture the run drew grouped by sub-folder — curves, confusion matrix,
sample grids and their progression, reconstructions, embeddings, attribution maps — with its tables and
records, the data (``meta.json`` and the split sizes), the model (``model_summary.txt``), the config
(``config.yaml``) and the library versions. Training writes it at the end of every run, resumed runs
included; ``deepzoo report RUN`` writes it again on demand.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..files import write_text_atomic
from .folder import as_number, read_csv, read_json, read_text
from .html import Section, fields, page, preformatted, record, table, text
from .pages import folder_sections, history_table, versions_section

if TYPE_CHECKING:
    from ..data import DataBundle

REPORT = "report.html"
#: the sizes of the splits a run trained on, recorded by the report written after training (the run
#: folder holds no dataset, so a report written later reads them here)
DATA_SIZES = "data_sizes.json"
#: files with a section of their own, left out of the folder's generic sections
OWN_SECTIONS = ("summary.json", "meta.json", DATA_SIZES, "diagnostics.json", "metrics.csv", "model_size.json")
#: summary.json fields shown in the run table, in this order (others it holds follow them)
RUN_FIELDS = (("model", "model"), ("data", "data"), ("task", "task"), ("monitor", "monitored metric"),
              ("best_epoch", "best epoch"), ("epochs_run", "epochs run"), ("seconds", "wall time (s)"),
              ("device", "device"), ("precision", "precision"), ("world_size", "processes"), ("seed", "seed"),
              ("command", "command"))
#: class names listed in full up to this many
CLASS_NAMES_SHOWN = 100


def split_sizes(data: DataBundle) -> dict[str, int]:
    """Items per split (rows, images, graphs, or a graph's nodes), for the splits that have a size."""
    sizes = {}
    for name, split in data.splits().items():
        try:
            sizes[name] = len(split)
        except TypeError:  # None, or a split without a length
            continue
    return sizes


def write_run_report(run_dir: str | Path, data: DataBundle | None = None, output: str | Path | None = None) -> Path:
    """Write the run's report page (``run_dir/report.html`` unless ``output`` is given) and return its
    path. ``data``, the bundle the run trained on, records the split sizes in ``data_sizes.json`` first."""
    run_dir = Path(run_dir)
    if data is not None:
        write_text_atomic(run_dir / DATA_SIZES, json.dumps(split_sizes(data), indent=2))
    path = Path(output) if output is not None else run_dir / REPORT
    write_text_atomic(path, run_page(run_dir))
    return path


def run_page(run_dir: Path) -> str:
    """The report of the run in ``run_dir`` as an HTML document."""
    summary, summary_problem = read_json(run_dir / "summary.json")
    summary = summary if isinstance(summary, dict) else {}
    header, history = read_csv(run_dir / "metrics.csv")
    status = (f"finished: best epoch {summary.get('best_epoch')} of {summary.get('epochs_run')}" if summary else
              f"unfinished ({summary_problem}; {len(history)} epoch(s) in metrics.csv)")
    sections = [run_section(summary, status), metrics_section(summary, header, history)]
    diagnostics, problem = read_json(run_dir / "diagnostics.json")
    if problem is None:
        sections.append(diagnostics_section(diagnostics))
    sections += folder_sections(run_dir, OWN_SECTIONS)
    sections += [data_section(run_dir), model_section(run_dir), config_section(run_dir),
                 versions_section(summary.get("versions"))]
    subtitle = f"{summary.get('model', '?')} on {summary.get('data', '?')} — {status} — {run_dir}"
    return page(f"Run {run_dir.name}", subtitle, sections)


def run_section(summary: dict[str, Any], status: str) -> Section:
    """What ran, where, for how long, and the best epoch — every plain field of ``summary.json``."""
    known = dict(RUN_FIELDS)
    rows = [["status", status]]
    rows += [[label, summary[key]] for key, label in RUN_FIELDS if key in summary]
    rows += [[key, value] for key, value in summary.items()
             if key not in known and isinstance(value, (str, int, float, bool))]
    return Section("Run", fields(rows))


def metrics_section(summary: dict[str, Any], header: list[str], history: list[dict[str, str]]) -> Section:
    """The final metrics (one row per metric, one column per split), the logged row of the best epoch,
    and every epoch's row."""
    parts = []
    final = summary.get("metrics") or {}
    if final:
        splits = list(dict.fromkeys(key.partition("/")[0] for key in final))
        names = list(dict.fromkeys(key.partition("/")[2] for key in final))
        rows = [[name, *(final.get(f"{split}/{name}") for split in splits)] for name in names]
        parts.append(f'<p class="note">of the weights of epoch {text(summary.get("best_epoch"))}, the best by '
                     f'{text(summary.get("monitor"))}</p>' + table(["metric", *splits], rows))
    best = str(summary.get("best_epoch"))
    logged = next((row for row in history if row.get("epoch") == best), None) or (history[-1] if history else None)
    if logged:
        which = f"epoch {best} (best)" if logged.get("epoch") == best else f"epoch {logged.get('epoch')} (the last)"
        parts.append(f"<h3>metrics.csv at {text(which)}</h3>")
        parts.append(table(["column", "value"], ([h, as_number(logged.get(h, ""))] for h in header)))
        parts.append(history_table(header, history))
    return Section("Metrics", "".join(parts) or '<p class="note">no metrics recorded</p>')


def diagnostics_section(diagnostics: Any) -> Section:
    """What ``diagnostics.json`` says about the curves (still improving, overfitting from an epoch): its
    ``messages`` as sentences, then the figures behind them, folded."""
    messages = diagnostics.get("messages") if isinstance(diagnostics, dict) else None
    if not isinstance(messages, list):
        return Section("Diagnostics", record(diagnostics))
    details = {k: v for k, v in diagnostics.items() if k != "messages"}
    said = record([str(m) for m in messages]) if messages else '<p class="note">nothing to report</p>'
    return Section("Diagnostics", f"{said}<details><summary>the figures</summary>{record(details)}</details>")


def data_section(run_dir: Path) -> Section:
    """The dataset: name, task and why, input shape, split sizes, classes, normalisation."""
    meta, problem = read_json(run_dir / "meta.json")
    if problem is not None or not isinstance(meta, dict):
        return Section("Data", f'<p class="note">{text(problem or "meta.json: not an object")}</p>')
    sizes, _ = read_json(run_dir / DATA_SIZES)
    rows: list[list[Any]] = [["dataset", meta.get("name")], ["task", meta.get("task")],
                             ["why this task", meta.get("task_reason")],
                             ["input shape", " × ".join(str(d) for d in meta.get("input_shape") or [])]]
    if isinstance(sizes, dict):
        rows += [[f"{split} items", n] for split, n in sizes.items()]
    else:
        rows.append(["split sizes", "not recorded (the report written after training records them)"])
    names = meta.get("class_names") or []
    if meta.get("num_classes"):
        shown = ", ".join(str(n) for n in names[:CLASS_NAMES_SHOWN])
        more = f" … and {len(names) - CLASS_NAMES_SHOWN} more" if len(names) > CLASS_NAMES_SHOWN else ""
        rows += [["classes", meta["num_classes"]], ["class names", shown + more]]
    if meta.get("num_targets"):
        rows.append(["targets", meta["num_targets"]])
    for key, label in (("mean", "input mean (normalisation)"), ("std", "input std (normalisation)"),
                       ("target_mean", "target mean"), ("target_std", "target std"), ("value_range", "value range")):
        if meta.get(key) is not None:
            rows.append([label, ", ".join(f"{v:.4g}" if isinstance(v, float) else str(v) for v in meta[key])])
    extra = meta.get("extra") or {}
    rows += [[key.replace("_", " "), value] for key, value in extra.items()
             if isinstance(value, (str, int, float, bool))]
    return Section("Data", fields(rows))


def model_section(run_dir: Path) -> Section:
    """The model as configured (name, arguments, starting weights), its parameters and multiply-adds
    (``model_size.json``) and, when the recipe wrote one, its layer table (``model_summary.txt``)."""
    import yaml

    try:
        model = (yaml.safe_load(read_text(run_dir / "config.yaml") or "") or {}).get("model")
    except (yaml.YAMLError, AttributeError):
        model = None
    parts = [preformatted(yaml.safe_dump({"model": model}, sort_keys=False))] if model else []
    size, _ = read_json(run_dir / "model_size.json")
    if isinstance(size, dict):
        macs = size.get("macs")
        parts.append(fields([["parameters", f"{size.get('parameters', 0):,}"], ["multiply-adds per item (MACs)",
                                                                              f"{macs:,}" if isinstance(macs, int)
                                                                              else "not counted"]]))
    layers = read_text(run_dir / "model_summary.txt")
    if layers:
        parts.append(preformatted(layers))
    return Section("Model", "".join(parts) or '<p class="note">no model summary recorded</p>')


def config_section(run_dir: Path) -> Section:
    """``config.yaml`` as saved: it replays the run (``deepzoo train --config``)."""
    config = read_text(run_dir / "config.yaml")
    body = (preformatted(config) + f'<p class="note">replay: deepzoo train --config {text(run_dir / "config.yaml")} '
            "--name NEW_NAME</p>") if config else '<p class="note">config.yaml: not readable</p>'
    return Section("Config", body)
