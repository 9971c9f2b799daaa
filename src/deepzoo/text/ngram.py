"""A count-based language model over token ids: interpolated Kneser-Ney n-grams, the baseline a neural
language model has to beat on the same tokens.

Interpolated Kneser-Ney (Kneser & Ney 1995, in the interpolated form of Chen & Goodman 1999, §3, eq. 17
and §2.7): for a history h of n−1 tokens and its shortening h′ (the first token dropped)

    P(w | h) = max(c(h w) − D, 0) / c(h·) + D · N₁₊(h ·) / c(h·) · P(w | h′)

where ``c`` are counts of the n-gram at the highest order and *continuation* counts N₁₊(· h w) — the
number of different tokens seen before ``h w`` — at every lower order (a token that follows many
contexts is a likely continuation of a new one), c(h·) sums them over w and N₁₊(h ·) counts the different
w seen after h. The recursion ends at the uniform distribution over the vocabulary, so every token of a
held-out text has a probability above zero. A history never seen at one order passes its lower order's
probability through unchanged. The discount of each order is Ney et al.'s (1994) estimate
D = n₁ / (n₁ + 2 n₂) from the numbers of n-grams counted once and twice. Each P(· | h) sums to one.

The stream is padded on the left with ``n − 1`` copies of a padding token (the end-of-text id), so the
first tokens have a full history.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Sequence

#: the discount used when an order has no n-gram counted once or twice (Chen & Goodman's usual value)
FALLBACK_DISCOUNT = 0.75


class KneserNeyLM:
    """An interpolated Kneser-Ney model of order ``n`` over ids ``0 .. vocab_size − 1``."""

    def __init__(self, n: int, vocab_size: int, pad_id: int = 0):
        if n < 1:
            raise ValueError(f"an n-gram model needs n >= 1, not {n}")
        self.n, self.vocab_size, self.pad_id = n, vocab_size, pad_id
        #: per order k (1..n): context (k−1 ids) → {next id: count}
        self.tables: dict[int, dict[tuple[int, ...], dict[int, int]]] = {}
        #: per order k: context → (sum of its counts, number of different next ids)
        self.totals: dict[int, dict[tuple[int, ...], tuple[int, int]]] = {}
        self.discounts: dict[int, float] = {}

    def fit(self, stream: Sequence[int]) -> KneserNeyLM:
        """Count every n-gram of ``stream`` (the training tokens) up to order n."""
        ids = [self.pad_id] * (self.n - 1) + list(stream)
        grams = Counter(tuple(ids[i:i + self.n]) for i in range(len(ids) - self.n + 1))
        for k in range(self.n, 0, -1):
            if k == self.n:
                counts = grams
            else:  # continuation counts: how many different tokens precede each k-gram
                counts = Counter(gram[1:] for gram in grams)
            table: dict[tuple[int, ...], dict[int, int]] = defaultdict(dict)
            for gram, count in counts.items():
                table[gram[:-1]][gram[-1]] = count
            self.tables[k] = dict(table)
            self.totals[k] = {ctx: (sum(nexts.values()), len(nexts)) for ctx, nexts in table.items()}
            once = sum(1 for c in counts.values() if c == 1)
            twice = sum(1 for c in counts.values() if c == 2)
            self.discounts[k] = once / (once + 2 * twice) if once and twice else FALLBACK_DISCOUNT
            grams = counts  # its keys: the different k-grams seen, whose continuations the next order counts
        return self

    def probability(self, history: Sequence[int], token: int) -> float:
        """P(token | the last n−1 ids of ``history``), interpolated down to the uniform distribution."""
        p = 1.0 / self.vocab_size
        for k in range(1, self.n + 1):
            context = tuple(history[len(history) - k + 1:]) if k > 1 else ()
            nexts = self.tables[k].get(context)
            if nexts is None:
                continue
            total, types = self.totals[k][context]
            discount = self.discounts[k]
            p = (max(nexts.get(token, 0) - discount, 0.0) + discount * types * p) / total
        return p

    def total_nll(self, stream: Sequence[int]) -> tuple[float, int]:
        """The summed negative log-likelihood (nats) of ``stream[1:]``, each token given those before it
        (the first token is the context the split starts from), and the number of tokens scored."""
        ids = [self.pad_id] * (self.n - 1) + list(stream)
        start = self.n  # the first scored token: stream[1]
        nll = 0.0
        for i in range(start, len(ids)):
            nll -= math.log(self.probability(ids[i - self.n + 1:i], ids[i]))
        return nll, len(ids) - start
