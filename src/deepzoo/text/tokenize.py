"""Tokenisation for search: lower-cased word tokens, a short stop-word list and a light stemmer.

Documents and queries go through the same :func:`analyze` pipeline, so a query word matches a document
word when both reduce to the same stem ("trains", "training" and "trained" all become "train").
"""

from __future__ import annotations

import re
from functools import lru_cache

WORD = re.compile(r"[^\W_]+")
# The parts of a CamelCase identifier: "BCEWithLogitsLoss" → BCE, With, Logits, Loss; "Conv2d" → Conv, 2d.
CAMEL_PART = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+[a-z]*")

#: English function words that carry no topic: they are dropped before indexing and summarising.
STOP_WORDS = frozenset(
    """
    a about above after again against all also an and any are as at be because been before being below
    between both but by can could did do does doing down during each few for from further had has have
    having he her here hers him his how i if in into is it its itself just me more most my no nor not of
    off on once only or other our ours out over own same she should so some such than that the their
    theirs them then there these they this those through to too under until up very was we were what
    when where which while who whom why will with would you your yours
    """.split()
)

#: Words whose "-ed" is part of the root, not a past tense.
ROOT_ENDS_IN_ED = frozenset({"bed", "embed", "exceed", "feed", "need", "proceed", "seed", "speed", "succeed"})


def words(text: str) -> list[str]:
    """The lower-cased word tokens of ``text`` (runs of letters and digits; underscores separate)."""
    return WORD.findall(text.lower())


def _has_vowel(stem: str) -> bool:
    return any(c in "aeiouy" for c in stem)


def _strip_plural(word: str) -> str:
    """``studies`` → ``study``, ``losses`` → ``loss``, ``batches`` → ``batch``, ``models`` → ``model``."""
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith("sses"):
        return word[:-2]
    if word.endswith(("ches", "shes", "xes", "zes")):
        return word[:-2]
    if word.endswith("s") and not word.endswith(("ss", "us", "is", "as")):
        return word[:-1]
    return word


def _strip_verb_ending(word: str) -> str:
    """``training`` → ``train``, ``stopped`` → ``stop``: drop -ing/-ed after 3+ letters holding a vowel.

    A doubled final consonant left behind is undoubled (as in Porter's step 1b), except l, s and z.
    """
    if word in ROOT_ENDS_IN_ED:
        return word
    for suffix in ("ing", "ed"):
        stem = word[: -len(suffix)]
        if word.endswith(suffix) and len(stem) >= 3 and _has_vowel(stem):
            if stem[-1] == stem[-2] and stem[-1] not in "aeioulsz":
                stem = stem[:-1]
            return stem
    return word


@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    """A light suffix-stripping stemmer: plural, then -ing/-ed, then a final silent -e.

    Much lighter than Porter (1980): it only conflates the inflections a query and a document most often
    disagree on, so "images", "image" and "imaging" share the stem "imag" and "scaled"/"scaling" share
    "scal". Words with digits (``resnet50``) and words of three letters or fewer are left alone.
    """
    if len(word) <= 3 or any(c.isdigit() for c in word):
        return word
    word = _strip_verb_ending(_strip_plural(word))
    if word.endswith("e") and len(word) >= 4:
        word = word[:-1]
    return word


def analyze(text: str) -> list[str]:
    """The index terms of ``text``: lower-cased words without stop words, stemmed."""
    return [stem(w) for w in words(text) if w not in STOP_WORDS]


def analyze_title(text: str) -> list[str]:
    """:func:`analyze`, plus the parts of each CamelCase word as extra terms.

    A title that names a class ("CrossEntropyLoss", "BatchNorm2d") is one word to :func:`analyze`; its
    parts let "cross entropy loss" or "batch norm" match it too, while the whole word still matches.
    """
    terms = analyze(text)
    for word in WORD.findall(text):
        parts = CAMEL_PART.findall(word) if not word.islower() else []
        if len(parts) > 1:
            terms += analyze(" ".join(parts))
    return terms
