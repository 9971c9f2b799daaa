"""Sections that every kind of report page shares: a folder's pictures, tables and records, a metrics
history, and the versions of the libraries."""

from __future__ import annotations

import importlib.metadata
import platform
from pathlib import Path
from typing import Any

from .folder import TABLE_ROWS, FileGroup, as_number, file_groups, read_csv, read_json, thinned
from .html import Section, figure, record, table, text

#: libraries whose versions a report lists when they are installed (the run's summary.json records
#: those it trained with)
LIBRARIES = ("deepzoo", "torch", "torchvision", "numpy", "torch_geometric", "matplotlib", "torchmetrics", "optuna",
             "captum", "onnx", "onnxruntime", "safetensors")


def picture_caption(path: Path) -> str:
    """A caption from a picture's file name: ``confusion_matrix.png`` → ``confusion matrix``."""
    return path.stem.replace("_", " ").replace("-", " ")


def group_section(group: FileGroup, root: Path, top_heading: str = "Other files") -> Section:
    """One folder's pictures (thinned to a readable number, in name order — a progression's epochs in
    turn), its CSV tables (their first rows) and its JSON records; ``top_heading`` titles the files of
    the top level."""
    parts = []
    shown = thinned(group.pictures)
    if len(shown) < len(group.pictures):
        parts.append(f'<p class="note">{len(shown)} of the {len(group.pictures)} pictures in '
                     f"{text(group.folder or root.name)}/, evenly spaced from the first to the last</p>")
    # a run's curves lead its plots
    for path in sorted(shown, key=lambda p: (p.name != "curves.png", p.name)) if group.folder == "plots" else shown:
        parts.append(figure(path.read_bytes(), picture_caption(path)))
    for path in group.tables:
        header, rows = read_csv(path)
        more = f" (the first {TABLE_ROWS} of {len(rows)} rows)" if len(rows) > TABLE_ROWS else ""
        parts.append(f"<h3>{text(path.name)}{text(more)}</h3>")
        parts.append(table(header, ([as_number(row.get(h, "")) for h in header] for row in rows[:TABLE_ROWS]))
                     if header else '<p class="note">empty or unreadable</p>')
    for path in group.records:
        data, problem = read_json(path)
        parts.append(f"<h3>{text(path.name)}</h3>" + (record(data) if problem is None else
                                                       f'<p class="note">{text(problem)}</p>'))
    return Section(group.heading if group.folder else top_heading, "".join(parts))


def folder_sections(root: Path, shown_elsewhere: tuple[str, ...] = (),
                    top_heading: str = "Other files") -> list[Section]:
    """A section per sub-folder holding pictures, tables or records (see :func:`file_groups`)."""
    return [group_section(group, root, top_heading) for group in file_groups(root, shown_elsewhere)]


def history_table(header: list[str], rows: list[dict[str, str]]) -> str:
    """``metrics.csv`` as an HTML table, folded (``<details>``, no script) because it is long."""
    body = table(header, ([as_number(row.get(h, "")) for h in header] for row in rows))
    return f"<details><summary>every epoch ({len(rows)} rows of metrics.csv)</summary>{body}</details>"


def installed_versions() -> dict[str, str]:
    """The Python version and those of :data:`LIBRARIES` installed here (read from their package
    metadata, so nothing heavy is imported)."""
    found = {"python": platform.python_version()}
    for name in LIBRARIES:
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return found


def versions_section(recorded: dict[str, Any] | None) -> Section:
    """The libraries the run trained with (its ``summary.json``) beside those of the machine that wrote
    the report."""
    recorded = recorded or {}
    here = installed_versions()
    names = list(dict.fromkeys([*recorded, *here]))
    rows = [[name, recorded.get(name, "-"), here.get(name, "-")] for name in names]
    return Section("Versions", table(["library", "trained with (summary.json)", "this report written with"], rows))
