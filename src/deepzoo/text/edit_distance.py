"""Minimum edit distance by dynamic programming, with the alignment that achieves it.

:func:`edit_distance` and :func:`align` are the weighted Levenshtein distance of Wagner & Fischer (1974)
as taught by Jurafsky & Martin (Speech and Language Processing, 3rd ed., §2.5, Fig. 2.17): D[i][j] is
the cheapest way to turn the first i characters of the source into the first j of the target,

    D[i][j] = min(D[i−1][j] + delete, D[i][j−1] + insert, D[i−1][j−1] + (0 if s_i = t_j else replace))

with insert 1, delete 1 and replace 2 by default (so "intention" → "execution" costs 8, and the
distance equals len(s) + len(t) − 2·LCS(s, t)). The back-pointers give the alignment.

:func:`damerau_levenshtein` counts the edits of Norvig's spelling corrector (insert, delete, replace,
swap two adjacent letters, each one edit) with the unrestricted algorithm of Lowrance & Wagner (1975),
so that "ca" → "abc" is 2 edits (swap, then insert), as two of Norvig's edit steps reach it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple


@dataclass(frozen=True)
class EditCosts:
    """The price of each edit operation; the defaults are Jurafsky & Martin's (replace = 2)."""

    insert: float = 1
    delete: float = 1
    replace: float = 2


class Step(NamedTuple):
    """One column of an alignment: ``op`` is "keep", "replace", "delete" or "insert"."""

    op: str
    source: str
    target: str


def edit_table(source: str, target: str, costs: EditCosts = EditCosts()) -> list[list[float]]:
    """The full DP table D, (len(source) + 1) × (len(target) + 1); D[-1][-1] is the distance."""
    rows, cols = len(source) + 1, len(target) + 1
    table = [[0.0] * cols for _ in range(rows)]
    for i in range(1, rows):
        table[i][0] = table[i - 1][0] + costs.delete
    for j in range(1, cols):
        table[0][j] = table[0][j - 1] + costs.insert
    for i in range(1, rows):
        above, here = table[i - 1], table[i]
        for j in range(1, cols):
            diagonal = above[j - 1] + (0 if source[i - 1] == target[j - 1] else costs.replace)
            here[j] = min(diagonal, above[j] + costs.delete, here[j - 1] + costs.insert)
    return table


def edit_distance(source: str, target: str, costs: EditCosts = EditCosts()) -> float:
    """The minimum total cost of inserts, deletes and replacements turning ``source`` into ``target``."""
    return edit_table(source, target, costs)[-1][-1]


def align(source: str, target: str, costs: EditCosts = EditCosts()) -> list[Step]:
    """One cheapest alignment, by backtrace through :func:`edit_table` (prefers diagonal moves on ties)."""
    table = edit_table(source, target, costs)
    i, j = len(source), len(target)
    steps: list[Step] = []
    while i or j:
        if i and j:
            same = source[i - 1] == target[j - 1]
            if table[i][j] == table[i - 1][j - 1] + (0 if same else costs.replace):
                steps.append(Step("keep" if same else "replace", source[i - 1], target[j - 1]))
                i, j = i - 1, j - 1
                continue
        if i and table[i][j] == table[i - 1][j] + costs.delete:
            steps.append(Step("delete", source[i - 1], ""))
            i -= 1
        else:
            steps.append(Step("insert", "", target[j - 1]))
            j -= 1
    return steps[::-1]


_MARK = {"keep": " ", "replace": "s", "delete": "d", "insert": "i"}


def format_alignment(steps: list[Step]) -> str:
    """Three lines as in Jurafsky & Martin Fig. 2.14: source, operations (s/d/i), target; ``*`` is a gap."""
    top = " ".join(s.source or "*" for s in steps)
    middle = " ".join(_MARK[s.op] for s in steps)
    bottom = " ".join(s.target or "*" for s in steps)
    return f"{top}\n{middle.rstrip()}\n{bottom}"


def damerau_levenshtein(source: str, target: str) -> int:
    """The number of single-letter inserts, deletes, replacements and adjacent swaps from source to target.

    Unrestricted Damerau–Levenshtein distance (Lowrance & Wagner 1975): a swap may be followed by edits
    between the swapped letters. ``last_row[c]`` is the last source row holding letter c; the
    transposition term jumps back to the cell before the previous matching pair.
    """
    far = len(source) + len(target)
    # d is offset by one: d[i + 1][j + 1] is the distance between source[:i] and target[:j].
    d = [[far] * (len(target) + 2) for _ in range(len(source) + 2)]
    for i in range(len(source) + 1):
        d[i + 1][1] = i
    for j in range(len(target) + 1):
        d[1][j + 1] = j
    last_row: dict[str, int] = {}
    for i in range(1, len(source) + 1):
        last_match_col = 0
        for j in range(1, len(target) + 1):
            i1, j1 = last_row.get(target[j - 1], 0), last_match_col
            same = source[i - 1] == target[j - 1]
            if same:
                last_match_col = j
            d[i + 1][j + 1] = min(
                d[i][j] + (0 if same else 1),
                d[i + 1][j] + 1,
                d[i][j + 1] + 1,
                d[i1][j1] + (i - i1 - 1) + 1 + (j - j1 - 1),
            )
        last_row[source[i - 1]] = i
    return d[len(source) + 1][len(target) + 1]
