"""Text tools behind ``deepzoo explain``: BM25 search, spelling correction and extractive summaries.

Only numpy and scipy are used: :mod:`.tokenize` (words, stop words, light stemming), :mod:`.bm25`
(Okapi BM25 on a sparse matrix), :mod:`.edit_distance` (minimum edit distance with alignment, and
Damerau–Levenshtein), :mod:`.autocorrect` (Norvig's corrector on a symmetric-delete index),
:mod:`.summarize` (Luhn's frequency summariser), :mod:`.corpus` (model cards, docs pages, user corpora)
and :mod:`.search` (all of it together).
"""

from .autocorrect import SpellingCorrector, naive_correct
from .bm25 import BM25Index, Hit, lucene_idf
from .corpus import Document, builtin_corpus, load_corpus, model_cards
from .edit_distance import EditCosts, align, damerau_levenshtein, edit_distance, format_alignment
from .search import SearchEngine, SearchResult, builtin_engine
from .summarize import split_sentences, summarize
from .tokenize import STOP_WORDS, analyze, stem, words

__all__ = [
    "BM25Index",
    "Document",
    "EditCosts",
    "Hit",
    "STOP_WORDS",
    "SearchEngine",
    "SearchResult",
    "SpellingCorrector",
    "align",
    "analyze",
    "builtin_corpus",
    "builtin_engine",
    "damerau_levenshtein",
    "edit_distance",
    "format_alignment",
    "load_corpus",
    "lucene_idf",
    "model_cards",
    "naive_correct",
    "split_sentences",
    "stem",
    "summarize",
    "words",
]
