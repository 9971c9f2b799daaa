"""Language-model metrics over a whole split: per-token perplexity and bits per byte.

Both are computed from the split's **total** negative log-likelihood, never averaged over batches: a
mean of per-batch perplexities over-weights short batches and, by Jensen's inequality, exceeds the
perplexity of the split.

* Perplexity (per token) = exp(Σ NLL / number of target tokens), NLL in nats. A model that gives every
  one of V tokens probability 1/V has perplexity exactly V. It depends on the tokenizer: a character
  model predicts more, easier tokens than a BPE model on the same text.
* Bits per byte = Σ NLL / ln 2 / number of UTF-8 bytes of the split's text. The numerator is the code
  length of the whole text under the model (Shannon), the denominator does not depend on the tokenizer,
  so models with different vocabularies — characters, BPE, GPT-2's — compare on the same text (as in
  Gao et al. 2020, *The Pile*, §5). :mod:`deepzoo.data.text` counts one byte per document boundary.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from ..data.text import IGNORE


def token_nll_sum(logits: torch.Tensor, targets: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The summed negative log-likelihood in nats (float64, on the device) of ``targets`` (N, T) under
    ``logits`` (N, T, V), and the number of targets counted (those not ``IGNORE``, a padded block's tail)."""
    nll = F.cross_entropy(logits.flatten(0, 1).float(), targets.flatten(), ignore_index=IGNORE,
                          reduction="sum")
    return nll.double(), (targets != IGNORE).sum()


def perplexity(total_nll: float, tokens: int) -> float:
    """exp(mean NLL per token); NaN for no tokens."""
    return math.exp(total_nll / tokens) if tokens else math.nan


def bits_per_byte(total_nll: float, num_bytes: int) -> float:
    """The NLL (nats) in bits divided by the UTF-8 bytes it encodes; NaN for no bytes."""
    return total_nll / math.log(2) / num_bytes if num_bytes else math.nan
