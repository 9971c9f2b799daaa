"""The documents ``deepzoo explain`` searches: model cards, the project's docs pages, or the user's own.

A model card is a Markdown file shipped in ``deepzoo/cards/`` whose first lines are a header:

    # Title
    models: name, name, ...      (the registered model names the card covers)
    paper: authors year, title (venue)
    command: deepzoo train ...   (how to train the first model)

followed by a blank line and free Markdown. Any Markdown file that starts this way is read as a card
(so a folder of cards works as a user corpus); other files keep their first ``# `` heading as title.
A user corpus is a CSV file with columns ``source,full_text,title`` or a folder of ``.md``/``.txt`` files.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from ..errors import DataError

CARD_KEYS = ("models", "paper", "command")
CSV_COLUMNS = ("source", "full_text", "title")
TEXT_SUFFIXES = (".md", ".markdown", ".txt")


@dataclass(frozen=True)
class Document:
    """One searchable document. ``models`` and ``command`` are set for model cards only."""

    title: str
    text: str
    source: str
    models: tuple[str, ...] = ()
    paper: str = ""
    command: str = ""


def parse_markdown(content: str, source: str) -> Document:
    """A :class:`Document` from a Markdown text, reading the card header when there is one."""
    lines = content.strip().splitlines()
    title = Path(source).stem
    if lines and lines[0].startswith("# "):
        title = lines.pop(0)[2:].strip()
    header: dict[str, str] = {}
    while lines and (match := re.match(r"^([a-z_]+):\s*(.*)$", lines[0])) and match[1] in CARD_KEYS:
        header[match[1]] = match[2].strip()
        lines.pop(0)
    models = tuple(m.strip() for m in header.get("models", "").split(",") if m.strip())
    return Document(
        title=title,
        text="\n".join(lines).strip(),
        source=source,
        models=models,
        paper=header.get("paper", ""),
        command=header.get("command", ""),
    )


def model_cards() -> list[Document]:
    """The packaged model cards (``deepzoo/cards/*.md``), sorted by file name."""
    folder = resources.files("deepzoo") / "cards"
    cards = sorted((f for f in folder.iterdir() if f.name.endswith(".md")), key=lambda f: f.name)
    return [parse_markdown(f.read_text(encoding="utf-8"), f"cards/{f.name}") for f in cards]


def source_docs_folder() -> Path | None:
    """``docs/`` of a source checkout (next to ``src/deepzoo``), or None for an installed package."""
    root = Path(__file__).resolve().parents[3]
    docs = root / "docs"
    return docs if (root / "pyproject.toml").is_file() and docs.is_dir() else None


def docs_pages(folder: Path | None) -> list[Document]:
    """The Markdown pages of the project's ``docs/`` folder, read now (the folder may change)."""
    if folder is None:
        return []
    pages = sorted(folder.glob("*.md"))
    return [parse_markdown(p.read_text(encoding="utf-8"), f"docs/{p.name}") for p in pages]


def builtin_corpus() -> list[Document]:
    """The model cards plus, in a source checkout, the pages of ``docs/``."""
    return model_cards() + docs_pages(source_docs_folder())


def load_corpus(path: str | Path) -> list[Document]:
    """A user corpus: a CSV file (``source,full_text,title``) or a folder of Markdown/text files."""
    path = Path(path)
    if path.is_dir():
        return _read_folder(path)
    if path.is_file():
        return _read_csv(path)
    raise DataError(f"{path}: corpus not found (give a CSV file or a folder of .md/.txt files)")


def read_text(path: Path) -> str:
    """The UTF-8 text of a file (a byte-order mark is dropped); a :class:`DataError` if it is missing or
    not UTF-8 (naming the bad byte)."""
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    try:
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as err:
        raise DataError(f"{path}: not UTF-8 text (byte {err.start})") from None


def _read_folder(folder: Path) -> list[Document]:
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in TEXT_SUFFIXES)
    if not files:
        raise DataError(f"{folder}: no {', '.join(TEXT_SUFFIXES)} files in this folder")
    documents = []
    for file in files:
        content = read_text(file)
        if not content.strip():
            raise DataError(f"{file}: empty document")
        documents.append(parse_markdown(content, file.relative_to(folder).as_posix()))
    return documents


def _read_csv(path: Path) -> list[Document]:
    """Rows of ``source,full_text,title`` (any column order, extra columns ignored); one error per problem."""
    lines = read_text(path).splitlines(keepends=True)
    csv.field_size_limit(max(csv.field_size_limit(), 2**31 - 1))  # whole articles are longer than 128 KiB
    reader = csv.reader(lines, strict=True)
    try:
        header = next(reader, None)
    except csv.Error as err:
        raise DataError(f"{path}: header: {err}") from None
    if header is None:
        raise DataError(f"{path}: empty file (need a header {','.join(CSV_COLUMNS)})")
    header = [h.strip() for h in header]
    missing = [c for c in CSV_COLUMNS if c not in header]
    if missing:
        raise DataError(f"{path}: missing column(s) {', '.join(missing)} (need {','.join(CSV_COLUMNS)})")
    column = {name: header.index(name) for name in CSV_COLUMNS}
    documents = []
    row_number = 0
    while True:
        start_line = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as err:
            problem = "unterminated quote" if "unexpected end of data" in str(err) else str(err)
            raise DataError(f"{path}: row {row_number + 1} (line {start_line}): {problem}") from None
        row_number += 1
        if not row:
            continue
        where = f"{path}: row {row_number} (line {start_line})"
        if len(row) != len(header):
            raise DataError(f"{where}: {len(row)} fields, the header has {len(header)}")
        text = row[column["full_text"]].strip()
        if not text:
            raise DataError(f"{where}: empty full_text")
        source = row[column["source"]].strip() or f"{path.name}:{row_number}"
        title = row[column["title"]].strip() or source
        documents.append(Document(title=title, text=text, source=source))
    if not documents:
        raise DataError(f"{path}: no rows after the header")
    return documents


def without_code_blocks(markdown: str) -> str:
    """The text with fenced code blocks blanked out.

    Code blocks hold commands and sample output (a docs page showing how a typo gets corrected contains
    the typo); indexing them would put those strings into the autocorrect vocabulary.
    """
    kept, in_code = [], False
    for line in markdown.splitlines():
        fence = line.strip().startswith("```")
        kept.append("" if in_code or fence else line)
        in_code ^= fence
    return "\n".join(kept)


def plain_text(markdown: str) -> str:
    """Prose of a Markdown text for summaries: no code blocks, headings, tables, emphasis or link targets."""
    lines = without_code_blocks(markdown).splitlines()
    text = "\n".join("" if line.strip().startswith(("#", "|")) else line for line in lines)
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    return re.sub(r"`|\*\*?(?=\S)|(?<=\S)\*\*?", "", text)
