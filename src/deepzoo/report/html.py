"""The building blocks of a report page: escaped text, tables, embedded pictures, sections, the page.

A report is one self-contained HTML file that reads offline: its style sheet is inline, every picture
is a ``data:`` URI (base64 PNG), links only jump within the page (``#section``), and no script runs.
Every string that comes from a user — run names, class names, config values, file names — passes
through :func:`text` (``html.escape``), so a class called ``<script>`` is shown, never run.
"""

from __future__ import annotations

import base64
import html
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 0 auto; max-width: 1180px; padding: 0 16px 40px;
       color: #1d1d1f; background: #fff; }
h1 { font-size: 24px; margin: 20px 0 4px; } h2 { font-size: 19px; margin: 28px 0 8px; border-bottom: 1px solid #ddd; }
h3 { font-size: 15px; margin: 18px 0 6px; } .note { color: #666; }
nav { font-size: 13px; margin: 6px 0 12px; } nav a { margin-right: 12px; }
table { border-collapse: collapse; margin: 6px 0; font-size: 13px; }
th, td { border: 1px solid #ddd; padding: 3px 8px; text-align: left; vertical-align: top; }
td.num { text-align: right; font-variant-numeric: tabular-nums; } th { background: #f4f4f6; }
pre { background: #f7f7f9; border: 1px solid #e3e3e8; padding: 8px; overflow-x: auto; font-size: 12px; }
figure { display: inline-block; margin: 6px 10px 10px 0; vertical-align: top; }
figure img { max-width: 100%; border: 1px solid #eee; } figcaption { font-size: 12px; color: #555; }
.side { display: grid; gap: 10px; } .side img { max-width: 100%; }
"""


def text(value: Any) -> str:
    """``value`` as HTML text: escaped, so markup in a user's string is shown literally."""
    return html.escape(str(value), quote=True)


def number(value: Any) -> str:
    """A table cell: floats with 4 significant digits, missing values as ``-`` (the text tables of
    ``deepzoo tune`` and ``compare`` format theirs with it too)."""
    if value is None or value == "":
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def table(header: Sequence[Any], rows: Iterable[Sequence[Any]]) -> str:
    """An HTML table; number cells are right-aligned and shown by :func:`number`."""
    head = "".join(f"<th>{text(h)}</th>" for h in header)
    body = []
    for row in rows:
        cells = "".join(f'<td class="num">{text(number(v))}</td>' if isinstance(v, (int, float)) and
                        not isinstance(v, bool) else f"<td>{text(number(v))}</td>" for v in row)
        body.append(f"<tr>{cells}</tr>")
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


def fields(rows: Iterable[Sequence[Any]]) -> str:
    """A two-column table of names and values (no header; values left-aligned as text)."""
    body = "".join(f"<tr><th>{text(name)}</th><td>{text(number(value))}</td></tr>" for name, value in rows)
    return f"<table>{body}</table>"


def preformatted(content: str) -> str:
    """Text shown as it is written (a YAML config, a table of text)."""
    return f"<pre>{text(content)}</pre>"


def png_uri(data: bytes) -> str:
    """A PNG's bytes as a ``data:`` URI, so the picture travels inside the page."""
    return "data:image/png;base64," + base64.b64encode(data).decode("ascii")


def figure(data: bytes, caption: str, width: int | None = None) -> str:
    """An embedded PNG with its caption (``width`` in CSS pixels caps its displayed size)."""
    style = f' style="max-width:{width}px"' if width else ""
    return (f'<figure><img src="{png_uri(data)}" alt="{text(caption)}"{style}>'
            f"<figcaption>{text(caption)}</figcaption></figure>")


def record(data: Any) -> str:
    """A JSON value as the page shows it: a dict of plain values as a two-column table, a list of
    strings as a bullet list, anything else as indented JSON."""
    if isinstance(data, dict) and all(isinstance(v, (str, int, float, bool)) or v is None for v in data.values()):
        return fields(data.items())
    if isinstance(data, list) and all(isinstance(v, str) for v in data):
        return "<ul>" + "".join(f"<li>{text(v)}</li>" for v in data) + "</ul>"
    return preformatted(json.dumps(data, indent=2, default=str))


def anchor(title: str) -> str:
    """The in-page id of a section titled ``title``."""
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-") or "section"


@dataclass
class Section:
    """One ``<h2>`` part of a page: its title and its HTML body."""

    title: str
    body: str


def page(title: str, subtitle: str, sections: list[Section]) -> str:
    """The whole document: inline style, a contents line of in-page links, then the sections."""
    ids, parts = [], []
    for section in sections:
        ident = anchor(section.title)
        while ident in ids:
            ident += "-x"
        ids.append(ident)
        parts.append(f'<section id="{ident}"><h2>{text(section.title)}</h2>{section.body}</section>')
    nav = "".join(f'<a href="#{i}">{text(s.title)}</a>' for i, s in zip(ids, sections))
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{text(title)}</title><style>{STYLE}</style></head><body>"
            f'<h1>{text(title)}</h1><p class="note">{text(subtitle)}</p><nav>{nav}</nav>'
            f"{''.join(parts)}</body></html>\n")
