"""ROUGE-1, ROUGE-2 and ROUGE-L of a summary against a reference (Lin 2004, "ROUGE: A Package for
Automatic Evaluation of Summaries"), through Google's ``rouge-score`` package.

ROUGE-N counts the n-grams the two texts share: recall = shared / n-grams of the reference, precision =
shared / n-grams of the summary (section 2). ROUGE-L uses the longest common subsequence of the two word
sequences instead (section 3.1). Words are stemmed with Porter's stemmer, as ROUGE-1.5.5 does with
``-m``. ``rouge-score`` keeps only the tokens made of ``[a-z0-9]``, so a reference without any such
character cannot be scored: that is a :class:`~deepzoo.errors.DataError`, not a silent 0.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import DataError

#: rouge-score's names of the measures, in the order they are reported.
ROUGE_TYPES = ("rouge1", "rouge2", "rougeL")


@dataclass(frozen=True)
class Rouge:
    """Precision, recall and F1 of one ROUGE measure."""

    precision: float
    recall: float
    f1: float


def rouge(reference: str, summary: str, where: str = "reference") -> dict[str, Rouge]:
    """``{"rouge1": Rouge, "rouge2": ..., "rougeL": ...}`` of ``summary`` against ``reference``.

    ``where`` names the reference (a file) in the error raised when it holds nothing rouge-score reads.
    """
    from rouge_score import rouge_scorer

    if not re.search(r"[a-z0-9]", reference.lower()):
        raise DataError(f"{where}: no letters a-z or digits to score (rouge-score reads only [a-z0-9] words)")
    scores = rouge_scorer.RougeScorer(list(ROUGE_TYPES), use_stemmer=True).score(reference, summary)
    return {name: Rouge(*scores[name]) for name in ROUGE_TYPES}
