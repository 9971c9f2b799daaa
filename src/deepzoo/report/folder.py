"""What a report reads from a folder: its files, read so that a missing or damaged one becomes a note on
the page rather than an error (a report is most wanted when a run went wrong), and its pictures, tables
and records grouped by sub-folder.

This module reads files only — no dataset, no model — so the layer that trains runs can write a
report at the end of each one (docs/ARCHITECTURE.md).
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: sub-folders that hold no pictures for people (TensorBoard events, checkpoints)
SKIPPED_FOLDERS = ("tb", "checkpoints")
#: a tuning study's settings file (tune.study writes it), which marks a study folder
STUDY_SETTINGS = "study.yaml"
#: files that mark a folder as a run or a study of its own (a GAN's judge classifier, a study's trials)
OWN_REPORT_MARKERS = ("config.yaml", STUDY_SETTINGS)
#: at most this many pictures of one folder are embedded (a GAN's grid of every epoch would make the
#: page heavy); the rest are thinned evenly, keeping the first and the last
PICTURES_PER_FOLDER = 24
#: rows of a CSV file shown
TABLE_ROWS = 50


def read_json(path: Path) -> tuple[Any, str | None]:
    """A JSON file's content and ``None``, or ``None`` and why it cannot be shown (missing, damaged)."""
    if not path.is_file():
        return None, f"{path.name}: not written"
    try:
        return json.loads(path.read_text()), None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        return None, f"{path.name}: cannot be read ({type(err).__name__})"


def read_text(path: Path) -> str | None:
    """A text file's content, or ``None`` when it is missing or unreadable."""
    try:
        return path.read_text()
    except (OSError, UnicodeDecodeError):
        return None


def read_csv(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    """A CSV file's header and rows (empty when missing or unreadable)."""
    try:
        with path.open(newline="") as f:
            reader = csv.DictReader(f)
            return list(reader.fieldnames or []), list(reader)
    except (OSError, UnicodeDecodeError, csv.Error):
        return [], []


def as_number(cell: str) -> int | float | str:
    """A CSV cell as an integer or a float where it is one (so tables align and format numbers), else
    the text."""
    for kind in (int, float):
        try:
            return kind(cell)
        except (TypeError, ValueError):
            continue
    return cell


@dataclass
class FileGroup:
    """The files of one sub-folder that a report shows: pictures, CSV tables and JSON records."""

    folder: str  # relative to the folder reported on; "" for its top level
    pictures: list[Path] = field(default_factory=list)
    tables: list[Path] = field(default_factory=list)
    records: list[Path] = field(default_factory=list)

    @property
    def heading(self) -> str:
        """A heading from the folder's name: ``plots/samples`` → ``Plots › samples``."""
        parts = [p.replace("_", " ").replace("-", " ") for p in Path(self.folder).parts]
        return " › ".join([parts[0].capitalize(), *parts[1:]])


def file_groups(root: Path, shown_elsewhere: tuple[str, ...] = ()) -> list[FileGroup]:
    """Every PNG, CSV and JSON file under ``root``, grouped by the folder holding it: ``plots`` first,
    then the others by name, the top level last. Left out: ``shown_elsewhere`` (paths relative to
    ``root``), hidden files, TensorBoard and checkpoint folders, and folders that are runs or studies
    of their own (they have their own report)."""
    groups: dict[str, FileGroup] = {}
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if (not path.is_file() or path.suffix.lower() not in (".png", ".csv", ".json")
                or str(relative) in shown_elsewhere or any(p.startswith(".") for p in relative.parts)
                or relative.parts[0] in SKIPPED_FOLDERS or _inside_own_report(root, path)):
            continue
        folder = "" if relative.parent == Path(".") else relative.parent.as_posix()
        group = groups.setdefault(folder, FileGroup(folder))
        {".png": group.pictures, ".csv": group.tables, ".json": group.records}[path.suffix.lower()].append(path)
    return sorted(groups.values(), key=lambda g: (g.folder == "", g.folder.split("/")[0] != "plots", g.folder))


def _inside_own_report(root: Path, path: Path) -> bool:
    """Whether ``path`` lies in a sub-folder of ``root`` that is a run or a study of its own."""
    folder = path.parent
    while folder != root:
        if any((folder / marker).is_file() for marker in OWN_REPORT_MARKERS):
            return True
        folder = folder.parent
    return False


def thinned(items: list[Path], limit: int = PICTURES_PER_FOLDER) -> list[Path]:
    """At most ``limit`` of ``items``, evenly spaced, always with the first and the last."""
    if len(items) <= limit:
        return items
    picks = sorted({round(i * (len(items) - 1) / (limit - 1)) for i in range(limit)})
    return [items[i] for i in picks]
