"""Super-resolution (Ledig et al. 2017): SRResNet pre-training (task ``sr``) and SRGAN fine-tuning
(task ``super_resolution``, the default of the ``srgan`` model).

**Data.** The dataset gives high-resolution (HR) crops in [0, 1] (``sample-images``: random crops of
scikit-learn's two photos). The recipe makes each low-resolution (LR) input once, by bicubic
downscaling with antialiasing (the MATLAB ``imresize`` convention of the SR literature) by
``model.scale``; LR inputs stay in [0, 1] and HR targets are scaled to [−1, 1], as in §3.2 of the paper.

**Losses.** Content loss: pixel MSE (SRResNet / SRGAN-MSE), or with ``task_args.vgg_weights=imagenet``
(torchvision's VGG-19, :mod:`deepzoo.models.pretrained`) or ``=FILE`` (a local VGG-19 state dict) the MSE
of VGG54 features — φ5,4, the activation of the 4th convolution of
the 5th block, before its max-pooling — with the feature maps scaled by 1/12.75 (§3.3 of Ledig et al.);
the run log says which one ran. Task ``super_resolution`` adds 1e−3 × the adversarial loss
−log D(G(LR)) (Eq. 3–6; ``task_args.adversarial_weight``) and trains the discriminator on HR crops vs
detached SR outputs (:class:`~deepzoo.recipes.gan.AdversarialRecipe`). Task ``sr`` trains the generator
alone on the content loss — the SRResNet the paper starts SRGAN from:

    deepzoo train --model srgan --task sr --data sample-images --name srresnet
    deepzoo train --model srgan --data sample-images --weights runs/srresnet/model.safetensors

**Paper preset.** Adam with lr 1e−4 and β1 = 0.9, minibatches of 16 (§3.2); settings the user gave
are kept. Early stopping: on ``valid/psnr`` for ``sr``; off for ``super_resolution`` unless a monitor is
set (a GAN's losses do not measure quality, and PSNR is what SRGAN trades away on purpose).

**Metrics.** PSNR and SSIM on the Y channel with ``scale`` border pixels cropped, beside bicubic
upsampling of the same LR input (:mod:`deepzoo.metrics.gan`).

**Options** (``--set task_args.KEY=VALUE``, declared in ``SuperResolutionRecipe.options``):
``preset`` (paper | none), ``adversarial_weight`` (1e-3), ``vgg_weights`` (imagenet or a file; pixel MSE
without)
and the game's ``k``, ``saturating``, ``label_smoothing`` and ``fresh_noise``
(:class:`~deepzoo.recipes.gan.AdversarialRecipe`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from ..config import RunConfig
from ..data import DataBundle, TensorSplit
from ..errors import ConfigError
from ..models import accepted_kwargs, create_model, model_entry
from ..models.gan import load_pair_weights
from ..models.pretrained import IMAGENET_MEAN, IMAGENET_STD, describe_weights
from ..style.features import load_vgg19_features
from .base import TASKS, Option, apply_preset
from .gan import AdversarialRecipe, disable_default_early_stopping

# Ledig et al. 2017 §3.2: Adam β1 = 0.9, lr 1e-4, minibatches of 16 random HR crops.
SRGAN_PRESET = {"optim.name": "adam", "optim.lr": 1e-4, "optim.betas": (0.9, 0.999), "train.batch_size": 16}
ADVERSARIAL_WEIGHT = 1e-3  # Ledig et al. Eq. 3
VGG_SCALE = 1 / 12.75  # Ledig et al. §3.3: VGG feature maps rescaled to losses comparable with MSE
VGG19_CONVS = 16  # φ5,4 is the 16th and last convolution of VGG-19
SHOWN = 4  # validation crops in the comparison figure


def bicubic_downscale(hr: torch.Tensor, scale: int) -> torch.Tensor:
    """HR (N, C, H, W) in [0, 1] → LR (N, C, H/scale, W/scale): bicubic with antialiasing, clamped."""
    size = (hr.shape[-2] // scale, hr.shape[-1] // scale)
    return F.interpolate(hr, size=size, mode="bicubic", align_corners=False, antialias=True).clamp(0, 1)


def bicubic_upscale(lr: torch.Tensor, scale: int) -> torch.Tensor:
    """The bicubic baseline: LR upsampled ``scale`` times, clamped to [0, 1]."""
    return F.interpolate(lr, scale_factor=scale, mode="bicubic", align_corners=False).clamp(0, 1)


class VGG54Features(nn.Module):
    """φ5,4 of a VGG-19 (after its ReLU, before the 5th max-pool) of images in [−1, 1], × 1/12.75.

    ``features`` is VGG-19's convolutional stack (torchvision's ``vgg19().features``). Images are mapped
    to [0, 1] and normalised with the ImageNet statistics the VGG was trained with. The network is
    frozen: it only measures the content loss.
    """

    def __init__(self, features: nn.Sequential):
        super().__init__()
        layers, convs = [], 0
        for layer in features:
            layers.append(layer)
            convs += isinstance(layer, nn.Conv2d)
            if convs == VGG19_CONVS and isinstance(layer, nn.ReLU):
                break
        if convs != VGG19_CONVS:
            raise ConfigError(f"task_args.vgg_weights: expected a VGG-19 with {VGG19_CONVS} convolutions, got {convs}")
        self.features = nn.Sequential(*layers).eval().requires_grad_(False)
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(((x + 1) / 2 - self.mean) / self.std) * VGG_SCALE


class SuperResolutionRecipe(AdversarialRecipe):
    """SRResNet (task ``sr``) and SRGAN (task ``super_resolution``) on HR crops."""

    data_defaults = {"normalize": "none"}
    is_convnet = True
    options: ClassVar[dict[str, Option]] = {
        **AdversarialRecipe.options,
        "preset": Option("paper", "paper: Adam lr 1e-4, β1 0.9, batch 16 (Ledig et al. §3.2); none keeps the config",
                         choices=("paper", "none")),
        "adversarial_weight": Option(ADVERSARIAL_WEIGHT, "weight of the adversarial loss in SRGAN's (Eq. 3)"),
        "vgg_weights": Option(None, "imagenet (torchvision's VGG-19) or a local VGG-19 state dict: the VGG54 "
                              "content loss instead of pixel MSE", kind="str"),
    }

    def __init__(self, config: RunConfig, data: DataBundle):
        super().__init__(config, data)
        self.task = config.task or "super_resolution"
        name, meta = config.model.name, data.meta
        if model_entry(name).meta.get("task") != "super_resolution":
            raise ConfigError(f"task {self.task} trains super-resolution models (srgan); {name} is not one")
        if not meta.is_image or meta.value_range is None or meta.value_range[0] < 0 or meta.value_range[1] > 1:
            raise ConfigError(f"{meta.name}: super-resolution needs images with pixels in [0, 1]; "
                              "load them with --set data.normalize=none")
        if self.args["preset"] == "paper":
            self.log_lines.append(apply_preset(config, SRGAN_PRESET, "Ledig et al. 2017 §3.2"))
        if self.task == "sr":
            self.phases = ("generator",)
            self.default_monitor = "valid/psnr"
            self.log_lines.append("task sr: SRResNet pre-training (the generator alone on the content loss)")
        else:
            self.log_lines.append(disable_default_early_stopping(config, "valid/ssim"))
            self.log_lines.append(self.describe_game())
        shape = tuple(meta.input_shape)
        candidates = {"channels": shape[0], "hr_size": shape[-1]}
        self.model = create_model(name, **{**accepted_kwargs(name, candidates), **config.model.args})
        self.scale = self.model.scale
        if config.model.weights:
            self.log_lines.append(f"weights: {config.model.weights} → "
                                  f"{load_pair_weights(self.model, config.model.weights)}")
        self.adversarial_weight = self.args["adversarial_weight"]
        self.vgg = self._content_network(self.args["vgg_weights"])
        if data.train is not None:
            self.data = DataBundle(*(self.pairs(s) for s in (data.train, data.valid, data.test)), meta=meta)

    def _content_network(self, weights: str | None) -> VGG54Features | None:
        """The VGG54 feature network when VGG-19 weights are given (``imagenet``, ``torchvision:ENUM`` or a
        local file, loaded as ``deepzoo stylize`` loads them), else None (pixel MSE)."""
        if not weights:
            self.log_lines.append("content loss: pixel MSE (pass --set task_args.vgg_weights=imagenet, or a local "
                                  "VGG-19 state dict, for the paper's VGG54 loss)")
            return None
        network = VGG54Features(load_vgg19_features(weights))
        self.log_lines.append(f"content loss: VGG54 feature MSE (φ5,4 of VGG-19 from "
                              f"{describe_weights('vgg19', weights)}, ×1/12.75)")
        return network

    def pairs(self, split: TensorSplit) -> TensorSplit:
        """HR crops in [0, 1] → (LR input in [0, 1], HR target in [−1, 1])."""
        hr = split.x
        if hr.shape[-1] % self.scale or hr.shape[-2] % self.scale:
            raise ConfigError(f"HR crops of {hr.shape[-2]}×{hr.shape[-1]} do not divide by scale {self.scale}")
        return TensorSplit(bicubic_downscale(hr, self.scale), hr * 2 - 1)

    def setup(self, device: torch.device) -> None:
        super().setup(device)
        if self.vgg is not None:
            self.vgg.to(device)

    def optimizer_modules(self) -> dict[str, nn.Module]:
        if self.task == "sr":
            return {"generator": self.model.generator}
        return super().optimizer_modules()

    # -- steps --------------------------------------------------------------------------------------------
    def split_batch(self, batch) -> tuple[torch.Tensor, torch.Tensor]:
        lr, hr = batch
        return hr, lr

    def generate(self, condition: torch.Tensor, n: int, frozen: bool = False) -> torch.Tensor:
        return self.player("generator", frozen)(condition)

    def content_loss(self, sr: torch.Tensor, hr: torch.Tensor) -> torch.Tensor:
        """Pixel MSE, or the MSE of scaled VGG54 features (Ledig et al. Eq. 4 and 5)."""
        if self.vgg is None:
            return F.mse_loss(sr, hr)
        return F.mse_loss(self.vgg(sr), self.vgg(hr))

    def generator_step(self, real: torch.Tensor, condition: torch.Tensor) -> dict[str, torch.Tensor]:
        if self.task == "sr":
            return {"loss": self.content_loss(self.generate(condition, len(real)), real)}
        return super().generator_step(real, condition)

    def generator_objective(self, adversarial: torch.Tensor, fake: torch.Tensor,
                            real: torch.Tensor) -> dict[str, torch.Tensor]:
        """Perceptual loss l^SR = content + 1e−3 · adversarial (Ledig et al. Eq. 3)."""
        content = self.content_loss(fake, real)
        return {"loss": content + self.adversarial_weight * adversarial, "content": content,
                "adversarial": adversarial}

    # -- evaluation ---------------------------------------------------------------------------------------
    @torch.no_grad()
    def evaluate(self, loader, split: str) -> dict[str, float]:
        """Pixel MSE (``loss``, [−1, 1] units), PSNR and SSIM on Y of SR and of bicubic upsampling."""
        from ..metrics.image import psnr_y, ssim_y

        sums: dict[str, torch.Tensor] = {}
        count = 0
        for batch in loader:
            hr, lr = self.split_batch(self.transfer(batch))
            sr = self.model.generator(lr).float()
            hr, lr = hr.float(), lr.float()
            target, output, bicubic = (hr + 1) / 2, ((sr + 1) / 2).clamp(0, 1), bicubic_upscale(lr, self.scale)
            values = {"psnr": psnr_y(output, target, self.scale), "ssim": ssim_y(output, target, self.scale),
                      "bicubic_psnr": psnr_y(bicubic, target, self.scale),
                      "bicubic_ssim": ssim_y(bicubic, target, self.scale),
                      "loss": (sr - hr).square().flatten(1).mean(1)}
            for key, value in values.items():
                sums[key] = sums.get(key, 0.0) + value.double().sum()
            count += len(hr)
        return {key: float(value) / count for key, value in sums.items()} if count else {}

    @torch.no_grad()
    def upscale(self, lr: torch.Tensor) -> torch.Tensor:
        """SR images in [0, 1] for LR images in [0, 1] (eval mode)."""
        self.model.eval()
        return ((self.model.generator(lr.to(self.device)).float() + 1) / 2).clamp(0, 1)

    def on_train_end(self, run_dir: Path | None) -> dict[str, float]:
        """``generator.safetensors``, ``evaluation.json`` and ``plots/super_resolution.png``."""
        if run_dir is None:
            return {}
        content = "pixel MSE" if self.vgg is None else f"VGG54 ({self.args['vgg_weights']})"
        self.save_outputs(run_dir, {"task": self.task, "scale": self.scale, "content_loss": content})
        split = self.data.valid if self.data.valid is not None and len(self.data.valid) else self.data.test
        if self.config.train.plots and split is not None and len(split):
            from ..plots.gan import sr_comparison_figure

            lr, hr = split.x[:SHOWN], split.y[:SHOWN]
            rows = [("LR", F.interpolate(lr, scale_factor=self.scale, mode="nearest")),
                    ("bicubic", bicubic_upscale(lr, self.scale)), (self.config.model.name, self.upscale(lr).cpu()),
                    ("HR", (hr + 1) / 2)]
            sr_comparison_figure(rows, run_dir / "plots" / "super_resolution.png", f"×{self.scale} ({self.task})")
        return {}

    def predict(self, x: torch.Tensor) -> dict[str, Any]:
        """Super-resolved images in [0, 1] for LR images in [0, 1]."""
        return {"image": self.upscale(x)}


for _task in ("super_resolution", "sr"):
    TASKS.register(_task, recipe="super_resolution")(SuperResolutionRecipe)
