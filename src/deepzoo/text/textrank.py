"""Extractive summaries by graph centrality (Mihalcea & Tarau 2004, "TextRank: Bringing Order into Texts").

Sentences are the vertices of an undirected graph; two sentences are joined by an edge weighted by their
similarity (section 4.1)

    similarity(S_i, S_j) = |{w : w ∈ S_i and w ∈ S_j}| / (log |S_i| + log |S_j|)

the number of words they share normalised by their lengths, so long sentences do not win by length
alone. Weighted PageRank with damping d = 0.85 (section 2.2) then gives each sentence a score: a sentence
is central when it resembles many sentences that are themselves central. The best ones are the summary,
in text order. Words are the stemmed content words of :func:`deepzoo.text.tokenize.analyze`. Two
one-word sentences would divide by log 1 + log 1 = 0; such a pair gets no edge.
"""

from __future__ import annotations

import math

from .tokenize import analyze

DAMPING = 0.85


def overlap_similarity(first: list[str], second: list[str]) -> float:
    """Mihalcea & Tarau's sentence similarity: shared distinct words / (log |S_i| + log |S_j|).

    Lengths are counted in words (repeats included); 0 when the denominator is 0 or nothing is shared.
    """
    if not first or not second:
        return 0.0
    denominator = math.log(len(first)) + math.log(len(second))
    shared = len(set(first) & set(second))
    return shared / denominator if shared and denominator > 0 else 0.0


def textrank_scores(sentences: list[str], damping: float = DAMPING) -> list[float]:
    """The weighted-PageRank score of each sentence in the similarity graph (they sum to 1)."""
    import networkx as nx

    terms = [analyze(s) for s in sentences]
    graph = nx.Graph()
    graph.add_nodes_from(range(len(sentences)))
    for i in range(len(sentences)):
        for j in range(i + 1, len(sentences)):
            weight = overlap_similarity(terms[i], terms[j])
            if weight > 0:
                graph.add_edge(i, j, weight=weight)
    ranks = nx.pagerank(graph, alpha=damping, weight="weight", tol=1e-10, max_iter=1000)
    return [ranks[i] for i in range(len(sentences))]
