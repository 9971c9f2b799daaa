"""Text tools behind ``deepzoo explain``: BM25F search, spelling correction and extractive summaries.

:mod:`.tokenize` (words, stop words, light stemming, CamelCase parts of titles), :mod:`.bm25` (Okapi
BM25 and BM25F on a sparse matrix), :mod:`.edit_distance` (minimum edit distance with alignment, and
Damerau–Levenshtein), :mod:`.autocorrect` (Norvig's corrector on a symmetric-delete index),
:mod:`.summarize` (Luhn's frequency summariser, the lead baseline, and :mod:`.textrank`),
:mod:`.markup` (the prose of Markdown pages and docstrings), :mod:`.rouge` (ROUGE through rouge-score),
:mod:`.corpus` (model cards, docs pages, user corpora; :mod:`.torch_docs` the torch.nn docstrings) and
:mod:`.search` (all of it together). numpy and scipy throughout; networkx for TextRank and rouge-score
for ROUGE are imported only when used.
"""

from .autocorrect import SpellingCorrector, naive_correct
from .bm25 import BM25FIndex, BM25Index, Hit, lucene_idf
from .corpus import Document, builtin_corpus, load_corpus, model_cards
from .edit_distance import EditCosts, align, damerau_levenshtein, edit_distance, format_alignment
from .markup import prose
from .search import SearchEngine, SearchResult, builtin_engine
from .summarize import SUMMARIZERS, split_sentences, summarize, summarize_with
from .tokenize import STOP_WORDS, analyze, stem, words

__all__ = [
    "BM25FIndex",
    "BM25Index",
    "Document",
    "EditCosts",
    "Hit",
    "STOP_WORDS",
    "SUMMARIZERS",
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
    "prose",
    "split_sentences",
    "stem",
    "summarize",
    "summarize_with",
    "words",
]
