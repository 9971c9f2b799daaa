"""GPT: a decoder-only transformer language model (Radford et al. 2018, "Improving Language Understanding
by Generative Pre-Training"; Radford et al. 2019, "Language Models are Unsupervised Multitask Learners").

The shape is GPT-2's, as nanoGPT writes it: token embeddings plus learned position embeddings, ``n_layer``
pre-norm blocks — x = x + Attn(LN(x)), then x = x + MLP(LN(x)) with a 4× wide MLP and GELU in its tanh
approximation (GPT-2 §2.3 moves the layer norms to the block inputs and adds one after the last block) —
a final layer norm, and a linear head onto the vocabulary whose weight *is* the token embedding matrix
(tied, Press & Wolf 2017). Attention is causal multi-head self-attention through
:func:`torch.nn.functional.scaled_dot_product_attention` (``is_causal=True``; fused kernels where the device
has them).

Initialisation (GPT-2 §2.3 and its released code): every linear and embedding weight from N(0, 0.02),
biases zero, layer norms one and zero; the two projections that write into the residual stream in each
block (``attn.c_proj`` and ``mlp.c_proj``) from N(0, 0.02/√(2·n_layer)), so the residual's variance does
not grow with depth.

Parameters (V vocabulary, B block size, d width, L layers, tied head counted once, position embeddings
counted)::

    V·d + B·d + L·(12·d² + 13·d) + 2·d

per block: two layer norms 4d, ``c_attn`` 3d² + 3d, ``attn.c_proj`` d² + d, ``c_fc`` 4d² + 4d, ``mlp.c_proj``
4d² + d; the final layer norm 2d. ``gpt2`` (V 50257, B 1024, d 768, L 12) has 124,439,808: GPT-2's
published "117M"/"124M" small model.

Module names are GPT-2's own (``wte``, ``wpe``, ``h.{i}.ln_1``, ``attn.c_attn`` …, ``ln_f``, ``lm_head``), so
OpenAI's released weights map onto them by name (:mod:`deepzoo.models.gpt_weights`).

Incremental decoding: ``model(idx, cache=cache)`` with a :class:`KVCache` from :meth:`GPT.new_cache` feeds
only the new tokens; every layer writes their keys and values after the ones already cached and attends
over all of them, and positions continue from ``cache.length``.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import ConfigError
from . import register_model

RADFORD_2019 = "Radford, Wu, Child, Luan, Amodei & Sutskever 2019, Language Models are Unsupervised Multitask Learners"
GPT2_VOCAB = 50257  #: GPT-2's byte-level BPE vocabulary
INIT_STD = 0.02  #: GPT-2's initialisation


def gpt_parameters(vocab_size: int, block_size: int, n_layer: int, n_embd: int) -> int:
    """The parameter count of a GPT with a tied head (the module docstring's formula)."""
    return vocab_size * n_embd + block_size * n_embd + n_layer * (12 * n_embd ** 2 + 13 * n_embd) + 2 * n_embd


class KVCache:
    """Per-layer keys and values of the tokens already seen, for incremental decoding.

    ``keys[i]``/``values[i]`` are (N, heads, block_size, head_dim) buffers allocated once; the first
    ``length`` positions hold the past. A forward with the cache writes the new tokens' keys and values at
    ``length`` onwards and advances it by their number.
    """

    def __init__(self, n_layer: int, batch: int, n_head: int, block_size: int, head_dim: int,
                 device: torch.device, dtype: torch.dtype):
        shape = (batch, n_head, block_size, head_dim)
        self.keys = [torch.zeros(shape, device=device, dtype=dtype) for _ in range(n_layer)]
        self.values = [torch.zeros(shape, device=device, dtype=dtype) for _ in range(n_layer)]
        self.length = 0
        self.block_size = block_size

    def append(self, layer: int, k: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Store the new keys and values (N, heads, T, head_dim) of ``layer`` after the cached ones and
        return all of them so far. :meth:`advance` moves ``length`` once every layer has written."""
        end = self.length + k.shape[2]
        self.keys[layer][:, :, self.length:end] = k
        self.values[layer][:, :, self.length:end] = v
        return self.keys[layer][:, :, :end], self.values[layer][:, :, :end]

    def advance(self, tokens: int) -> None:
        """Count ``tokens`` more positions as cached (after a forward wrote them in every layer)."""
        self.length += tokens


class CausalSelfAttention(nn.Module):
    """Multi-head causal self-attention (Vaswani et al. 2017 Eq. 1 with a causal mask): one packed q/k/v
    projection ``c_attn``, scaled dot-product attention per head, output projection ``c_proj``."""

    def __init__(self, n_embd: int, n_head: int, dropout: float):
        super().__init__()
        if n_embd % n_head:
            raise ConfigError(f"gpt: n_embd {n_embd} is not divisible by n_head {n_head}")
        self.n_head, self.dropout = n_head, dropout
        self.c_attn = nn.Linear(n_embd, 3 * n_embd)
        self.c_proj = nn.Linear(n_embd, n_embd)
        self.resid_dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, cache: KVCache | None = None, layer: int = 0) -> torch.Tensor:
        batch, tokens, width = x.shape
        q, k, v = self.c_attn(x).view(batch, tokens, 3, self.n_head, width // self.n_head).permute(2, 0, 3, 1, 4)
        mask, causal = None, True
        if cache is not None and cache.length:
            past = cache.length
            k, v = cache.append(layer, k, v)
            causal = False  # one new token sees every cached one; several need the offset causal mask
            if tokens > 1:
                mask = torch.ones(tokens, past + tokens, dtype=torch.bool, device=x.device).tril(past)
        elif cache is not None:
            cache.append(layer, k, v)
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, is_causal=causal,
                                             dropout_p=self.dropout if self.training else 0.0)
        return self.resid_dropout(self.c_proj(out.transpose(1, 2).reshape(batch, tokens, width)))


class MLP(nn.Module):
    """The block's feed-forward network: Linear(d, 4d) → GELU (tanh approximation, as GPT-2) → Linear(4d, d)."""

    def __init__(self, n_embd: int, dropout: float):
        super().__init__()
        self.c_fc = nn.Linear(n_embd, 4 * n_embd)
        self.gelu = nn.GELU(approximate="tanh")
        self.c_proj = nn.Linear(4 * n_embd, n_embd)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dropout(self.c_proj(self.gelu(self.c_fc(x))))


class Block(nn.Module):
    """Pre-norm transformer block (GPT-2 §2.3): x + Attn(LN(x)), then x + MLP(LN(x))."""

    def __init__(self, n_embd: int, n_head: int, dropout: float):
        super().__init__()
        self.ln_1 = nn.LayerNorm(n_embd)
        self.attn = CausalSelfAttention(n_embd, n_head, dropout)
        self.ln_2 = nn.LayerNorm(n_embd)
        self.mlp = MLP(n_embd, dropout)

    def forward(self, x: torch.Tensor, cache: KVCache | None = None, layer: int = 0) -> torch.Tensor:
        x = x + self.attn(self.ln_1(x), cache, layer)
        return x + self.mlp(self.ln_2(x))


class GPT(nn.Module):
    """Decoder-only language model: ``model(idx)`` with token ids (N, T) int64, T ≤ ``block_size``, gives
    next-token logits (N, T, vocab_size); see the module docstring for the architecture and
    initialisation."""

    def __init__(self, vocab_size: int = GPT2_VOCAB, block_size: int = 1024, n_layer: int = 12, n_head: int = 12,
                 n_embd: int = 768, dropout: float = 0.0):
        super().__init__()
        for name, value in (("vocab_size", vocab_size), ("block_size", block_size), ("n_layer", n_layer),
                            ("n_head", n_head), ("n_embd", n_embd)):
            if value < 1:
                raise ConfigError(f"gpt: {name} must be at least 1, got {value}")
        if not 0.0 <= dropout < 1.0:
            raise ConfigError(f"gpt: dropout must be in [0, 1), got {dropout}")
        self.vocab_size, self.block_size, self.n_layer, self.n_head, self.n_embd = (
            vocab_size, block_size, n_layer, n_head, n_embd)
        self.wte = nn.Embedding(vocab_size, n_embd)
        self.wpe = nn.Embedding(block_size, n_embd)
        self.drop = nn.Dropout(dropout)
        self.h = nn.ModuleList(Block(n_embd, n_head, dropout) for _ in range(n_layer))
        self.ln_f = nn.LayerNorm(n_embd)
        self.lm_head = nn.Linear(n_embd, vocab_size, bias=False)
        self.lm_head.weight = self.wte.weight  # weight tying: one Parameter, counted and updated once
        self.apply(self._init_weights)
        for block in self.h:
            for projection in (block.attn.c_proj, block.mlp.c_proj):
                nn.init.normal_(projection.weight, mean=0.0, std=INIT_STD / math.sqrt(2 * n_layer))

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        """GPT-2's initialisation: N(0, 0.02) weights, zero biases (layer norms keep their ones and zeros)."""
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, mean=0.0, std=INIT_STD)
        if isinstance(module, nn.Linear) and module.bias is not None:
            nn.init.zeros_(module.bias)

    def new_cache(self, batch: int, device: torch.device | str | None = None) -> KVCache:
        """An empty :class:`KVCache` for ``batch`` sequences of up to ``block_size`` tokens."""
        weight = self.wte.weight
        return KVCache(self.n_layer, batch, self.n_head, self.block_size, self.n_embd // self.n_head,
                       torch.device(device) if device is not None else weight.device, weight.dtype)

    def forward(self, idx: torch.Tensor, cache: KVCache | None = None, last_only: bool = False) -> torch.Tensor:
        """Logits (N, T, vocab_size) for token ids ``idx`` (N, T); with ``cache``, ``idx`` holds only the
        tokens after the cached ones, at positions ``cache.length`` onwards. ``last_only`` computes the
        head for the last position alone (N, 1, vocab_size): all that sampling needs, as nanoGPT does at
        inference."""
        start = cache.length if cache is not None else 0
        tokens = idx.shape[1]
        if start + tokens > self.block_size:
            raise ConfigError(f"gpt: {start + tokens} tokens do not fit the block size {self.block_size}; "
                              "crop the context to its last block_size tokens")
        positions = torch.arange(start, start + tokens, device=idx.device)
        x = self.drop(self.wte(idx) + self.wpe(positions))
        for layer, block in enumerate(self.h):
            x = block(x, cache, layer)
        if cache is not None:
            cache.advance(tokens)
        return self.lm_head(self.ln_f(x[:, -1:] if last_only else x))

    def convert_state_dict(self, state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """A state dict without ``lm_head.weight`` (tied, so files often leave it out) gets it from
        ``wte.weight``; GPT-2's released files are mapped by :mod:`deepzoo.models.gpt_weights`."""
        if "lm_head.weight" not in state and "wte.weight" in state:
            state = {**state, "lm_head.weight": state["wte.weight"]}
        return state


def _meta(**extra) -> dict:
    return dict(family="gpt", task="lm", paper=RADFORD_2019, **extra)


def _gpt(vocab_size: int, block_size: int, dropout: float, n_layer: int, n_head: int, n_embd: int) -> GPT:
    return GPT(vocab_size=vocab_size, block_size=block_size, n_layer=n_layer, n_head=n_head, n_embd=n_embd,
               dropout=dropout)


@register_model("gpt_nano", **_meta(summary="4 layers, 4 heads, width 128, block 128 (CPU-sized)"))
def gpt_nano(vocab_size: int = GPT2_VOCAB, block_size: int = 128, dropout: float = 0.0, n_layer: int = 4,
             n_head: int = 4, n_embd: int = 128) -> GPT:
    """A GPT small enough to train on a laptop CPU in minutes: nanoGPT's CPU settings for Shakespeare
    characters (4 layers, 4 heads, width 128) with a 128-token block."""
    return _gpt(vocab_size, block_size, dropout, n_layer, n_head, n_embd)


@register_model("gpt_micro", **_meta(summary="6 layers, 6 heads, width 384, block 256"))
def gpt_micro(vocab_size: int = GPT2_VOCAB, block_size: int = 256, dropout: float = 0.0, n_layer: int = 6,
              n_head: int = 6, n_embd: int = 384) -> GPT:
    """nanoGPT's shakespeare_char model (6 layers, 6 heads, width 384, block 256): a few minutes on one GPU."""
    return _gpt(vocab_size, block_size, dropout, n_layer, n_head, n_embd)


@register_model("gpt_mini", **_meta(summary="8 layers, 8 heads, width 512, block 512"))
def gpt_mini(vocab_size: int = GPT2_VOCAB, block_size: int = 512, dropout: float = 0.0, n_layer: int = 8,
             n_head: int = 8, n_embd: int = 512) -> GPT:
    """A GPT between nanoGPT's character model and GPT-2 small (8 layers, 8 heads, width 512, block 512)."""
    return _gpt(vocab_size, block_size, dropout, n_layer, n_head, n_embd)


@register_model("gpt2", **_meta(params=124_439_808, reference="params: GPT-2 small, 124M with tied embeddings "
                                "(Radford et al. 2019 Table 2 prints 117M)",
                                summary="GPT-2 small: 12 layers, 12 heads, width 768, block 1024"))
def gpt2(vocab_size: int = GPT2_VOCAB, block_size: int = 1024, dropout: float = 0.0, n_layer: int = 12,
         n_head: int = 12, n_embd: int = 768) -> GPT:
    """GPT-2 small (Radford et al. 2019 Table 2: 12 layers, width 768; 12 heads, 1024-token context,
    50,257-token vocabulary in the released model): 124,439,808 parameters; ``--weights hf:gpt2`` loads
    OpenAI's released weights."""
    return _gpt(vocab_size, block_size, dropout, n_layer, n_head, n_embd)
