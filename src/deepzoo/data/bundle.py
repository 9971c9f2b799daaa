"""The data contract: ``load_dataset(spec) -> DataBundle``.

A bundle holds three splits and the metadata every later layer needs (task kind, input shape, number
of classes or targets, class names, normalisation). Splits of in-memory data are :class:`TensorSplit`;
graph datasets use :class:`GraphSplit` (one graph, a node mask per split); anything else may be a plain
``torch.utils.data.Dataset`` that goes through the DataLoader path.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import torch


@dataclass
class DatasetMeta:
    """What a model and a recipe need to know about a dataset.

    ``task`` is the kind inferred from the targets (``binary``, ``multiclass``, ``multilabel``,
    ``regression``, ``node`` ...), ``task_reason`` says why. ``mean``/``std`` are the normalisation
    statistics computed on the training split and already applied to every split; ``predict`` applies
    them to new inputs. ``target_mean``/``target_std`` do the same for regression targets.
    """

    name: str
    task: str
    input_shape: tuple[int, ...]
    num_classes: int = 0
    num_targets: int = 0
    class_names: list[str] = field(default_factory=list)
    task_reason: str = ""
    mean: list[float] | None = None
    std: list[float] | None = None
    target_mean: list[float] | None = None
    target_std: list[float] | None = None
    value_range: tuple[float, float] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def num_outputs(self) -> int:
        """Outputs a supervised head needs: 1 for binary, classes for (multi)class, targets otherwise."""
        if self.task == "binary":
            return 1
        return self.num_classes or self.num_targets

    @property
    def is_image(self) -> bool:
        """True for (C, H, W) inputs."""
        return len(self.input_shape) == 3

    def to_dict(self) -> dict[str, Any]:
        """A YAML/JSON-friendly copy."""
        d = asdict(self)
        d["input_shape"] = list(self.input_shape)
        return d


@dataclass
class TensorSplit:
    """One split held in memory: inputs ``x`` (N, ...) and targets ``y`` (N, ...) or None. ``rows``, when
    known, numbers each item in its source (the data row of the file, or of its own test file), so that
    error analysis can point at the rows a model gets most wrong."""

    x: torch.Tensor
    y: torch.Tensor | None = None
    rows: torch.Tensor | None = None

    def __len__(self) -> int:
        return len(self.x)

    def tensors(self) -> tuple[torch.Tensor, ...]:
        """The tensors a batch is cut from, in order."""
        return (self.x,) if self.y is None else (self.x, self.y)

    def subset(self, index: torch.Tensor) -> TensorSplit:
        """The rows at ``index``."""
        return TensorSplit(self.x[index], None if self.y is None else self.y[index],
                           None if self.rows is None else self.rows[index])


@dataclass
class GraphSplit:
    """A split of a node- or edge-level graph task: the whole graph and the mask of this split's nodes."""

    graph: Any
    mask: torch.Tensor

    def __len__(self) -> int:
        return int(self.mask.sum())


@dataclass
class DataBundle:
    """Train, valid and test splits with their metadata."""

    train: Any
    valid: Any
    test: Any
    meta: DatasetMeta

    def splits(self) -> dict[str, Any]:
        """``{"train": ..., "valid": ..., "test": ...}``."""
        return {"train": self.train, "valid": self.valid, "test": self.test}
