"""Retrieval-augmented language modelling measured: held-out perplexity with and without retrieval.

In-context RALM (Ram et al. 2023, "In-Context Retrieval-Augmented Language Models", §3): the language
model is left as it is; every ``stride`` tokens a retriever is queried with the last ``query_tokens`` tokens
of the text so far, and the retrieved passage is placed **before** the context, which is truncated from the
left so that passage and context fit the model's block. The paper uses BM25, a stride of 4, a query of the
last 32 tokens and passages of at most 256 tokens before a 1024-token context; those are the defaults here
(the passage budget scaled to the block: a quarter of it, :data:`PASSAGE_SHARE`).

How the targets are scored — the same way with and without retrieval, so the two perplexities differ only
by the passage: the held-out token stream ``t₀ t₁ … t_{n−1}`` is cut into chunks of ``stride`` targets; the
chunk ``t_s … t_{s+L−1}`` is predicted from one forward pass over ``passage + t_a … t_{s+L−2}``, the history
``t_a …`` as long as the block allows after the passage, and its ``L`` last positions' logits are scored.
Every token after the first is a target exactly once, as in the ``lm`` task's own metrics; without
retrieval the passage is empty and the history up to a block long (a sliding window, so most targets see
more context than in the task's block-by-block evaluation: compare the two numbers printed here, not
with the training log).

The datastore (:class:`Datastore`) is documents cut into chunks of the passage budget, indexed with
deepzoo's BM25 (:class:`deepzoo.text.bm25.BM25Index`, Lucene's k1 = 1.2, b = 0.75) over the chunks' words;
k > 1 passages are joined best-last, so the best one sits next to the context, each followed by the
end-of-text token, and cut from the left to the budget.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ..errors import ConfigError
from ..metrics.text import bits_per_byte, perplexity
from .bm25 import BM25Index
from .tokenize import analyze

#: the share of the block given to retrieved passages (Ram et al.: 256 of 1024 tokens)
PASSAGE_SHARE = 0.25


@dataclass(frozen=True)
class RetrievalSettings:
    """Ram et al.'s knobs: retrieve every ``stride`` tokens, query with the last ``query_tokens``, keep the
    ``k`` best passages."""

    stride: int = 4
    query_tokens: int = 32
    k: int = 1

    def check(self, block_size: int) -> None:
        """Range checks; a bad value is one :class:`ConfigError` line naming its option."""
        for name, value in (("--stride", self.stride), ("--query-tokens", self.query_tokens), ("--k", self.k)):
            if value < 1:
                raise ConfigError(f"{name} {value}: must be at least 1")
        if self.stride > passage_budget(block_size):
            raise ConfigError(f"--stride {self.stride}: at most {passage_budget(block_size)} for a block of "
                              f"{block_size} tokens (the history must fit beside the passage)")


def passage_budget(block_size: int) -> int:
    """Tokens of retrieved text placed before the context: :data:`PASSAGE_SHARE` of the block."""
    return max(1, int(block_size * PASSAGE_SHARE))


class Datastore:
    """Documents cut into chunks of ``chunk_tokens`` token ids, searchable with BM25 over their words."""

    def __init__(self, texts: Sequence[str], tokenizer, chunk_tokens: int):
        self.tokenizer = tokenizer
        self.chunks: list[list[int]] = []
        for text in texts:
            ids = tokenizer.encode(text)
            self.chunks += [ids[i:i + chunk_tokens] for i in range(0, len(ids), chunk_tokens)]
        if not self.chunks:
            raise ConfigError("the retrieval corpus holds no text")
        self.index = BM25Index([analyze(tokenizer.decode(chunk)) for chunk in self.chunks])

    def passages(self, query: str, k: int) -> list[list[int]]:
        """The token ids of the ``k`` best chunks for ``query``, best first (fewer when fewer match)."""
        return [self.chunks[hit.doc] for hit in self.index.top(analyze(query), k)]


def retrieval_prefix(datastore: Datastore, history: Sequence[int], settings: RetrievalSettings, budget: int,
                     eot_id: int) -> list[int]:
    """The passage tokens to place before the context: the ``k`` best chunks for the last ``query_tokens``
    tokens of ``history``, best last, each followed by ``eot_id``, cut from the left to ``budget``."""
    query = datastore.tokenizer.decode(list(history[-settings.query_tokens:]))
    prefix: list[int] = []
    for passage in reversed(datastore.passages(query, settings.k)):
        prefix += [*passage, eot_id]
    return prefix[-budget:] if prefix else []


@torch.no_grad()
def strided_nll(model: torch.nn.Module, stream: Sequence[int], block_size: int, stride: int,
                prefix: Callable[[int], list[int]] | None = None, batch_size: int = 32,
                device: torch.device | str = "cpu") -> tuple[float, int]:
    """The summed NLL (nats) of ``stream[1:]`` and the number of targets, scored ``stride`` targets per
    forward pass (module docstring); ``prefix(s)`` gives the tokens placed before the context of the
    chunk starting at target ``s`` (none without it)."""
    windows: list[tuple[list[int], list[int]]] = []
    total, count = 0.0, 0

    def flush() -> float:
        width = max(len(x) for x, _ in windows)
        idx = torch.zeros((len(windows), width), dtype=torch.int64)
        rows, positions, targets = [], [], []
        for row, (x, y) in enumerate(windows):
            idx[row, :len(x)] = torch.tensor(x)  # right-padded: causal attention keeps pads out of earlier logits
            rows += [row] * len(y)
            positions += range(len(x) - len(y), len(x))
            targets += y
        logits = model(idx.to(device))[torch.tensor(rows), torch.tensor(positions)].float()
        windows.clear()
        return float(F.cross_entropy(logits, torch.tensor(targets, device=device), reduction="sum"))

    for s in range(1, len(stream), stride):
        targets = list(stream[s:s + stride])
        before = prefix(s) if prefix is not None else []
        end = s + len(targets) - 1  # the inputs run up to the token before the last target
        start = max(0, end - (block_size - len(before)))
        windows.append((before + list(stream[start:end]), targets))
        count += len(targets)
        if len(windows) == batch_size:
            total += flush()
    if windows:
        total += flush()
    return total, count


def retrieval_evaluation(model: torch.nn.Module, tokenizer, stream: Sequence[int], corpus: Sequence[str],
                         block_size: int, settings: RetrievalSettings, num_bytes: int,
                         device: torch.device | str = "cpu") -> dict[str, float]:
    """Perplexity and bits per byte of ``stream`` (held-out token ids) without and with in-context retrieval
    from ``corpus`` (texts), plus what was measured: ``tokens``, ``chunks``, ``passage_tokens``."""
    settings.check(block_size)
    budget = passage_budget(block_size)
    datastore = Datastore(corpus, tokenizer, budget)
    was_training = model.training
    model.eval()
    try:
        plain_nll, tokens = strided_nll(model, stream, block_size, settings.stride, device=device)
        augmented_nll, _ = strided_nll(
            model, stream, block_size, settings.stride, device=device,
            prefix=lambda s: retrieval_prefix(datastore, stream[max(0, s - settings.query_tokens):s], settings, budget,
                                              tokenizer.eot_id))
    finally:
        model.train(was_training)
    return {
        "perplexity_no_retrieval": perplexity(plain_nll, tokens),
        "perplexity_retrieval": perplexity(augmented_nll, tokens),
        "bpb_no_retrieval": bits_per_byte(plain_nll, num_bytes),
        "bpb_retrieval": bits_per_byte(augmented_nll, num_bytes),
        "tokens": float(tokens), "chunks": float(len(datastore.chunks)), "passage_tokens": float(budget),
    }


def corpus_texts(corpus: str, recipe) -> list[str]:
    """The datastore's texts: ``train`` (the run's training documents, read back from its token stream) or
    ``text:FILE_OR_DIR`` (.txt/.md files, one document each)."""
    from ..data.text import text_documents, unpack_blocks

    if corpus == "train":
        eot = recipe.tokenizer.eot_id
        return [recipe.tokenizer.decode(doc) for doc in split_documents_at(unpack_blocks(recipe.data.train), eot)]
    kind, _, path = corpus.partition(":")
    if kind != "text" or not path:
        raise ConfigError(f"--retrieval {corpus}: give train (the run's training documents) or text:FILE_OR_DIR")
    return [document.text for document in text_documents(path)]


def evaluate_run(recipe, corpus: str, settings: RetrievalSettings) -> dict[str, float]:
    """:func:`retrieval_evaluation` of a loaded ``lm`` run (its recipe: model, tokenizer, data, device) on its
    test documents, with the datastore ``corpus`` names (:func:`corpus_texts`)."""
    from ..data.text import unpack_blocks

    if getattr(recipe, "tokenizer", None) is None:
        raise ConfigError("--retrieval evaluates language models (an lm run)")
    stream = unpack_blocks(recipe.data.test)
    if len(stream) < 2:
        raise ConfigError("--retrieval scores the run's test documents, and it has none (test_fraction=0)")
    return retrieval_evaluation(recipe.model, recipe.tokenizer, stream, corpus_texts(corpus, recipe),
                                recipe.model.block_size, settings, recipe.data.meta.extra["bytes"]["test"],
                                recipe.device)


def split_documents_at(stream: Sequence[int], eot_id: int) -> list[list[int]]:
    """The documents of a ``<eot> doc₁ <eot> doc₂ <eot>`` token stream (empty ones dropped)."""
    documents, current = [], []
    for token in stream:
        if token == eot_id:
            if current:
                documents.append(current)
            current = []
        else:
            current.append(token)
    if current:
        documents.append(current)
    return documents
