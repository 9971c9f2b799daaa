"""Answers generated from retrieved passages (retrieval-augmented generation), with citations.

Lewis et al. 2020 ("Retrieval-Augmented Generation for Knowledge-Intensive NLP Tasks") condition a generator
on retrieved passages; Ram et al. 2023 show that simply placing them in the prompt works with an unchanged
model. ``deepzoo explain --generate QUESTION`` does that: the BM25 hits of the question
(:class:`deepzoo.text.search.SearchEngine`) become numbered passages — each hit's title, source and
extractive summary — and the generator is asked to answer from them and cite them as [1], [2], ...

Two kinds of generator:

- a chat server (:class:`deepzoo.text.llm_client.ChatClient`): the instruction as the system message, the
  passages and the question as the user message (:func:`chat_messages`);
- a language model with its tokenizer (a trained ``gpt`` run, or GPT-2 by ``hf:gpt2``): one completion prompt
  ending in ``Answer:`` (:func:`completion_prompt`), continued greedily (temperature 0, so the same question
  gives the same answer). A prompt longer than the model's context minus the answer's tokens has its
  passages shortened, word by word from their ends, until it fits (:func:`fitting_prompt`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from ..errors import ConfigError
from .llm_client import ChatClient
from .search import SearchResult

INSTRUCTION = ("Answer the question using only the numbered passages below, and cite the passages you use as [1], "
               "[2]. If they do not hold the answer, say so.")


@dataclass(frozen=True)
class Passage:
    """One retrieved passage: the document's title and source, its BM25 score and the text shown."""

    title: str
    source: str
    score: float
    text: str


def passages_from(result: SearchResult) -> list[Passage]:
    """The hits of a search as passages, their text the hit's extractive summary."""
    return [Passage(h.document.title, h.document.source, h.score, " ".join(h.summary)) for h in result.hits]


def format_passages(passages: Sequence[Passage]) -> str:
    """``[1] Title (source)`` then the passage's text, one block per passage."""
    return "\n\n".join(f"[{i}] {p.title} ({p.source})\n{p.text}" for i, p in enumerate(passages, 1))


def chat_messages(question: str, passages: Sequence[Passage]) -> list[dict[str, str]]:
    """The chat request: the instruction, then the passages and the question."""
    return [{"role": "system", "content": INSTRUCTION},
            {"role": "user", "content": f"{format_passages(passages)}\n\nQuestion: {question}"}]


def completion_prompt(question: str, passages: Sequence[Passage]) -> str:
    """The prompt a plain language model continues: instruction, passages, question, ``Answer:``."""
    return f"{INSTRUCTION}\n\n{format_passages(passages)}\n\nQuestion: {question}\nAnswer:"


def answer_with_server(client: ChatClient, question: str, passages: Sequence[Passage],
                       max_tokens: int) -> tuple[str, str]:
    """``(prompt, answer)`` from a chat server; the prompt as the messages read, role by role."""
    messages = chat_messages(question, passages)
    prompt = "\n\n".join(f"{m['role']}: {m['content']}" for m in messages)
    reply = client.complete(messages, temperature=0.0, max_tokens=max_tokens)
    return prompt, (reply.content or "").strip()


def fitting_prompt(question: str, passages: Sequence[Passage], tokenizer, room: int) -> list[int]:
    """The completion prompt's token ids in at most ``room`` tokens: the passages cut word by word from
    their ends (longest first) until it fits; when even empty passages leave it too long (a small model's
    context), its last ``room`` tokens, which keep the question and ``Answer:``."""
    texts = [p.text.split() for p in passages]
    while True:
        shown = [Passage(p.title, p.source, p.score, " ".join(words)) for p, words in zip(passages, texts)]
        ids = tokenizer.encode(completion_prompt(question, shown))
        if len(ids) <= room:
            return ids
        longest = max(range(len(texts)), key=lambda i: len(texts[i]), default=None)
        if longest is None or not texts[longest]:
            return ids[-room:]
        del texts[longest][-max(1, len(texts[longest]) // 4):]


def answer_with_lm(model: torch.nn.Module, tokenizer, question: str, passages: Sequence[Passage],
                   max_new_tokens: int, device: torch.device | str = "cpu") -> tuple[str, str]:
    """``(prompt, answer)`` from a GPT and its tokenizer: the prompt fitted to the context
    (:func:`fitting_prompt`), continued greedily; the answer ends at an end-of-text token or a new
    ``Question:``."""
    from .sampling import generate

    room = model.block_size - max_new_tokens
    if room < 1:
        raise ConfigError(f"--max-new-tokens {max_new_tokens}: the model's context is {model.block_size} tokens; "
                          "leave room for the prompt")
    ids = fitting_prompt(question, passages, tokenizer, room)
    out = generate(model, torch.tensor([ids], device=device), max_new_tokens, temperature=0.0)
    new = out[0, len(ids):].tolist()
    if tokenizer.eot_id in new:
        new = new[:new.index(tokenizer.eot_id)]
    return tokenizer.decode(ids), tokenizer.decode(new).split("\nQuestion:")[0].strip()
