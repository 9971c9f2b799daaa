"""Language-model throughput: training tokens per second of the same GPT through deepzoo and through a plain
loop written as nanoGPT's train.py trains, and sampling tokens per second with and without the key/value
cache — in one run, the contenders alternating.

**Training.** Both contenders train ``gpt_nano`` (4 layers, 4 heads, width 128, block 128; built by
``create_model`` from the same seed) on the same character tokens of the first ``--documents`` topics of
``python-docs`` (written as .txt files and read as ``text:DIR``, all of them training documents), at batch
32 blocks with the ``lm`` task's settings (AdamW lr 1e-3, β 0.9/0.99, weight decay 0.1 on matrices only,
warmup then cosine decay, gradient clipping at 1.0). deepzoo runs ``deepzoo train --model gpt_nano --data
text:DIR --task lm`` (the blocks on the device; no validation split, no n-gram baseline). The plain loop is
nanoGPT's train.py: ``get_batch`` draws ``batch`` random offsets into the one token array and stacks x and
y (pinned and copied non-blocking on a GPU), the next batch is fetched while the device works, the
learning rate is set from ``get_lr(it)`` (linear warmup, cosine to lr/10) each step, the loss is read with
``.item()`` only at the log interval. Rate = batch × block input tokens per step / wall time, deepzoo's
from the per-epoch times in ``metrics.csv`` after the first epoch, the plain loop's over the same number
of steps after as many warm-up steps.

**Sampling.** :func:`deepzoo.text.sampling.generate` from a 32-token prompt, 256 new tokens at temperature
1, batch 1, with the cache and without (the whole context every step, the head on the last position only
as nanoGPT's ``generate`` does), on randomly initialised ``gpt_nano`` and ``gpt_micro`` with a 96-token
vocabulary and a 288-token block (prompt + new tokens: the window never slides). Both produce the same tokens (tested).

On CUDA both training contenders run in bf16 autocast (deepzoo's default there), and ``--compile``
compiles both (deepzoo's ``--compile``, ``torch.compile`` in the plain loop).

Run: ``python benchmarks/language_models.py [--device cpu|cuda] [--rounds 3] [--epochs 3] [--documents 12]
[--threads 1] [--compile] [--skip-training] [--skip-sampling]``.
"""

from __future__ import annotations

import argparse
import csv
import math
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from deepzoo import api
from deepzoo.data import load_dataset
from deepzoo.data.text import python_docs_documents, unpack_blocks
from deepzoo.models import create_model
from deepzoo.text.sampling import generate

MODEL, BLOCK, BATCH = "gpt_nano", 128, 32
OPTIONS = f"?tokenizer=char&block_size={BLOCK}&valid_fraction=0&test_fraction=0"
LR, MIN_LR, BETAS, WEIGHT_DECAY, CLIP, LOG_INTERVAL = 1e-3, 1e-4, (0.9, 0.99), 0.1, 1.0, 10
QUIET = ["train.checkpoint=false", "train.plots=false", "train.tensorboard=false", "train.progress=false",
         "train.log_every=1000000", "early_stop.enabled=false", "task_args.ngram=0"]
PROMPT, NEW_TOKENS, SAMPLE_VOCAB = 32, 256, 96


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def alternating(rounds: int, *measures) -> list[list[float]]:
    """Each contender's rate once per round, the order reversed every other round."""
    results: list[list[float]] = [[] for _ in measures]
    order = list(enumerate(measures))
    for r in range(rounds):
        for i, measure in order if r % 2 == 0 else order[::-1]:
            results[i].append(measure())
            print(f"  round {r + 1}, contender {i + 1}: {results[i][-1]:,.0f} tokens/s", flush=True)
    return results


# -- training -------------------------------------------------------------------------------------------------

def deepzoo_rate(spec: str, args) -> float:
    """``deepzoo train --model gpt_nano --data text:DIR --task lm``: tokens/s from ``metrics.csv``'s epoch
    times after the first."""
    overrides = QUIET + [f"train.device={args.device}", f"train.batch_size={BATCH}"]
    with tempfile.TemporaryDirectory() as tmp:
        run = api.train(model=MODEL, data=spec, task="lm", epochs=args.epochs, runs_dir=tmp, overrides=overrides,
                        compile=args.compile or None, echo=lambda *a, **k: None)
        rows = list(csv.DictReader((run.dir / "metrics.csv").open()))
        tokens = len(run.recipe.data.train) * BLOCK
    return tokens * (args.epochs - 1) / sum(float(r["seconds"]) for r in rows[1:])


def plain_rate(data: torch.Tensor, vocab: int, steps: int, args) -> float:
    """nanoGPT's train.py loop over ``data`` (one token array); tokens/s over ``steps`` steps after as many
    warm-up steps."""
    device, gpu = args.device, args.device.startswith("cuda")
    torch.manual_seed(0)
    model = create_model(MODEL, vocab_size=vocab, block_size=BLOCK).to(device)
    params = [p for p in model.parameters() if p.requires_grad]
    groups = [{"params": [p for p in params if p.dim() >= 2], "weight_decay": WEIGHT_DECAY},
              {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0}]
    optimizer = torch.optim.AdamW(groups, lr=LR, betas=BETAS, fused=gpu or None)
    net = torch.compile(model) if args.compile else model
    autocast = torch.autocast(device.split(":")[0], dtype=torch.bfloat16, enabled=gpu)
    total, warmup = 2 * steps, steps // 2

    def get_lr(it: int) -> float:
        if it < warmup:
            return LR * (it + 1) / (warmup + 1)
        ratio = (it - warmup) / max(1, total - warmup)
        return MIN_LR + 0.5 * (1.0 + math.cos(math.pi * ratio)) * (LR - MIN_LR)

    def get_batch() -> tuple[torch.Tensor, torch.Tensor]:
        ix = torch.randint(len(data) - BLOCK, (BATCH,))
        x = torch.stack([data[i:i + BLOCK] for i in ix])
        y = torch.stack([data[i + 1:i + 1 + BLOCK] for i in ix])
        if gpu:
            return x.pin_memory().to(device, non_blocking=True), y.pin_memory().to(device, non_blocking=True)
        return x, y

    x, y = get_batch()
    start = 0.0
    for it in range(total):
        if it == steps:
            _sync(device)
            start = time.perf_counter()
        for group in optimizer.param_groups:
            group["lr"] = get_lr(it)
        with autocast:
            logits = net(x)
            loss = F.cross_entropy(logits.view(-1, logits.size(-1)).float(), y.view(-1))
        x, y = get_batch()  # prefetch while the device works, as nanoGPT does
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), CLIP)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        if it % LOG_INTERVAL == 0:
            loss.item()
    _sync(device)
    return steps * BATCH * BLOCK / (time.perf_counter() - start)


def training_row(args) -> tuple[str, list[float], list[float]]:
    with tempfile.TemporaryDirectory() as folder:
        for i, document in enumerate(python_docs_documents()[:args.documents]):
            (Path(folder) / f"{i:03d}.txt").write_text(document.text, encoding="utf-8")
        spec = f"text:{folder}{OPTIONS}"
        data = load_dataset(spec)
        stream = torch.tensor(unpack_blocks(data.train), dtype=torch.long)
        steps = math.ceil(len(data.train) / BATCH) * (args.epochs - 1)  # the steps deepzoo's timed epochs take
        zoo, plain = alternating(args.rounds, lambda: deepzoo_rate(spec, args),
                                 lambda: plain_rate(stream, data.meta.num_classes, steps, args))
    what = (f"{MODEL} training, {args.documents} python-docs topics as characters ({data.meta.num_classes} ids, "
            f"{len(stream):,} tokens), batch {BATCH} × block {BLOCK}")
    return what, zoo, plain


# -- sampling -------------------------------------------------------------------------------------------------

def sampling_rate(model: torch.nn.Module, prompt: torch.Tensor, use_cache: bool, device: str) -> float:
    """New tokens per second of one :func:`generate` call."""
    generator = torch.Generator(device=device).manual_seed(0)
    _sync(device)
    start = time.perf_counter()
    generate(model, prompt, NEW_TOKENS, temperature=1.0, generator=generator, use_cache=use_cache)
    _sync(device)
    return NEW_TOKENS / (time.perf_counter() - start)


def sampling_row(name: str, args) -> tuple[str, list[float], list[float]]:
    torch.manual_seed(0)
    model = create_model(name, vocab_size=SAMPLE_VOCAB, block_size=PROMPT + NEW_TOKENS).to(args.device).eval()
    prompt = torch.randint(0, SAMPLE_VOCAB, (1, PROMPT), device=args.device)
    sampling_rate(model, prompt, True, args.device)  # warm-up
    cached, uncached = alternating(args.rounds, lambda: sampling_rate(model, prompt, True, args.device),
                                   lambda: sampling_rate(model, prompt, False, args.device))
    return f"{name} sampling, {PROMPT}-token prompt + {NEW_TOKENS} new tokens, batch 1", cached, uncached


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--epochs", type=int, default=3, help="deepzoo epochs per measurement, the first a warm-up")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--documents", type=int, default=12, help="python-docs topics to train on (default 12)")
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's)")
    parser.add_argument("--compile", action="store_true", help="torch.compile both training contenders")
    parser.add_argument("--skip-training", action="store_true")
    parser.add_argument("--skip-sampling", action="store_true")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    gpu = args.device.startswith("cuda")
    name = torch.cuda.get_device_name() if gpu else f"{platform.processor() or platform.machine()} CPU"
    print(f"language_models: {name}, torch {torch.__version__}, {torch.get_num_threads()} thread(s), "
          f"load {os.getloadavg()[0]:.1f}", flush=True)
    rows = []
    if not args.skip_training:
        what, zoo, plain = training_row(args)
        rows.append((what, "deepzoo", "nanoGPT loop", zoo, plain))
    if not args.skip_sampling:
        for model in ("gpt_nano", "gpt_micro"):
            what, cached, uncached = sampling_row(model, args)
            rows.append((what, "KV cache", "no cache", cached, uncached))
    print("| measurement | contender | tokens/s | baseline | tokens/s | ratio | rounds |")
    print("|---|---|---:|---|---:|---:|---|")
    for what, a_name, b_name, a, b in rows:
        ma, mb = statistics.median(a), statistics.median(b)
        rounds = f"{', '.join(f'{v:,.0f}' for v in a)} vs {', '.join(f'{v:,.0f}' for v in b)}"
        print(f"| {what} | {a_name} | {ma:,.0f} | {b_name} | {mb:,.0f} | {ma / mb:.2f}× | {rounds} |", flush=True)
    print(f"load after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
