"""Extractive summaries by word frequency (Luhn 1958, "The Automatic Creation of Literature Abstracts").

A word that a document repeats is probably what the document is about; a sentence dense in such words
is probably a good one to quote. Each sentence scores the mean (not the sum) of its content words'
relative frequencies, so long sentences are not favoured for their length, and sentences scoring above
1.2 × the mean score are kept in their original order. Words are matched as tokens, never as substrings
("net" does not count inside "network"); the threshold is a float (no int() truncation); the best
sentence is kept when none passes; an empty text gives an empty summary instead of a division by zero.
"""

from __future__ import annotations

import re
from collections import Counter

from .tokenize import analyze

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


def sentence_scores(sentences: list[str]) -> list[float]:
    """Mean relative frequency (count / highest count) of each sentence's content words; 0 without any."""
    terms = [analyze(s) for s in sentences]
    counts = Counter(t for sentence in terms for t in sentence)
    top = max(counts.values(), default=1)
    return [sum(counts[t] for t in words) / (top * len(words)) if words else 0.0 for words in terms]


def summarize(text: str, ratio: float = 1.2, max_sentences: int | None = None) -> list[str]:
    """The sentences of ``text`` scoring above ``ratio`` × the mean score, in their original order.

    Never empty for a text with at least one sentence (the best sentence is kept if none passes);
    ``max_sentences`` keeps only the best-scoring ones among those selected, still in text order.
    """
    sentences = split_sentences(text)
    if not sentences:
        return []
    scores = sentence_scores(sentences)
    threshold = ratio * sum(scores) / len(scores)
    chosen = [i for i, score in enumerate(scores) if score > threshold]
    if not chosen:
        chosen = [max(range(len(scores)), key=lambda i: (scores[i], -i))]
    if max_sentences is not None and len(chosen) > max_sentences:
        chosen = sorted(sorted(chosen, key=lambda i: (-scores[i], i))[:max_sentences])
    return [sentences[i] for i in chosen]
