"""Self-supervised learning: SimCLR and four pretext tasks, with an honest evaluation protocol.

- :mod:`.losses` — NT-Xent (SimCLR Eq. 1) and the contrastive top-1 accuracy.
- :mod:`.views` — SimCLR's view augmentations for RGB images, one-channel images and signals.
- :mod:`.pretext` — rotations, jigsaw puzzles (Hamming-distance permutation sets), relative patches.
- :mod:`.exemplar` — Exemplar CNN's seed patches and their random transformations.
- :mod:`.model` — the trained module: zoo encoder + pretext head + input normalisation.
- :mod:`.evaluation` — frozen-encoder linear probe and kNN, fine-tuning on a fraction of the labels.

SimCLR's LARS optimizer is :mod:`deepzoo.engine.lars` (``optim.name=lars``). The recipes that train them
are :mod:`deepzoo.recipes.ssl` (``--task simclr``) and
:mod:`deepzoo.recipes.ssl_pretext` (``--task rotation|jigsaw|relpatch|exemplar``); see docs/ssl.md.
"""

from __future__ import annotations

from .evaluation import fine_tune, frozen, knn_accuracy, knn_predict, linear_probe
from .losses import nt_xent_loss, positive_pair_accuracy
from .pretext import hamming_permutations, jigsaw_batch, relative_patch_batch, rotation_batch

__all__ = [
    "fine_tune", "frozen", "hamming_permutations", "jigsaw_batch", "knn_accuracy", "knn_predict", "linear_probe",
    "nt_xent_loss", "positive_pair_accuracy", "relative_patch_batch", "rotation_batch",
]
