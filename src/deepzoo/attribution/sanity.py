"""The checks the field applies to attribution maps, as numbers.

- **Model-parameter randomisation** (Adebayo et al. 2018, "Sanity Checks for Saliency Maps", §3.1): a
  map that explains the model must change when the model's learned weights are replaced by random ones.
  :func:`randomisation_check` re-initialises every layer (their "cascading" test run to the end: the whole
  network random) and reports the Spearman rank correlation between the trained and the random model's
  maps of the same images and classes, on absolute values as in their Fig. 2 — near 1 means the method
  does not depend on what was learned (they found this for Guided Backprop), near 0 that it does.
- **Pointing** (the pointing game of Zhang et al. 2016, "Top-down Neural Attention by Excitation Backprop"): on
  images whose class evidence is a known box (the ``patches`` dataset), :func:`pointing_check` counts
  the images whose map maximum falls inside the box; chance is the box's share of the image.
"""

from __future__ import annotations

import copy

import numpy as np
import torch
from torch import nn

from .maps import explain


def randomised_copy(model: nn.Module, seed: int = 0) -> nn.Module:
    """A copy of ``model`` with every layer that has ``reset_parameters`` re-initialised (its
    constructor's initialisation, seeded), the global RNG left as it was."""
    twin = copy.deepcopy(model)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        for module in twin.modules():
            if hasattr(module, "reset_parameters"):
                module.reset_parameters()
    return twin


def rank_correlation(a: torch.Tensor, b: torch.Tensor) -> np.ndarray:
    """Spearman's rank correlation between the absolute values of each pair of maps (N, ...) (average
    ranks for ties; 0 where a map is constant)."""
    from scipy.stats import spearmanr

    first, second = a.abs().flatten(1).cpu().numpy(), b.abs().flatten(1).cpu().numpy()
    values = []
    for u, v in zip(first, second):
        values.append(0.0 if u.std() == 0 or v.std() == 0 else float(spearmanr(u, v).statistic))
    return np.asarray(values)


def randomisation_check(model: nn.Module, x: torch.Tensor, method: str, seed: int = 0, **options) -> np.ndarray:
    """Per-image Spearman correlation of ``method``'s maps from the trained ``model`` and from its
    randomised copy, both explaining the trained model's predicted class. ``options`` go to
    :func:`~deepzoo.attribution.maps.explain`."""
    trained = explain(model, x, method, **options)
    random = explain(randomised_copy(model, seed), x, method, trained.target, **options)
    return rank_correlation(trained.maps, random.maps)


def pointing_hits(maps: torch.Tensor, boxes: np.ndarray) -> np.ndarray:
    """Whether each map's (N, H, W) maximum lies inside its box (top, left, bottom, right; bottom and
    right exclusive)."""
    flat = maps.flatten(1).argmax(dim=1).cpu().numpy()
    rows, columns = np.divmod(flat, maps.shape[-1])
    top, left, bottom, right = boxes.T
    return (rows >= top) & (rows < bottom) & (columns >= left) & (columns < right)


def pointing_check(model: nn.Module, x: torch.Tensor, y: torch.Tensor, boxes: np.ndarray, method: str,
                   **options) -> float:
    """The share of images whose map of their true class ``y`` peaks inside the evidence box."""
    return float(pointing_hits(explain(model, x, method, y, **options).maps, boxes).mean())
