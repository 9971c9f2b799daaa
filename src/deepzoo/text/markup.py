"""The describing prose of a Markdown page or a reStructuredText docstring, for summaries.

A summary should quote what a page says a thing *is*, not how it is called: docstrings in the NumPy,
Google and PyTorch styles follow their first paragraphs with "Args:" lists, "Shape:" blocks
("- Input: :math:`(N, C)`"), ``.. math::`` and ``.. note::`` directives and ``>>>`` examples, whose
lines are short, repetitive and full of the words a frequency summariser rewards. :func:`prose` drops
those blocks and lines, keeps the text of inline roles (``:class:`~torch.nn.ReLU``` → ReLU,
``:math:`(N, C)``` → (N, C)) and of links, then removes Markdown's code blocks, headings, tables and
emphasis (:func:`deepzoo.text.corpus.plain_text`).
"""

from __future__ import annotations

import re

from .corpus import plain_text

# A section header of a docstring ("Args:", "Shape:", "Examples::") whose indented block is not prose.
_SECTION = re.compile(
    r"^(?:args|arguments|parameters|keyword args|shape|shapes|inputs?|outputs?|attributes|variables|returns?"
    r"|yields|raises|examples?|notes?|warnings?|see also|references|methods)\s*::?\s*$",
    re.IGNORECASE,
)
# A directive (".. math::", ".. note::", ".. code-block:: python") also owns the indented block below it.
_DIRECTIVE = re.compile(r"^\.\.\s+[\w-]+::")
# Lines that are not prose wherever they stand: shapes and signatures ("- Input: (N, C)", "Output: ...",
# "Shape: ..."), doctest lines (">>> m(x)") and a formula alone on its line (":math:`y = xA^T + b`").
_NOT_PROSE_LINE = re.compile(
    r"^(?:[-*+]\s+)?(?:input|output|target|shape|weight|bias|signature)s?\d?\s*(?:\([^)]*\))?\s*:"
    r"|^(?:>>>|\.\.\.)(?:\s|$)|^:math:`[^`]*`\W*$",
    re.IGNORECASE,
)
# :role:`~module.Name` (the ~ shows the last component only), :role:`text <target>`, :role:`text`.
_ROLE = re.compile(r":[\w:-]+:`~?(?:[\w.]*\.)?([^`<]*?)\s*(?:<[^>]*>)?`")
# reStructuredText's ``inline literal`` marks (but not a Markdown ``` fence) become Markdown's single `.
_INLINE_LITERAL = re.compile(r"(?<!`)``(?!`)")
# `text <https://...>`__ and `text <target>`_ links keep their text.
_LINK = re.compile(r"`([^`<]+?)\s*<[^>]+>`_{1,2}")


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def without_blocks(text: str) -> str:
    """``text`` without docstring sections, directives and literal blocks (``::`` paragraphs' bodies),
    and without shape/signature and doctest lines; blank lines keep paragraphs apart."""
    kept: list[str] = []
    skip_deeper_than: int | None = None
    for line in text.splitlines():
        stripped = line.strip()
        if skip_deeper_than is not None:
            if not stripped or _indent(line) > skip_deeper_than:
                continue
            skip_deeper_than = None
        if _SECTION.match(stripped) or _DIRECTIVE.match(stripped):
            skip_deeper_than = _indent(line)
            kept.append("")
            continue
        if _NOT_PROSE_LINE.match(stripped):
            kept.append("")
            continue
        if stripped.endswith("::"):  # "as follows::" introduces a literal block: keep the sentence
            skip_deeper_than = _indent(line)
            line = line.rstrip()[:-1]
        kept.append(line)
    return "\n".join(kept)


def without_markup(text: str) -> str:
    """:func:`without_blocks`, with the text of reStructuredText roles and links in place of the markup.

    What the search engine indexes as a document's body: Markdown tables and headings stay searchable.
    """
    text = _LINK.sub(r"\1", without_blocks(text))
    return _INLINE_LITERAL.sub("`", _ROLE.sub(r"\1", text))


def prose(text: str) -> str:
    """The describing prose of a Markdown or reStructuredText text (see the module docstring)."""
    return plain_text(without_markup(text))
