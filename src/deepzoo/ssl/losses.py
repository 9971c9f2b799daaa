"""The contrastive loss of SimCLR (Chen, Kornblith, Norouzi & Hinton 2020, §2.1, Eq. 1).

For a batch of N images, each augmented twice, the 2N projections z are compared by cosine similarity.
The two views of one image are a positive pair; the other 2N − 2 views are its negatives:

    ℓ(i, j) = −log( exp(sim(z_i, z_j)/τ) / Σ_{k≠i} exp(sim(z_i, z_k)/τ) )

and the loss is the mean of ℓ over all 2N ordered positive pairs, (i, j) and (j, i). The sum over
k ≠ i removes each view's similarity with itself, which would otherwise always be the largest term.

**Across processes** (``across_processes=True`` under torchrun) the negatives are the views of the
global batch, as SimCLR's large-batch results need (§2.1: the other 2(N − 1) views of the minibatch are
the negatives; §2.2: N up to 8192, split over up to 128 TPU cores): every process's projections are
gathered with their gradients (:func:`deepzoo.runtime.gather_with_gradient`) and each process takes the
rows ℓ(i, ·) of its own 2N views against all 2·W·N. The mean over the W processes — what the engine logs
— is then the loss of one process over the combined batch, and DDP's averaged gradient its gradient.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from ..runtime import gather_with_gradient, process_place


def _similarity_logits(z1: Tensor, z2: Tensor, temperature: float,
                       across_processes: bool = False) -> tuple[Tensor, Tensor]:
    """Cosine similarities / τ of this process's views (the rows) to every view (the columns),
    self-similarities masked to −inf, and each row's positive: view i < N pairs with i + N and view
    i + N with i. Outside DDP (or with ``across_processes`` off) the rows are all 2N views; across
    processes the columns are the 2·W·N views of the global batch — first every process's ``z1`` in
    rank order, then every ``z2`` — and the rows this process's 2N of them."""
    if z1.shape != z2.shape or z1.dim() != 2:
        raise ValueError(f"nt_xent_loss needs two (N, D) batches of projections, got {tuple(z1.shape)} "
                         f"and {tuple(z2.shape)}")
    rank, world = process_place() if across_processes else (0, 1)
    if world > 1:
        z1, z2 = gather_with_gradient(z1), gather_with_gradient(z2)
    n, local = z1.shape[0], z1.shape[0] // world
    z = F.normalize(torch.cat([z1, z2]).float(), dim=1)
    views = torch.arange(2 * n, device=z.device)
    rows = views if world == 1 else torch.cat([views[rank * local:(rank + 1) * local],
                                               views[n + rank * local:n + (rank + 1) * local]])
    logits = (z if world == 1 else z[rows]) @ z.T / temperature
    logits = logits.masked_fill(rows[:, None] == views[None, :], float("-inf"))
    positives = (rows + n) % (2 * n)
    return logits, positives


def nt_xent_loss(z1: Tensor, z2: Tensor, temperature: float = 0.5, across_processes: bool = False) -> Tensor:
    """NT-Xent (normalised temperature-scaled cross entropy), SimCLR Eq. 1, averaged over the 2N views.

    ``z1[i]`` and ``z2[i]`` are the projections of the two views of image i. Computed in float32
    (also under bf16 autocast): the logits are divided by a small τ before the softmax.
    ``across_processes`` under torchrun: the negatives are the global batch's (see the module's
    docstring); every process must then call it with the same N.
    """
    logits, positives = _similarity_logits(z1, z2, temperature, across_processes)
    return F.cross_entropy(logits, positives)


@torch.no_grad()
def positive_pair_accuracy(z1: Tensor, z2: Tensor, across_processes: bool = False) -> Tensor:
    """Fraction of the 2N views whose most similar other view is their positive (the contrastive
    task's top-1 accuracy; chance is 1/(2N − 1), with N the global batch ``across_processes``)."""
    logits, positives = _similarity_logits(z1, z2, 1.0, across_processes)
    return (logits.argmax(1) == positives).float().mean()
