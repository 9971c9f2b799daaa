"""Evaluating a learned representation: linear probe, k-nearest neighbours and fine-tuning.

The encoder under test stays untouched: features are extracted once with the encoder in eval mode,
gradients off (:func:`frozen`), so batch-norm statistics are fixed and no tensor or buffer of the
encoder changes — the two evaluation bugs users of public SSL code hit are a "linear" probe whose
backbone is still trained (3–4 points too high) and batch norm updating during kNN. Fine-tuning works
on a copy.

- **Linear probe** (SimCLR §4, "linear evaluation protocol"): multinomial logistic regression on the
  frozen features (standardised with the training split's statistics — an affine map, so still a
  linear classifier), full-batch Adam from zero weights, L2 penalty and training length selected on the
  validation split, accuracy reported on the test split.
- **kNN** (Wu, Xiong, Yu & Lin 2018, §3.4): cosine similarity to every training feature, the k most
  similar vote with weights exp(s/t) (k = 200, t = 0.1), no gradient and no statistic updates.
- **Fine-tuning** (SimCLR §4, Table 7 uses 1% and 10% of the ImageNet labels): encoder + a linear head
  trained together with Adam on a class-stratified fraction of the training labels; the epoch with the
  best validation accuracy is reported on the test split.
"""

from __future__ import annotations

import contextlib
import copy
import math
from collections.abc import Callable, Iterator

import torch
import torch.nn.functional as F
from torch import Tensor, nn

#: L2 penalties tried by the linear probe (the best on the validation split is kept)
PROBE_WEIGHT_DECAYS = (0.0, 1e-4, 1e-3, 1e-2)


@contextlib.contextmanager
def frozen(module: nn.Module) -> Iterator[nn.Module]:
    """Eval mode and no gradients for ``module`` inside the block; every submodule's training flag and
    every parameter's ``requires_grad`` are restored afterwards."""
    modes = [(m, m.training) for m in module.modules()]
    flags = [(p, p.requires_grad) for p in module.parameters()]
    module.eval()
    for p, _ in flags:
        p.requires_grad_(False)
    try:
        with torch.no_grad():
            yield module
    finally:
        for m, mode in modes:
            m.training = mode
        for p, flag in flags:
            p.requires_grad_(flag)


def extract_features(features: Callable[[Tensor], Tensor], module: nn.Module, x: Tensor,
                     batch_size: int = 1024) -> Tensor:
    """``features(x)`` in chunks, with ``module`` (which ``features`` uses) frozen; float32 (N, D)."""
    with frozen(module):
        return torch.cat([features(chunk).float() for chunk in x.split(batch_size)]) if len(x) else x.new_zeros(0, 0)


def _accuracy(logits: Tensor, y: Tensor) -> float:
    return float((logits.argmax(1) == y).float().mean()) if len(y) else float("nan")


def linear_probe(train: tuple[Tensor, Tensor], valid: tuple[Tensor, Tensor] | None,
                 test: tuple[Tensor, Tensor] | None, num_classes: int, steps: int = 500, lr: float = 0.01,
                 weight_decays: tuple[float, ...] = PROBE_WEIGHT_DECAYS, eval_every: int = 10) -> dict[str, float]:
    """Accuracy of a logistic-regression probe on (features, labels) pairs: ``{"train", "valid",
    "test"}`` accuracies (the splits given) and the selected ``weight_decay``. Selection uses the
    validation split, or the training split when there is none. Deterministic (zero start, full batch).

    One probe per weight decay, all trained at once as a stack of weight matrices (G, D, K): the
    objectives are independent (their sum's gradient w.r.t. each probe is that probe's own), and Adam
    is per-element, so this equals G separate runs in a G-th of the kernel launches.
    """
    features, labels = train
    mean, std = features.mean(0), features.std(0).clamp_min(1e-6)
    splits: dict[str, tuple[Tensor, Tensor]] = {}
    for name, pair in (("train", train), ("valid", valid), ("test", test)):
        if pair is not None and len(pair[1]):
            splits[name] = ((pair[0] - mean) / std, pair[1])
    select = "valid" if "valid" in splits else "train"
    x_train, y_train = splits["train"]
    device, groups = x_train.device, len(weight_decays)
    decay = torch.tensor(weight_decays, device=device).view(groups, 1, 1)
    weight = torch.zeros(groups, x_train.shape[1], num_classes, device=device, requires_grad=True)
    bias = torch.zeros(groups, 1, num_classes, device=device, requires_grad=True)
    best_score, best = -1.0, (0, weight.detach().clone(), bias.detach().clone())

    def scores(x: Tensor, y: Tensor) -> Tensor:  # accuracy of every probe (G,)
        return ((x @ weight + bias).argmax(-1) == y).float().mean(-1)

    with torch.enable_grad(), torch.autocast(device.type, enabled=False):
        optimizer = torch.optim.Adam([weight, bias], lr=lr)
        targets = y_train.repeat(groups)
        for step in range(1, steps + 1):
            logits = (x_train @ weight + bias).reshape(-1, num_classes)
            loss = groups * F.cross_entropy(logits, targets) + 0.5 * (decay * weight.pow(2)).sum()
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            if step % eval_every == 0 or step == steps:
                with torch.no_grad():
                    accuracy = scores(*splits[select])
                    g = int(accuracy.argmax())
                    if float(accuracy[g]) > best_score:
                        best_score, best = float(accuracy[g]), (g, weight[g].clone(), bias[g].clone())
    g, w, b = best
    result = {name: _accuracy(x @ w + b, y) for name, (x, y) in splits.items()}
    result["weight_decay"] = float(weight_decays[g])
    return result


@torch.no_grad()
def knn_predict(bank: Tensor, bank_labels: Tensor, queries: Tensor, num_classes: int, k: int = 200,
                temperature: float = 0.1, chunk: int = 1024) -> Tensor:
    """Labels of ``queries`` by a weighted vote of their ``k`` most cosine-similar ``bank`` features
    (weight exp(similarity / temperature)); ``k`` is capped at the bank size."""
    bank = F.normalize(bank.float(), dim=1)
    k = min(k, len(bank))
    predictions = []
    for q in queries.split(chunk):
        similarity, index = (F.normalize(q.float(), dim=1) @ bank.T).topk(k, dim=1)
        votes = torch.zeros(len(q), num_classes, device=q.device)
        votes.scatter_add_(1, bank_labels[index], (similarity / temperature).exp())
        predictions.append(votes.argmax(1))
    return torch.cat(predictions) if predictions else bank_labels.new_zeros(0)


def knn_accuracy(bank: tuple[Tensor, Tensor], query: tuple[Tensor, Tensor], num_classes: int, k: int = 200,
                 temperature: float = 0.1) -> float:
    """Accuracy of :func:`knn_predict` on labelled queries."""
    predicted = knn_predict(bank[0], bank[1], query[0], num_classes, k, temperature)
    return float((predicted == query[1]).float().mean()) if len(query[1]) else float("nan")


def stratified_subset(labels: Tensor, fraction: float, generator: torch.Generator) -> Tensor:
    """Indices of ``fraction`` of the items of every class (at least one per class), chosen at random."""
    chosen = []
    cpu_labels = labels.cpu()
    for c in torch.unique(cpu_labels):
        members = (cpu_labels == c).nonzero()[:, 0]
        take = max(1, round(fraction * len(members)))
        chosen.append(members[torch.randperm(len(members), generator=generator)[:take]])
    return torch.cat(chosen).sort().values.to(labels.device)


class _LinearHead(nn.Module):
    """A representation (``features(x)`` of ``body``) followed by a linear classifier."""

    def __init__(self, body: nn.Module, num_features: int, num_classes: int):
        super().__init__()
        self.body = body
        self.head = nn.Linear(num_features, num_classes, device=next(body.parameters()).device)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.body.features(x))


def fine_tune(body: nn.Module, num_features: int, train: tuple[Tensor, Tensor], valid: tuple[Tensor, Tensor] | None,
              test: tuple[Tensor, Tensor] | None, num_classes: int, fraction: float = 1.0, epochs: int = 20,
              lr: float = 1e-3, batch_size: int = 64, seed: int = 0) -> dict[str, float]:
    """Train a *copy* of ``body`` (a module with ``features(x)``) with a new linear head on a stratified
    ``fraction`` of the labelled training split; returns the valid and test accuracies of the epoch
    with the best validation accuracy (the last epoch when there is no validation split).

    An "epoch" is as many updates as one pass over *all* the training labels, whatever the fraction:
    every fraction gets the same number of updates (cycling through a small subset many times), as
    SimCLR fine-tunes its 1% and 10% subsets for longer (Appendix B.5) instead of for fewer steps.
    """
    generator = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = _LinearHead(copy.deepcopy(body), num_features, num_classes)
    x, y = train
    steps_per_epoch = math.ceil(len(y) / batch_size)
    subset = stratified_subset(y, fraction, generator)
    x, y = x[subset], y[subset]
    batches = _batches(len(y), batch_size, generator, x.device)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    has_valid = valid is not None and len(valid[1]) > 0
    best_score, best_state = -1.0, None
    with torch.enable_grad():
        for _ in range(epochs):
            model.train()
            for _ in range(steps_per_epoch):
                index = next(batches)
                loss = F.cross_entropy(model(x[index]), y[index])
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
            if has_valid:
                score = _evaluate(model, valid)
                if score > best_score:
                    best_score, best_state = score, copy.deepcopy(model.state_dict())
    if best_state is not None:
        model.load_state_dict(best_state)
    result = {"valid": _evaluate(model, valid)} if has_valid else {}
    if test is not None and len(test[1]):
        result["test"] = _evaluate(model, test)
    return result


def _batches(count: int, batch_size: int, generator: torch.Generator, device) -> Iterator[Tensor]:
    """Endless index batches: reshuffled passes over ``count`` items, a lone last item skipped (batch
    norm needs two)."""
    while True:
        for index in torch.randperm(count, generator=generator).to(device).split(batch_size):
            if len(index) > 1 or count == 1:
                yield index


@torch.no_grad()
def _evaluate(model: nn.Module, split: tuple[Tensor, Tensor], batch_size: int = 1024) -> float:
    model.eval()
    x, y = split
    logits = torch.cat([model(chunk).float() for chunk in x.split(batch_size)])
    return _accuracy(logits, y)
