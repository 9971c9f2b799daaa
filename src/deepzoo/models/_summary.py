"""A layer table for any model: name, type, output shape and parameters of every layer.

Forward hooks record each layer's output while a sample input runs through the model in eval mode; on a
model built on the ``meta`` device this costs no memory and no arithmetic. A "layer" is a module with no
children, or any module that owns parameters directly (ViT's class token, for example), so the
parameter column adds up to the model's total. Layers the forward pass does not reach (GoogLeNet's
auxiliary classifiers in eval mode) are listed last with "-" as their output shape.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn


@dataclass
class LayerRow:
    """One row of the table. ``params`` counts the layer's own parameters (not its children's)."""

    name: str
    type: str
    output_shape: str
    params: int


def _shape(output: object) -> str:
    """``[1, 64, 112, 112]`` for a tensor; tuples and lists of tensors joined with commas."""
    if isinstance(output, torch.Tensor):
        return str(list(output.shape))
    if isinstance(output, (tuple, list)):
        return ", ".join(_shape(o) for o in output)
    return type(output).__name__


def _own_params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters(recurse=False))


def layer_table(model: nn.Module, input_shape: Sequence[int]) -> list[LayerRow]:
    """Rows in execution order for one eval-mode forward pass on a batch of 1 of shape ``input_shape``,
    made on the model's device (``meta`` for a free pass). A layer called twice is listed twice, its
    parameters counted once."""
    named = [(name or type(model).__name__, module) for name, module in model.named_modules()
             if next(module.children(), None) is None or _own_params(module)]
    rows: list[LayerRow] = []
    seen: set[int] = set()

    def record(name: str, module: nn.Module):
        def hook(_module: nn.Module, _inputs: object, output: object) -> None:
            own = 0 if id(module) in seen else _own_params(module)
            seen.add(id(module))
            rows.append(LayerRow(name, type(module).__name__, _shape(output), own))
        return hook

    handles = [module.register_forward_hook(record(name, module)) for name, module in named]
    first = next(model.parameters(), None)
    device = first.device if first is not None else torch.device("cpu")
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            model(torch.zeros((1, *input_shape), device=device))
    finally:
        model.train(was_training)
        for handle in handles:
            handle.remove()
    rows += [LayerRow(name, type(module).__name__, "-", _own_params(module))
             for name, module in named if id(module) not in seen]
    return rows


def format_table(rows: Sequence[LayerRow]) -> str:
    """The rows as aligned text columns with thousands separators in the parameter column."""
    header = LayerRow("layer", "type", "output shape", 0)
    widths = [max(len(getattr(r, f)) for r in (header, *rows)) for f in ("name", "type", "output_shape")]
    lines = [f"{header.name:<{widths[0]}}  {header.type:<{widths[1]}}  {header.output_shape:<{widths[2]}}  "
             f"{'params':>13}"]
    lines += [f"{r.name:<{widths[0]}}  {r.type:<{widths[1]}}  {r.output_shape:<{widths[2]}}  {r.params:>13,}"
              for r in rows]
    return "\n".join(lines)
