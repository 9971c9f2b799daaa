"""``deepzoo compare RUN... --html FILE``: several runs side by side on one self-contained page — the
compare command's tables, one figure per metric with a line per run, and the pictures the runs share
(the same file in each run's ``plots/``) in one row."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from ..files import write_text_atomic
from .html import Section, figure, page, preformatted, table, text
from .pages import picture_caption
from .run_page import REPORT


class ComparedRun(Protocol):
    """What the page needs of each run (``tune.compare.RunRecord`` has it): a label, its folder, its
    status and its ``metrics.csv`` rows."""

    label: str
    dir: Path
    history: list[dict[str, float]]

    @property
    def status(self) -> str: ...


def write_compare_report(runs: Sequence[ComparedRun], tables: dict[str, str], output: str | Path) -> Path:
    """Write the side-by-side page of ``runs`` to ``output``; ``tables`` are the compare command's text
    tables by title (shown as they print, so the page and the terminal always agree)."""
    from .figures import overlaid_curves

    rows = [[run.label, run.status, str(run.dir),
             "report.html" if (run.dir / REPORT).is_file() else "-"] for run in runs]
    sections = [Section("Runs", table(["run", "status", "folder", "own report"], rows))]
    sections += [Section(title.capitalize(), preformatted(content)) for title, content in tables.items()]
    curves = overlaid_curves({run.label: run.history for run in runs})
    sections.append(Section("Curves", "".join(figure(png, metric) for metric, png in curves)
                            or '<p class="note">no run logged any epoch</p>'))
    sections.append(Section("Pictures side by side", shared_pictures(runs)))
    output = Path(output)
    write_text_atomic(output, page("Compare " + ", ".join(run.label for run in runs),
                                   f"{len(runs)} runs side by side", sections))
    return output


def shared_pictures(runs: Sequence[ComparedRun]) -> str:
    """Each picture of the runs' ``plots/`` (their learning curves aside: overlaid above) as a row with
    one column per run, so the same figure of each run sits side by side."""
    names = sorted({p.name for run in runs for p in (run.dir / "plots").glob("*.png")} - {"curves.png"})
    grid = f'style="grid-template-columns: repeat({len(runs)}, 1fr)"'
    parts = []
    for name in names:
        cells = []
        for run in runs:
            path = run.dir / "plots" / name
            cells.append(f"<div>{figure(path.read_bytes(), run.label)}</div>" if path.is_file() else
                         f'<div class="note">{text(run.label)}: no {text(name)}</div>')
        parts.append(f"<h3>{text(picture_caption(Path(name)))}</h3><div class=\"side\" {grid}>{''.join(cells)}</div>")
    return "".join(parts) or '<p class="note">the runs drew no pictures besides their curves</p>'
