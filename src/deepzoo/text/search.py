"""Search a corpus: autocorrect the query, rank with BM25F, summarise the best hits.

This is what ``deepzoo explain`` runs; it is also usable from Python::

    engine = SearchEngine(load_corpus("notes/"))
    result = engine.search("resnt shortcut", top=3)
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import Any

from .autocorrect import SpellingCorrector
from .bm25 import BM25FIndex
from .corpus import Document, builtin_corpus, without_code_blocks
from .edit_distance import Step, align
from .markup import prose, without_markup
from .summarize import summarize_with
from .tokenize import STOP_WORDS, WORD, analyze, analyze_title, stem, words


@dataclass(frozen=True)
class Correction:
    """A query word replaced by a vocabulary word; :meth:`alignment` shows the edits."""

    original: str
    corrected: str

    def alignment(self) -> list[Step]:
        """The cheapest alignment of the two spellings (insert 1, delete 1, replace 2)."""
        return align(self.original, self.corrected)


@dataclass(frozen=True)
class SearchHit:
    """A ranked document with its BM25 score and an extractive summary (a list of its sentences)."""

    document: Document
    score: float
    summary: list[str]


@dataclass(frozen=True)
class SearchResult:
    """The query as typed, the query searched (after autocorrect), the corrections and the hits."""

    query: str
    corrected: str
    corrections: tuple[Correction, ...]
    hits: list[SearchHit]

    def to_json(self) -> dict[str, Any]:
        """``{"query", "corrected", "hits": [{"title", "source", "score", "summary"}, ...]}``."""
        return {
            "query": self.query,
            "corrected": self.corrected,
            "hits": [
                {
                    "title": h.document.title,
                    "source": h.document.source,
                    "score": round(h.score, 6),
                    "summary": " ".join(h.summary),
                }
                for h in self.hits
            ],
        }


#: BM25F field weights and length normalisations (title, headings, body), set before any measurement:
#: a title word counts three body words, a heading word two; short fields are normalised less.
FIELD_WEIGHTS = (3.0, 2.0, 1.0)
FIELD_B = (0.5, 0.5, 0.75)


def split_headings(markdown: str) -> tuple[str, str]:
    """The Markdown headings (``## ...`` lines) of a text and the rest of it, code blocks left out."""
    headings, body = [], []
    for line in without_code_blocks(markdown).splitlines():
        (headings if line.startswith("#") else body).append(line.lstrip("#"))
    return "\n".join(headings), "\n".join(body)


class SearchEngine:
    """BM25F over three fields of each document: its title (with the model names of a card, and the parts
    of CamelCase names), its Markdown headings, and its body (the paper line and the text without code
    blocks, docstring sections, shape lines and markup: :func:`deepzoo.text.markup.without_markup`); each
    field weighted and length-normalised on its own (:class:`~deepzoo.text.bm25.BM25FIndex`).

    The autocorrect vocabulary is the words of the same fields, with their corpus frequencies. Hit
    summaries are drawn from the documents' prose (:func:`deepzoo.text.markup.prose`).
    """

    def __init__(
        self,
        documents: Sequence[Document],
        field_weights: Sequence[float] = FIELD_WEIGHTS,
        field_b: Sequence[float] = FIELD_B,
        k1: float = 1.2,
    ):
        self.documents = list(documents)
        titles = [f"{d.title} {' '.join(d.models)}" for d in self.documents]
        split = [split_headings(without_markup(d.text)) for d in self.documents]
        headings = [h for h, _ in split]
        texts = [f"{d.paper}\n{body}" for d, (_, body) in zip(self.documents, split)]
        fields = [[analyze_title(t) for t in titles], [analyze(h) for h in headings], [analyze(t) for t in texts]]
        self.index = BM25FIndex(fields, field_weights, field_b, k1=k1)
        self.word_counts = Counter(
            w for t in titles + headings + texts for w in words(t) if w not in STOP_WORDS and not w.isdigit()
        )

    @cached_property
    def corrector(self) -> SpellingCorrector:
        """The spelling corrector over the corpus words, built on the first unknown query word."""
        return SpellingCorrector(self.word_counts)

    def is_known(self, word: str) -> bool:
        """Whether ``word`` needs no correction: a stop word, a number, or a corpus word or stem."""
        return (
            word in STOP_WORDS
            or word.isdigit()
            or word in self.word_counts
            or stem(word) in self.index.vocabulary
        )

    def autocorrect(self, query: str) -> tuple[str, tuple[Correction, ...]]:
        """The query with each unknown word replaced by its correction, and the corrections made."""
        corrections: dict[str, Correction] = {}
        for word in words(query):
            if word not in corrections and not self.is_known(word):
                fixed = self.corrector.correct(word)
                if fixed != word:
                    corrections[word] = Correction(word, fixed)

        def replace(match: re.Match) -> str:
            fix = corrections.get(match[0].lower())
            return fix.corrected if fix else match[0]

        return WORD.sub(replace, query), tuple(corrections.values())

    def search(
        self,
        query: str,
        top: int = 5,
        autocorrect: bool = True,
        summary_sentences: int = 3,
        summary_method: str = "luhn",
    ) -> SearchResult:
        """The ``top`` best documents for ``query`` with summaries of at most ``summary_sentences``.

        ``summary_method`` names the summariser (:data:`deepzoo.text.summarize.SUMMARIZERS`).
        """
        corrected, corrections = self.autocorrect(query) if autocorrect else (query, ())
        hits = [
            SearchHit(
                self.documents[h.doc],
                h.score,
                summarize_with(summary_method, prose(self.documents[h.doc].text), summary_sentences),
            )
            for h in self.index.top(analyze(corrected), top)
        ]
        return SearchResult(query, corrected, corrections, hits)


@lru_cache(maxsize=1)
def builtin_engine() -> SearchEngine:
    """The engine over the model cards and docs pages, indexed once per process on first use."""
    return SearchEngine(builtin_corpus())
