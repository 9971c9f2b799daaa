"""Plots of tuning and comparison: optimisation history, parameter importances, every trial's
validation curve on one figure (pruned trials marked), several runs' curves, the LR range test."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from optuna.trial import FrozenTrial, TrialState

from .common import plt, save_figure


def plot_history(trials: Sequence[FrozenTrial], monitor: str, direction: str, path: str | Path) -> Path:
    """Each trial's value by trial number (pruned trials at their last reported value, as crosses)
    and the best value so far."""
    fig, ax = plt.subplots(figsize=(6, 3.6))
    done = [t for t in trials if t.state == TrialState.COMPLETE and t.value is not None]
    pruned = [t for t in trials if t.state == TrialState.PRUNED and t.intermediate_values]
    ax.scatter([t.number for t in done], [t.value for t in done], s=18, label="complete", zorder=3)
    ax.scatter([t.number for t in pruned], [t.intermediate_values[max(t.intermediate_values)] for t in pruned],
               marker="x", color="grey", s=22, label="pruned (last value)", zorder=3)
    if done:
        pick = max if direction == "maximize" else min
        ordered = sorted(done, key=lambda t: t.number)
        best = [pick(t.value for t in ordered[: i + 1]) for i in range(len(ordered))]
        ax.step([t.number for t in ordered], best, where="post", color="C3", label="best so far")
    ax.set_xlabel("trial")
    ax.set_ylabel(monitor)
    ax.set_title("optimisation history")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    return save_figure(fig, path)


def plot_importances(importances: dict[str, float], path: str | Path) -> Path:
    """Horizontal bars of each parameter's importance (they sum to 1)."""
    names = sorted(importances, key=importances.get)
    fig, ax = plt.subplots(figsize=(6, 0.45 * len(names) + 1.2))
    ax.barh(names, [importances[n] for n in names], color="C0")
    ax.set_xlabel("importance")
    ax.set_title("parameter importances")
    ax.grid(alpha=0.3, axis="x")
    return save_figure(fig, path)


def plot_trial_curves(trials: Sequence[FrozenTrial], monitor: str, best: int | None, path: str | Path) -> Path:
    """The monitored metric per epoch of every trial on one figure: pruned trials grey and dashed,
    ending in a cross where they were stopped; the best trial thick."""
    fig, ax = plt.subplots(figsize=(6.5, 4))
    for t in trials:
        if not t.intermediate_values:
            continue
        epochs = sorted(t.intermediate_values)
        values = [t.intermediate_values[e] for e in epochs]
        if t.state == TrialState.PRUNED:
            ax.plot(epochs, values, "--", color="grey", lw=0.8, alpha=0.7)
            ax.plot(epochs[-1], values[-1], "x", color="grey", ms=6)
        elif t.number == best:
            ax.plot(epochs, values, color="C3", lw=2.2, label=f"best (trial {t.number})", zorder=3)
        else:
            ax.plot(epochs, values, lw=0.9, alpha=0.8)
    ax.plot([], [], "--x", color="grey", label="pruned")
    ax.set_xlabel("epoch")
    ax.set_ylabel(monitor)
    ax.set_title("validation curves of all trials")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    return save_figure(fig, path)


def plot_run_curves(histories: dict[str, list[dict[str, float]]], path: str | Path) -> Path:
    """Validation curves of several runs: one panel per ``valid/*`` metric, one line per run."""
    metrics = sorted({k for rows in histories.values() for row in rows for k in row if k.startswith("valid/")},
                     key=lambda m: (not m.endswith("loss"), m))
    metrics = metrics or ["train/loss"]
    fig, axes = plt.subplots(1, len(metrics), figsize=(4.2 * len(metrics), 3.4), squeeze=False)
    for ax, metric in zip(axes[0], metrics):
        for name, rows in histories.items():
            points = [(r["epoch"], r[metric]) for r in rows if metric in r and not math.isnan(r[metric])]
            if points:
                ax.plot(*zip(*points), marker="o" if len(points) < 30 else None, ms=3, label=name)
        ax.set_xlabel("epoch")
        ax.set_title(metric)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    return save_figure(fig, path)


def plot_lr_find(lrs: Sequence[float], losses: Sequence[float], smoothed: Sequence[float],
                 marks: dict[str, float], path: str | Path) -> Path:
    """Loss against learning rate (log axis): raw and smoothed, with the suggested rates marked."""
    fig, ax = plt.subplots(figsize=(6, 3.8))
    ax.plot(lrs, losses, color="C0", alpha=0.3, lw=0.8, label="loss")
    ax.plot(lrs, smoothed, color="C0", lw=1.8, label="smoothed loss")
    for i, (label, lr) in enumerate(marks.items()):
        y = float(np.interp(np.log(lr), np.log(lrs), smoothed))
        ax.plot([lr], [y], "o", color=f"C{i + 1}", ms=7, label=f"{label}: {lr:.2g}")
    finite = [v for v in smoothed if math.isfinite(v)]
    if finite:
        low, start = min(finite), finite[0]
        ax.set_ylim(low - 0.1 * abs(start - low) - 1e-3, max(start, low) + 0.5 * abs(start - low) + 1e-3)
    ax.set_xscale("log")
    ax.set_xlabel("learning rate")
    ax.set_ylabel("training loss")
    ax.set_title("learning-rate range test")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=7)
    return save_figure(fig, path)
