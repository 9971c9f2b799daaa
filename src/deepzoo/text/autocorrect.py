"""Spelling correction of query words against the corpus vocabulary.

Norvig, "How to Write a Spelling Corrector" (2007): a word that is not in the vocabulary is replaced by
the most frequent vocabulary word one edit away, else two edits away (an edit: delete a letter, swap two
adjacent letters, replace a letter, insert a letter). Generating every string two edits away costs
about (54n + 25)² strings for an n-letter word, so :class:`SpellingCorrector` finds the candidates with
a symmetric-delete index instead (Garbe 2012, "SymSpell"): every vocabulary word is stored under each
string obtained by deleting up to two of its letters; two words within two edits share such a string,
and each candidate found that way is confirmed with the exact Damerau–Levenshtein distance.
:func:`naive_correct` keeps Norvig's generate-then-filter algorithm as the reference it must agree with.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping

from .edit_distance import damerau_levenshtein


def deletions(word: str, depth: int) -> set[str]:
    """Every string left after deleting at most ``depth`` letters of ``word`` (the word included)."""
    found, frontier = {word}, {word}
    for _ in range(depth):
        frontier = {w[:i] + w[i + 1 :] for w in frontier for i in range(len(w))}
        found |= frontier
    return found


class SpellingCorrector:
    """Corrects a word to the closest, then most frequent, vocabulary word within ``max_distance`` edits.

    ``frequencies`` maps each vocabulary word to its count in the corpus. Ties in distance go to the more
    frequent word, then to the alphabetically first, so results do not depend on dictionary order.
    """

    def __init__(self, frequencies: Mapping[str, int], max_distance: int = 2):
        self.frequencies = dict(frequencies)
        self.max_distance = max_distance
        self._index: dict[str, list[str]] = defaultdict(list)
        for word in self.frequencies:
            for variant in deletions(word, max_distance):
                self._index[variant].append(word)

    def __contains__(self, word: object) -> bool:
        return word in self.frequencies

    def candidates(self, word: str) -> dict[str, int]:
        """Every vocabulary word within ``max_distance`` edits of ``word``, with its edit distance."""
        found: dict[str, int] = {}
        for variant in deletions(word, self.max_distance):
            for known in self._index.get(variant, ()):
                if known not in found and abs(len(known) - len(word)) <= self.max_distance:
                    distance = damerau_levenshtein(word, known)
                    if distance <= self.max_distance:
                        found[known] = distance
        return found

    def correct(self, word: str) -> str:
        """``word`` itself if known, else the best candidate, else ``word`` unchanged."""
        if word in self.frequencies:
            return word
        found = self.candidates(word)
        if not found:
            return word
        return min(found, key=lambda w: (found[w], -self.frequencies[w], w))


def edits1(word: str, alphabet: Iterable[str]) -> set[str]:
    """Norvig's ``edits1``: all strings one delete, adjacent swap, replace or insert away from ``word``."""
    splits = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    letters = list(alphabet)
    deletes = {a + b[1:] for a, b in splits if b}
    swaps = {a + b[1] + b[0] + b[2:] for a, b in splits if len(b) > 1}
    replaces = {a + c + b[1:] for a, b in splits if b for c in letters}
    inserts = {a + c + b for a, b in splits for c in letters}
    return deletes | swaps | replaces | inserts


def naive_correct(word: str, frequencies: Mapping[str, int], alphabet: Iterable[str]) -> str:
    """Norvig's corrector as published: known word, else best known edit-1, else best known edit-2.

    The baseline for :class:`SpellingCorrector` (same answer, same tie-breaking), far slower: it builds
    every string two edits away and then filters by the vocabulary.
    """
    if word in frequencies:
        return word
    letters = sorted(set(alphabet))
    one = edits1(word, letters)
    for candidates in (one, {e2 for e1 in one for e2 in edits1(e1, letters)}):
        known = [w for w in candidates if w in frequencies]
        if known:
            return min(known, key=lambda w: (-frequencies[w], w))
    return word
