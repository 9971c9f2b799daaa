"""Plots of a self-supervised run: what the pretext task shows the network, and how the
representation compares with its baselines."""

from __future__ import annotations

from pathlib import Path

import torch

from .common import plt, save_figure


def _draw(ax, item: torch.Tensor) -> None:
    """One input on an axis: an image (C, H, W) in [0, 1] (other ranges are stretched), or a signal (C, L)."""
    item = item.detach().float().cpu()
    if item.dim() == 2:
        for channel in item:
            ax.plot(channel.numpy(), linewidth=1)
        ax.set_xticks([])
        ax.set_yticks([])
        return
    low, high = item.min(), item.max()
    if low < 0 or high > 1:  # standardised data: stretch to [0, 1]; data in [0, 1] are shown as they are
        item = (item - low) / (high - low).clamp_min(1e-8)
    if item.shape[0] == 1:
        ax.imshow(item[0].numpy(), cmap="gray", vmin=0, vmax=1)
    else:
        ax.imshow(item[:3].permute(1, 2, 0).numpy())
    ax.axis("off")


def examples_plot(rows: list[tuple[str, torch.Tensor]], path: Path) -> Path:
    """One row per (title, batch): the inputs the pretext task builds (views, rotations, tiles, patches)."""
    columns = max(len(batch) for _, batch in rows)
    fig, axes = plt.subplots(len(rows), columns, figsize=(1.3 * columns + 1.5, 1.3 * len(rows)), squeeze=False)
    for (title, batch), line in zip(rows, axes):
        for ax in line:
            ax.axis("off")
        for item, ax in zip(batch, line):
            ax.axis("on")
            _draw(ax, item)
        line[0].set_title(title, fontsize=8, loc="left")
    return save_figure(fig, path)


EVALUATION_BARS = (
    ("raw_linear_accuracy", "linear on inputs"),
    ("random_linear_accuracy", "random encoder, linear"),
    ("random_knn_accuracy", "random encoder, kNN"),
    ("linear_accuracy", "trained, linear"),
    ("knn_accuracy", "trained, kNN"),
    ("finetune_1pct_accuracy", "fine-tuned, 1% labels"),
    ("finetune_10pct_accuracy", "fine-tuned, 10% labels"),
    ("finetune_100pct_accuracy", "fine-tuned, 100% labels"),
    ("supervised_accuracy", "supervised from scratch"),
)


def evaluation_plot(metrics: dict[str, float], path: Path) -> Path | None:
    """Horizontal bars of the test accuracies (valid when there is no test split) of the evaluation."""
    split = "test" if any(k.startswith("test/") for k in metrics) else "valid"
    bars = [(label, metrics[f"{split}/{key}"]) for key, label in EVALUATION_BARS if f"{split}/{key}" in metrics]
    if not bars:
        return None
    fig, ax = plt.subplots(figsize=(6, 0.35 * len(bars) + 1))
    labels, values = zip(*bars)
    ax.barh(range(len(bars)), values, color=["#999999" if "random" in l or "inputs" in l else "#3b75af"
                                               for l in labels])
    ax.set_yticks(range(len(bars)), labels)
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    for i, value in enumerate(values):
        ax.text(min(value, 0.9) + 0.01, i, f"{value:.3f}", va="center", fontsize=8)
    ax.set_xlabel(f"{split} accuracy")
    return save_figure(fig, path)
