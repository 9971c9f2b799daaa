"""``<study>/report.html``: a tuning study on one self-contained page — its settings and search space
(``study.yaml``), the best trial's config (``best.yaml``), every trial (``trials.csv``) and the study's
plots (history, trial curves, parameter importances). Each trial is a run with its own report."""

from __future__ import annotations

from pathlib import Path

import yaml

from ..files import write_text_atomic
from .folder import STUDY_SETTINGS, read_text
from .html import Section, fields, page, preformatted, text
from .pages import folder_sections, versions_section
from .run_page import REPORT

SHOWN_SETTINGS = ("name", "monitor", "direction", "sampler", "pruner")


def write_study_report(folder: str | Path, output: str | Path | None = None) -> Path:
    """Write the report of the study in ``folder`` (``folder/report.html`` unless ``output`` is given)."""
    folder = Path(folder)
    path = Path(output) if output is not None else folder / REPORT
    write_text_atomic(path, study_page(folder))
    return path


def study_page(folder: Path) -> str:
    """The study's report as an HTML document."""
    try:
        settings = yaml.safe_load(read_text(folder / STUDY_SETTINGS) or "") or {}
    except yaml.YAMLError:
        settings = {}
    settings = settings if isinstance(settings, dict) else {}
    sections = [Section("Study", fields([key, settings.get(key, "-")] for key in SHOWN_SETTINGS) +
                        "<h3>search space</h3>" + preformatted(yaml.safe_dump(settings.get("space") or {})))]
    best = read_text(folder / "best.yaml")
    sections.append(Section("Best config", preformatted(best) + f'<p class="note">replay: deepzoo train --config '
                            f'{text(folder / "best.yaml")}</p>' if best else '<p class="note">no trial completed</p>'))
    # the trials table (the top level's trials.csv) before the plots drawn from it
    sections += sorted(folder_sections(folder, top_heading="Trials"), key=lambda s: s.title != "Trials")
    sections.append(versions_section(None))
    return page(f"Study {folder.name}", f"{settings.get('direction', '?')} {settings.get('monitor', '?')} — {folder}",
                sections)
