"""Sampling text from a language model, token by token, with a key/value cache.

:func:`generate` extends token ids with ``max_new_tokens`` draws from the model's next-token distribution,
shaped by three knobs applied in this order:

- ``temperature``: the logits are divided by it (below 1 sharper, above 1 flatter); 0 means greedy
  decoding, always the most likely token;
- ``top_k``: only the k most likely tokens stay (Fan et al. 2018; GPT-2's samples used k = 40);
- ``top_p``: nucleus sampling (Holtzman et al. 2020, "The Curious Case of Neural Text Degeneration"):
  only the smallest set of most likely tokens whose probabilities sum to at least p stays.

The draws come from a ``torch.Generator``, so the same seed gives the same text.

Why a key/value cache: without one, every new token runs the model over the whole context again, though
the keys and values of the earlier tokens have not changed (causal attention: a later token never alters
an earlier one's). With :class:`deepzoo.models.gpt.KVCache` the prompt runs once, then each step feeds
only the newest token and attends over the cached keys and values — work per step independent of the
context length instead of growing with it. The model's positions are absolute, so once the context
fills the block, the window slides by one token per step and every position shifts: from then on each
step recomputes the window (as the uncached loop does), and the output is the same token for token.
"""

from __future__ import annotations

import torch

from ..errors import ConfigError


def check_sampling(max_new_tokens: int, temperature: float, top_k: int | None, top_p: float | None) -> None:
    """Range-check the sampling knobs; a bad one is one :class:`ConfigError` line naming it."""
    if max_new_tokens < 0:
        raise ConfigError(f"max_new_tokens={max_new_tokens}: must be at least 0")
    if not temperature >= 0:  # also NaN
        raise ConfigError(f"temperature={temperature}: must be at least 0 (0 = greedy)")
    if top_k is not None and top_k < 1:
        raise ConfigError(f"top_k={top_k}: must be at least 1")
    if top_p is not None and not 0 < top_p <= 1:
        raise ConfigError(f"top_p={top_p}: must be in (0, 1]")


def filter_logits(logits: torch.Tensor, top_k: int | None = None, top_p: float | None = None) -> torch.Tensor:
    """``logits`` (N, V) with every token outside the top-k and outside the nucleus of mass ``top_p`` set to
    −inf. The nucleus keeps tokens in order of probability until their sum reaches ``top_p`` (the token that
    reaches it included), so at least one token always stays."""
    if top_k is not None and top_k < logits.shape[-1]:
        kth = torch.topk(logits, top_k, dim=-1).values[..., -1:]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    if top_p is not None and top_p < 1:
        sorted_logits, order = torch.sort(logits, dim=-1, descending=True)
        probs = sorted_logits.softmax(dim=-1)
        mass_before = probs.cumsum(dim=-1) - probs
        drop_sorted = mass_before >= top_p
        logits = logits.masked_fill(drop_sorted.scatter(-1, order, drop_sorted), float("-inf"))
    return logits


def next_token(logits: torch.Tensor, temperature: float = 1.0, top_k: int | None = None, top_p: float | None = None,
               generator: torch.Generator | None = None) -> torch.Tensor:
    """One token per row (N, 1) from next-token ``logits`` (N, V): the argmax at temperature 0, else a draw
    from softmax(logits / temperature) restricted by :func:`filter_logits`."""
    if temperature == 0:
        return logits.argmax(dim=-1, keepdim=True)
    probs = filter_logits(logits.float() / temperature, top_k, top_p).softmax(dim=-1)
    return torch.multinomial(probs, 1, generator=generator)


@torch.inference_mode()
def generate(model: torch.nn.Module, idx: torch.Tensor, max_new_tokens: int, temperature: float = 1.0,
             top_k: int | None = None, top_p: float | None = None, generator: torch.Generator | None = None,
             use_cache: bool = True) -> torch.Tensor:
    """``idx`` (N, T) token ids followed by ``max_new_tokens`` sampled ones: (N, T + max_new_tokens).

    ``model`` is a GPT (``model(idx, cache=..., last_only=True)``, ``new_cache``, ``block_size``); a context
    longer than its block is cropped to the last ``block_size`` tokens. It runs in eval mode (no dropout)
    and is put back in the mode it was in. ``use_cache=False`` runs the whole context every step (for
    comparison: the same tokens, slower).
    """
    check_sampling(max_new_tokens, temperature, top_k, top_p)
    if idx.ndim != 2 or idx.shape[1] < 1:
        raise ConfigError(f"generate needs token ids of shape (N, T) with T ≥ 1, got {tuple(idx.shape)}")
    block = model.block_size
    was_training = model.training
    model.eval()
    try:
        cache = model.new_cache(idx.shape[0], idx.device) if use_cache else None
        logits = model(idx[:, -block:], cache=cache, last_only=True)[:, -1]
        for step in range(max_new_tokens):
            token = next_token(logits, temperature, top_k, top_p, generator)
            idx = torch.cat([idx, token], dim=1)
            if step == max_new_tokens - 1:
                break
            if cache is not None and cache.length < block:
                logits = model(token, cache=cache, last_only=True)[:, -1]
            else:  # no cache, or the window now slides: every position shifts, so recompute it
                logits = model(idx[:, -block:], last_only=True)[:, -1]
    finally:
        model.train(was_training)
    return idx
