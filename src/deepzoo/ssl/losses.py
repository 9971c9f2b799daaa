"""The contrastive loss of SimCLR (Chen, Kornblith, Norouzi & Hinton 2020, §2.1, Eq. 1).

For a batch of N images, each augmented twice, the 2N projections z are compared by cosine similarity.
The two views of one image are a positive pair; the other 2N − 2 views are its negatives:

    ℓ(i, j) = −log( exp(sim(z_i, z_j)/τ) / Σ_{k≠i} exp(sim(z_i, z_k)/τ) )

and the loss is the mean of ℓ over all 2N ordered positive pairs, (i, j) and (j, i). The sum over
k ≠ i removes each view's similarity with itself, which would otherwise always be the largest term.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


def _similarity_logits(z1: Tensor, z2: Tensor, temperature: float) -> tuple[Tensor, Tensor]:
    """Cosine similarities / τ of the 2N views, self-similarities masked to −inf, and each view's
    positive: view i < N pairs with i + N and view i + N with i."""
    if z1.shape != z2.shape or z1.dim() != 2:
        raise ValueError(f"nt_xent_loss needs two (N, D) batches of projections, got {tuple(z1.shape)} "
                         f"and {tuple(z2.shape)}")
    n = z1.shape[0]
    z = F.normalize(torch.cat([z1, z2]).float(), dim=1)
    logits = z @ z.T / temperature
    self_mask = torch.eye(2 * n, dtype=torch.bool, device=z.device)
    logits = logits.masked_fill(self_mask, float("-inf"))
    positives = (torch.arange(2 * n, device=z.device) + n) % (2 * n)
    return logits, positives


def nt_xent_loss(z1: Tensor, z2: Tensor, temperature: float = 0.5) -> Tensor:
    """NT-Xent (normalised temperature-scaled cross entropy), SimCLR Eq. 1, averaged over the 2N views.

    ``z1[i]`` and ``z2[i]`` are the projections of the two views of image i. Computed in float32
    (also under bf16 autocast): the logits are divided by a small τ before the softmax.
    """
    logits, positives = _similarity_logits(z1, z2, temperature)
    return F.cross_entropy(logits, positives)


@torch.no_grad()
def positive_pair_accuracy(z1: Tensor, z2: Tensor) -> Tensor:
    """Fraction of the 2N views whose most similar other view is their positive (the contrastive
    task's top-1 accuracy; chance is 1/(2N − 1))."""
    logits, positives = _similarity_logits(z1, z2, 1.0)
    return (logits.argmax(1) == positives).float().mean()
