"""The ``lm`` task: a decoder-only language model (the ``gpt`` family) trained on next-token prediction.

The data is a text corpus packed into blocks (:mod:`deepzoo.data.text`: ``text:``, ``csv:?text=``,
``python-docs``); the model is built with the tokenizer's ``vocab_size`` and the data's ``block_size`` as
its context (a larger ``model.block_size`` may be set; GPT-2's weights bring their own). A step is the mean
next-token cross-entropy over the batch's targets (padding ignored), as in Radford et al. 2018, eq. 1.

Metrics of a split (:mod:`deepzoo.metrics.text`), from its total negative log-likelihood: ``loss`` (mean
NLL per token, nats), ``perplexity`` (per token) and ``bpb`` (bits per UTF-8 byte, comparable across
tokenizers). After training, the count-based baseline — an interpolated Kneser-Ney n-gram model
(:mod:`deepzoo.text.ngram`) fitted on the same training tokens — is scored on the same valid and test
tokens: ``valid/ngram_perplexity``, ``valid/ngram_bpb``, ``test/ngram_perplexity``, ``test/ngram_bpb``.

**Defaults** (set unless you set them): AdamW, lr 1e-3 with a one-epoch linear warmup and a cosine decay to
1e-4, β₂ 0.99, weight decay 0.1 on matrices only, gradient clipping at 1.0, batch 32 blocks, 5 epochs —
nanoGPT's ``shakespeare_char`` settings (Karpathy) at a CPU-sized run.

**Options** (``--set task_args.KEY=VALUE``): ``ngram`` (3; the baseline's order, 0 for none).

The run folder gets ``tokenizer.json`` (written atomically at the first epoch's end), which
:func:`deepzoo.data.tokenizers.tokenizer_from_file` reads; the loaded recipe's :attr:`tokenizer` is the
same tokenizer, from ``meta.json``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import torch
import torch.nn.functional as F

from ..config import RunConfig
from ..data import DataBundle
from ..data.text import IGNORE, load_tokenizer, unpack_blocks
from ..errors import ConfigError
from ..files import write_text_atomic
from ..metrics.text import bits_per_byte, perplexity, token_nll_sum
from ..models import create_model
from .base import TASKS, Option, Recipe, apply_preset

#: nanoGPT's shakespeare_char settings (lr, β₂, clipping, warmup then cosine to lr/10), CPU-sized
LM_PRESET: dict[str, Any] = {
    "optim.name": "adamw", "optim.lr": 1e-3, "optim.betas": (0.9, 0.99), "optim.weight_decay": 0.1,
    "sched.name": "cosine", "sched.warmup_epochs": 1.0, "sched.min_lr": 1e-4, "train.grad_clip": 1.0,
    "train.batch_size": 32, "train.epochs": 5,
}
#: the most logits (batch × block × vocabulary) one evaluation batch may hold: 2²⁵ floats, 128 MiB
EVAL_LOGITS = 1 << 25


class LanguageModelRecipe(Recipe):
    """Next-token prediction with a ``gpt_*`` model; perplexity, bits per byte and the n-gram baseline."""

    options: ClassVar[dict[str, Option]] = {
        "ngram": Option(3, "order of the Kneser-Ney n-gram baseline scored after training (0: none)"),
    }

    def __init__(self, config: RunConfig, data: DataBundle):
        super().__init__(config, data)
        meta = data.meta
        if "tokenizer" not in meta.extra:
            raise ConfigError(f"task lm trains on text (text:FILE_OR_DIR, csv:FILE?text=COLUMN, python-docs); "
                              f"{meta.name} holds {meta.task} data")
        if self.args["ngram"] < 0:
            raise ConfigError(f"task lm: task_args.ngram={self.args['ngram']} must be 0 (none) or an order ≥ 1")
        self.tokenizer = load_tokenizer(meta)
        self.block_size = int(meta.extra["block_size"])
        self.log_lines.append(apply_preset(config, LM_PRESET, "nanoGPT's shakespeare_char, CPU-sized",
                                           kind="language-model default"))
        self.model = self.build_model(config, meta)
        context = self.model.block_size
        if context < self.block_size:
            raise ConfigError(f"{meta.name}: blocks of {self.block_size} tokens exceed {config.model.name}'s context "
                              f"of {context}; set data.options.block_size to {context} or less")
        tokens = meta.extra["tokens"]
        self.log_lines.append(f"task: lm, next-token cross-entropy; tokenizer: {meta.extra['tokenizer_name']}; "
                              f"blocks of {self.block_size}; tokens train/valid/test "
                              f"{tokens['train']:,}/{tokens['valid']:,}/{tokens['test']:,}")

    def build_model(self, config: RunConfig, meta) -> torch.nn.Module:
        """The model with the tokenizer's vocabulary and a context of the data's block size (unless
        ``model.block_size`` is set), or GPT-2's (``--weights hf:gpt2``), whose file fixes its sizes (written
        into ``model.args``) and whose tokenizer the data must have been read with; a local weights file
        loads completely."""
        from ..models.gpt_weights import TOKENIZER, hub_files, is_hub_weights

        weights = config.model.weights
        if is_hub_weights(weights):
            model = create_model(config.model.name, weights=weights, **config.model.args)
            if model.vocab_size != meta.num_classes:
                raise ConfigError(f"{weights} reads GPT-2's {model.vocab_size} token ids, and {meta.name} was read "
                                  f"with {meta.extra['tokenizer_name']}: add --set data.options.tokenizer="
                                  f"{hub_files(weights, (TOKENIZER,))[TOKENIZER]}")
            # the file's sizes go into the config, so that the run's model is rebuilt from config.yaml
            sizes = {key: getattr(model, key) for key in ("block_size", "n_layer", "n_head", "n_embd")}
            config.model.args.update({k: v for k, v in sizes.items() if k not in config.model.args})
            self.log_lines.append(f"weights: {weights} (GPT-2's tokenizer reads the data)")
            return model
        model = create_model(config.model.name, **{"vocab_size": meta.num_classes, "block_size": self.block_size,
                                                   **config.model.args})
        if weights:
            from ..models._weights import load_weights

            self.log_lines.append(load_weights(model, weights).describe(weights))
        return model

    # -- data ---------------------------------------------------------------------------------------
    def loader(self, split: str, batch_size: int, *, shuffle: bool = False, seed: int = 0,
               rank: int = 0, world_size: int = 1):
        """Batches of blocks; evaluation batches are capped so their logits stay within
        :data:`EVAL_LOGITS` (GPT-2's 50,257-way logits over 1024 positions are 200 MB a block)."""
        if not shuffle:
            batch_size = min(batch_size, max(1, EVAL_LOGITS // (self.block_size * self.data.meta.num_classes)))
        return super().loader(split, batch_size, shuffle=shuffle, seed=seed, rank=rank, world_size=world_size)

    # -- steps --------------------------------------------------------------------------------------
    def training_step(self, batch, phase: str) -> dict[str, torch.Tensor]:
        x, y = batch
        logits = self.net(x)
        return {"loss": F.cross_entropy(logits.flatten(0, 1), y.flatten(), ignore_index=IGNORE)}

    @torch.no_grad()
    def evaluate(self, loader, split: str) -> dict[str, float]:
        """``loss`` (mean NLL per token), ``perplexity`` and ``bpb`` over the whole split."""
        nll = count = 0
        for batch in loader:
            x, y = self.transfer(batch)
            batch_nll, batch_count = token_nll_sum(self.net(x), y)
            nll, count = nll + batch_nll, count + batch_count
        if not torch.is_tensor(count) or not int(count):
            return {}
        total, tokens = float(nll), int(count)
        return {"loss": total / tokens, "perplexity": perplexity(total, tokens),
                "bpb": bits_per_byte(total, self.data.meta.extra["bytes"][split])}

    def predict(self, x: torch.Tensor) -> dict[str, Any]:
        raise ConfigError("a language model continues text: use `deepzoo sample RUN --prompt \"...\"`")

    # -- epoch and training ends --------------------------------------------------------------------
    def on_epoch_end(self, epoch: int, run_dir: Path | None) -> None:
        """Save the tokenizer with the run (once)."""
        if run_dir is not None and not (run_dir / "tokenizer.json").is_file():
            write_text_atomic(run_dir / "tokenizer.json", self.tokenizer.to_json())

    def on_train_end(self, run_dir: Path | None) -> dict[str, float]:
        """The n-gram baseline on the valid and test tokens (see the module docstring)."""
        self.on_epoch_end(0, run_dir)
        order = self.args["ngram"]
        if not order:
            return {}
        from ..text.ngram import KneserNeyLM

        meta = self.data.meta
        ngram = KneserNeyLM(order, meta.num_classes, pad_id=self.tokenizer.eot_id).fit(unpack_blocks(self.data.train))
        metrics = {}
        for split in ("valid", "test"):
            stream = unpack_blocks(self.data.splits()[split])
            if len(stream) < 2:
                continue
            total, tokens = ngram.total_nll(stream)
            metrics[f"{split}/ngram_perplexity"] = perplexity(total, tokens)
            metrics[f"{split}/ngram_bpb"] = bits_per_byte(total, meta.extra["bytes"][split])
        return metrics


TASKS.register("lm", recipe="language_model")(LanguageModelRecipe)
