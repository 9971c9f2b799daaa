"""Extractive summaries by word frequency (Luhn 1958, "The Automatic Creation of Literature Abstracts").

A word that a document repeats is probably what the document is about; a sentence dense in such words
is probably a good one to quote. Each sentence scores the mean (not the sum) of its content words'
relative frequencies, so long sentences are not favoured for their length, and sentences scoring above
1.2 × the mean score are kept in their original order. Words are matched as tokens, never as substrings
("net" does not count inside "network"); the threshold is a float (no int() truncation); the best
sentence is kept when none passes; an empty text gives an empty summary instead of a division by zero.

Beside it, two other extractive methods share the sentence splitter, selectable by name through
:data:`SUMMARIZERS` (``deepzoo explain --summarize FILE --method luhn|textrank|lead``): the lead
baseline (the first sentences; hard to beat on news, Nenkova 2005) and TextRank (:mod:`.textrank`).
"""

from __future__ import annotations

import re
from collections import Counter

from ..registry import Registry
from .textrank import textrank_scores
from .tokenize import analyze

#: Summary methods by name: ``SUMMARIZERS.get(name).factory(text, max_sentences)`` → sentences.
SUMMARIZERS = Registry("summary method")

# A sentence ends at . ! or ? followed by space and a capital, digit or opening bracket/quote.
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[\"'(\[A-Z0-9])")
# "et al. 2016", "e.g. the" and "Fig. 3" are not sentence ends.
_ABBREVIATION = re.compile(r"(?:\bal|\be\.g|\bi\.e|\bvs|\bFig|\bEq|\bcf|\bSec|\bTab)\.$")

_LIST_MARKER = re.compile(r"^\s*(?:[-*+]|\d+\.)\s+")


def split_sentences(text: str) -> list[str]:
    """Sentences of ``text``: blank lines and list items end a sentence, as do . ! ? before a capital."""
    sentences: list[str] = []
    for block in re.split(r"\n\s*\n|\n\s*(?=[-*+] |\d+\. )", text):
        block = _LIST_MARKER.sub("", block)
        pending = ""
        for piece in _SENTENCE_END.split(" ".join(block.split())):
            pending = f"{pending} {piece}".strip()
            if not _ABBREVIATION.search(pending):
                sentences.append(pending)
                pending = ""
        if pending:
            sentences.append(pending)
    return [s for s in sentences if s]


def distinct_sentences(text: str) -> list[str]:
    """:func:`split_sentences` without repeats (the first copy stays): docstrings that say the same thing
    in two places ("where x is the input ...") would otherwise have it quoted twice."""
    return list(dict.fromkeys(split_sentences(text)))


def sentence_scores(sentences: list[str]) -> list[float]:
    """Mean relative frequency (count / highest count) of each sentence's content words; 0 without any."""
    terms = [analyze(s) for s in sentences]
    counts = Counter(t for sentence in terms for t in sentence)
    top = max(counts.values(), default=1)
    return [sum(counts[t] for t in words) / (top * len(words)) if words else 0.0 for words in terms]


def summarize(text: str, ratio: float = 1.2, max_sentences: int | None = None) -> list[str]:
    """The (distinct) sentences of ``text`` scoring above ``ratio`` × the mean score, in their original order.

    Never empty for a text with at least one sentence (the best sentence is kept if none passes);
    ``max_sentences`` keeps only the best-scoring ones among those selected, still in text order.
    """
    sentences = distinct_sentences(text)
    if not sentences:
        return []
    scores = sentence_scores(sentences)
    threshold = ratio * sum(scores) / len(scores)
    chosen = [i for i, score in enumerate(scores) if score > threshold]
    if not chosen:
        chosen = [max(range(len(scores)), key=lambda i: (scores[i], -i))]
    if max_sentences is not None and len(chosen) > max_sentences:
        chosen = best_in_text_order(chosen, scores, max_sentences)
    return [sentences[i] for i in chosen]


def best_in_text_order(candidates: list[int], scores: list[float], count: int) -> list[int]:
    """The ``count`` best-scoring of the sentence indices ``candidates`` (ties: earlier), in text order."""
    return sorted(sorted(candidates, key=lambda i: (-scores[i], i))[:count])


@SUMMARIZERS.register("luhn")
def luhn_summary(text: str, max_sentences: int = 3) -> list[str]:
    """Luhn's summary (:func:`summarize` with the 1.2 × mean threshold), at most ``max_sentences``."""
    return summarize(text, max_sentences=max_sentences)


@SUMMARIZERS.register("lead")
def lead_summary(text: str, max_sentences: int = 3) -> list[str]:
    """The baseline: the first ``max_sentences`` sentences of the text."""
    return distinct_sentences(text)[:max_sentences]


@SUMMARIZERS.register("textrank")
def textrank_summary(text: str, max_sentences: int = 3) -> list[str]:
    """The ``max_sentences`` sentences with the highest TextRank, in text order."""
    sentences = distinct_sentences(text)
    scores = textrank_scores(sentences)
    return [sentences[i] for i in best_in_text_order(list(range(len(sentences))), scores, max_sentences)]


def summarize_with(method: str, text: str, max_sentences: int = 3) -> list[str]:
    """The summary of ``text`` by the named method (``luhn``, ``textrank`` or ``lead``).

    An unknown name raises :class:`~deepzoo.errors.ConfigError` with the close matches.
    """
    return SUMMARIZERS.get(method).factory(text, max_sentences)
