"""Parameter and multiply-add counting for the zoo.

Multiply-adds (MACs) are what the papers call "FLOPs" (He et al. 2016 Table 1, Howard et al. 2017
"Mult-Adds") and what torchvision's "GFLOPS" metadata and timm's ``gmacs`` report: one multiply-add of
a convolution, linear layer or matrix product at batch 1. :class:`torch.utils.flop_counter.FlopCounterMode`
counts 2 FLOPs per multiply-add, so ``MACs = FLOPs / 2``. Batch norm, activations, pooling and additions
are not counted, as in the papers.

Counting runs on the ``meta`` device: no memory is allocated and no arithmetic is done, so even ViT-H/14
counts in a fraction of a second. It is also the only device where the counter sees the attention
products of :func:`torch.nn.functional.scaled_dot_product_attention` (the fused CPU kernel reports none).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Sequence
from typing import Any

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from . import accepted_kwargs, create_model, list_models, model_entry
from ._catalogue import RECORDED


def count_parameters(model: nn.Module, trainable_only: bool = False) -> int:
    """Number of parameter elements (shared parameters once), optionally only those with gradients."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


def _on_meta(model: nn.Module) -> nn.Module:
    """``model`` itself if it already lives on the meta device, else a meta copy of it."""
    first = next(model.parameters(), None)
    if first is not None and first.device.type == "meta":
        return model
    return copy.deepcopy(model).to("meta")


def count_flops_by_module(model: nn.Module, input_shape: Sequence[int]) -> dict[str, int]:
    """FLOPs of one eval-mode forward pass at batch 1, by module path (``"ResNet.layer1"`` …, and
    ``"Global"`` for the total), as reported by :class:`FlopCounterMode`."""
    model = _on_meta(model)
    was_training = model.training
    model.eval()
    counter = FlopCounterMode(display=False)
    try:
        with torch.no_grad(), counter:
            model(torch.zeros((1, *input_shape), device="meta"))
    finally:
        model.train(was_training)
    return {name: sum(ops.values()) for name, ops in counter.get_flop_counts().items()}


def count_macs(model: nn.Module, input_shape: Sequence[int]) -> int:
    """Multiply-adds of one eval-mode forward pass on one input of shape ``input_shape`` (C, H, W).

    MACs = FLOPs / 2 as counted by :class:`FlopCounterMode` (conv, linear, matmul and attention only).
    """
    return count_flops_by_module(model, input_shape).get("Global", 0) // 2


def build_on_meta(name: str, input_shape: Sequence[int] | None = None, **kwargs: Any) -> nn.Module:
    """The registered model ``name`` built on the meta device (nothing allocated).

    ``input_shape`` defaults to the model's ``input_size`` metadata; the channels and spatial size are
    handed to the constructor when it accepts them (``in_chans``, ``input_size``, ``input_shape``), so the
    model is built for the input it will be counted on. Explicit ``kwargs`` win.
    """
    shape = tuple(input_shape or model_entry(name).meta.get("input_size") or ())
    data = {"in_chans": shape[0], "input_size": shape[-1], "input_shape": shape} if shape else {}
    with torch.device("meta"):
        return create_model(name, **{**accepted_kwargs(name, data), **kwargs})


def model_complexity(name: str, input_shape: Sequence[int] | None = None,
                     **kwargs: Any) -> tuple[int, int | None]:
    """(parameters, multiply-adds) of the registered model ``name`` at ``input_shape`` (default: its
    ``input_size`` metadata; ``None`` multiply-adds when it has none), counted on the meta device."""
    shape = tuple(input_shape or model_entry(name).meta.get("input_size") or ())
    model = build_on_meta(name, shape or None, **kwargs)
    return count_parameters(model), (count_macs(model, shape) if shape else None)


def count_every_model() -> dict[str, tuple[int | None, int | None]]:
    """Live counts of every registered model; (None, None) for one that cannot be built with its
    defaults on the meta device (a graph model that needs its data, say)."""
    counts = {}
    for name in list_models():
        try:
            counts[name] = model_complexity(name)
        except Exception:  # noqa: BLE001 - any model of any family; "-" is the honest answer
            counts[name] = (None, None)
    return counts


def live_catalogue() -> dict[str, dict[str, Any]]:
    """The catalogue built from the registry and live counts (what :data:`RECORDED` must hold)."""
    rows = {}
    for name, (params, macs) in count_every_model().items():
        meta = model_entry(name).meta
        shape = meta.get("input_size")
        rows[name] = {"params": params, "macs": macs, "family": meta.get("family", ""),
                      "task": meta.get("task", ""), "paper": meta.get("paper", ""),
                      "input_size": list(shape) if shape else None}
    return rows


def main() -> None:
    """Write :data:`RECORDED` from the registry and live counts."""
    rows = live_catalogue()
    RECORDED.write_text(json.dumps(rows, indent=1, sort_keys=True, ensure_ascii=False) + "\n")
    print(f"{RECORDED}: {len(rows)} models")


if __name__ == "__main__":
    main()
