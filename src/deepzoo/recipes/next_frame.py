"""Next-frame prediction (task ``next-frame``): the pix2pix machinery (:mod:`deepzoo.recipes.pix2pix`)
predicting frame t+1 from the k frames before it.

The generator reads the k context frames stacked on channels (k·C channels in, C out) and the PatchGAN
judges (context, next frame) pairs, so D asks whether a frame plausibly follows its context — the
adversarial next-frame idea of Mathieu, Couprie & LeCun 2016 ("Deep multi-scale video prediction beyond
mean square error", who pair an L1/L2 term with a GAN loss against the blur of regression), here on the
U-Net and PatchGAN of Isola et al. 2017 with λ = 100. The data are clips (``moving-digits``, Srivastava
et al. 2015's Moving MNIST scaled down, or ``frames:DIR``; :mod:`deepzoo.data.frames`), split by clip.

The baseline is the last context frame copied (``last_frame_*``: "nothing moves"), beside the nearest
training window's next frame (``nearest_*``). Everything else — options, the paper preset (Adam 2e-4,
β1 0.5, batch 1, linear decay), test-time dropout, metrics, pictures — is pix2pix's, except the jitter:
off by default (``task_args.jitter=true`` flips and crops the context and the target together).

    deepzoo train --model pix2pix --task next-frame --data moving-digits --epochs 10 \\
        --set train.batch_size=16
"""

from __future__ import annotations

from typing import ClassVar

import torch

from .base import TASKS, Option
from .pix2pix import Pix2PixRecipe


class NextFrameRecipe(Pix2PixRecipe):
    """Frame t+1 from frames t−k+1 … t, with L1 + the adversarial term."""

    data_kind, data_sources = "next-frame", "clips (moving-digits or frames:DIR)"
    options: ClassVar[dict[str, Option]] = {
        **Pix2PixRecipe.options,
        "jitter": Option(False, "the pix2pix jitter (resize, random crop, flip) of each training window"),
    }

    def picture_columns(self, inputs: torch.Tensor, targets: torch.Tensor,
                        with_baselines: bool) -> list[tuple[str, torch.Tensor]]:
        """The context frames one column each (t−k+1 … t), then the prediction, (baselines,) the true t+1."""
        columns = super().picture_columns(inputs, targets, with_baselines)
        k, channels = self.data.meta.extra["context"], self.data.meta.extra["frame_channels"]
        frames = [(f"t−{k - 1 - i}" if i < k - 1 else "t", columns[0][1][:, i * channels:(i + 1) * channels])
                  for i in range(k)]
        return frames + columns[1:-1] + [("t+1", columns[-1][1])]


TASKS.register("next-frame", recipe="next_frame")(NextFrameRecipe)
