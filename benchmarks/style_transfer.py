"""Style transfer: seconds per L-BFGS iteration of deepzoo's losses (one forward pass that collects
the wanted VGG-19 layers, losses as plain functions) versus the same losses written as in the PyTorch
tutorial "Neural Transfer Using PyTorch" (a new Sequential with loss modules inserted after the wanted
layers, trimmed after the last one, losses read back from module attributes), in one run.

Both contenders use the same VGG-19 weights (random, seed 0: the speed does not depend on them; max
pooling as torchvision's), the same layers (Gatys et al.: content conv4_2, style conv1_1 … conv5_1, all
after their ReLU — the tutorial's ``relu_10`` and ``relu_1, 3, 5, 9, 13``), the same weights (content 1,
style 10⁶ summed over the five layers = deepzoo's 5·10⁶ with w_l = 1/5), the same start (the content
image) and the same optimiser: PyTorch's L-BFGS with the tutorial's settings and its clamp to [0, 1]
inside the closure. They therefore follow the same iterates in exact arithmetic; the table shows the
total loss after the first update (equal to 6 digits) and at the last iterate. The last can differ by
a few per cent: L-BFGS's first step is tiny (t = 1/‖g‖₁), so y = g₁ − g₀ at the second iterate is
mostly cancellation and float rounding (another summation order) changes the next step, and without a
line search the loss is not monotone. deepzoo's bf16 row runs the same code under bf16 autocast
(on CUDA it is the default); its losses differ more.

Content: scikit-learn's china.jpg; style: flower.jpg, both centre-cropped square at each size.

Run: ``python benchmarks/style_transfer.py [--sizes 256 512] [--iterations 10 3] [--device cpu|cuda]``
(``python -P`` so that ``benchmarks/`` does not shadow standard modules). On a CPU shared with other jobs
set ``OMP_WAIT_POLICY=PASSIVE``: with PyTorch's default spinning OpenMP threads, one core taken by another
process made an iteration up to 10× slower (both threads wait for the descheduled one).
"""

from __future__ import annotations

import argparse
import copy
import os
import platform
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from deepzoo.style.features import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    PRETRAINED_DEFAULTS,
    FeatureExtractor,
    random_vgg19_features,
)
from deepzoo.style.transfer import StyleObjective, fit_to, memory_format, optimise_image, read_image

TUTORIAL_CONTENT = ["relu_10"]  # conv4_2 after its ReLU
TUTORIAL_STYLE = ["relu_1", "relu_3", "relu_5", "relu_9", "relu_13"]  # conv1_1, 2_1, 3_1, 4_1, 5_1
STYLE_WEIGHT, CONTENT_WEIGHT = 1e6, 1.0


# ---- the tutorial's structure, written out here (module insertion, losses as module attributes) ----
class TutorialContentLoss(nn.Module):
    """Pass-through module that stores the content loss of its input as ``self.loss``."""

    def __init__(self, target: torch.Tensor):
        super().__init__()
        self.target = target.detach()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.loss = F.mse_loss(x, self.target)
        return x


def tutorial_gram(x: torch.Tensor) -> torch.Tensor:
    """The tutorial's Gram matrix: ``view(a*b, c*d)``, ``torch.mm``, divided by the number of elements."""
    a, b, c, d = x.size()
    features = x.view(a * b, c * d)
    return torch.mm(features, features.t()).div(a * b * c * d)


class TutorialStyleLoss(nn.Module):
    """Pass-through module that stores the style loss of its input as ``self.loss``."""

    def __init__(self, target_feature: torch.Tensor):
        super().__init__()
        self.target = tutorial_gram(target_feature).detach()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.loss = F.mse_loss(tutorial_gram(x), self.target)
        return x


class TutorialNormalization(nn.Module):
    """ImageNet normalisation as the first module of the tutorial's Sequential."""

    def __init__(self, mean, std):
        super().__init__()
        self.mean = torch.tensor(mean).view(-1, 1, 1)
        self.std = torch.tensor(std).view(-1, 1, 1)

    def forward(self, img: torch.Tensor) -> torch.Tensor:
        return (img - self.mean.to(img.device)) / self.std.to(img.device)


def tutorial_model_and_losses(cnn: nn.Sequential, style_img, content_img):
    """Copy ``cnn`` layer by layer into a new Sequential (ReLUs made out-of-place), insert a loss module
    after each wanted layer (computing its target by running the partial model), trim after the last."""
    model = nn.Sequential(TutorialNormalization(IMAGENET_MEAN, IMAGENET_STD)).to(content_img.device)
    content_losses, style_losses, i = [], [], 0
    for layer in cnn.children():
        if isinstance(layer, nn.Conv2d):
            i += 1
            name = f"conv_{i}"
        elif isinstance(layer, nn.ReLU):
            name, layer = f"relu_{i}", nn.ReLU(inplace=False)
        elif isinstance(layer, nn.MaxPool2d):
            name = f"pool_{i}"
        else:
            raise RuntimeError(f"unrecognised layer {layer.__class__.__name__}")
        model.add_module(name, layer)
        if name in TUTORIAL_CONTENT:
            loss = TutorialContentLoss(model(content_img).detach())
            model.add_module(f"content_loss_{i}", loss)
            content_losses.append(loss)
        if name in TUTORIAL_STYLE:
            loss = TutorialStyleLoss(model(style_img).detach())
            model.add_module(f"style_loss_{i}", loss)
            style_losses.append(loss)
    for last in range(len(model) - 1, -1, -1):
        if isinstance(model[last], (TutorialContentLoss, TutorialStyleLoss)):
            break
    return model[:last + 1], style_losses, content_losses


def tutorial_run(cnn: nn.Sequential, content_img, style_img, steps: int) -> tuple[float, list[float]]:
    """The tutorial's ``run_style_transfer`` for exactly ``steps`` closure calls; returns (seconds, the loss
    at each call). Its L-BFGS takes up to 20 iterations per ``step``, so ``max_iter`` is capped at ``steps``."""
    model, style_losses, content_losses = tutorial_model_and_losses(cnn, style_img, content_img)
    input_img = content_img.clone()
    input_img.requires_grad_(True)
    model.eval()
    model.requires_grad_(False)
    optimizer = torch.optim.LBFGS([input_img], max_iter=min(20, steps))  # the tutorial's defaults otherwise
    run = [0]
    losses = []
    sync(content_img.device)
    start = time.perf_counter()
    while run[0] < steps:
        def closure():
            with torch.no_grad():
                input_img.clamp_(0, 1)
            optimizer.zero_grad()
            model(input_img)
            style_score = sum(sl.loss for sl in style_losses) * STYLE_WEIGHT
            content_score = sum(cl.loss for cl in content_losses) * CONTENT_WEIGHT
            loss = style_score + content_score
            loss.backward()
            run[0] += 1
            losses.append(loss.detach())
            return style_score + content_score
        optimizer.step(closure)
    sync(content_img.device)
    seconds = time.perf_counter() - start
    return seconds, [float(v) for v in losses]


# ---- deepzoo ----
def deepzoo_run(stack: nn.Sequential, content_img, style_img, steps: int,
                autocast: torch.dtype | None) -> tuple[float, list[float]]:
    """deepzoo's objective and loop with the tutorial's optimiser settings; returns (seconds, the loss at
    each of the first ``steps`` iterates)."""
    extractor = FeatureExtractor(stack, description="benchmark", defaults=PRETRAINED_DEFAULTS,
                                 per_layer_normalisation=False)
    extractor = extractor.to(content_img.device, memory_format=memory_format(content_img.device))
    d = PRETRAINED_DEFAULTS
    objective = StyleObjective(extractor, content_img, style_img, d.content_layers, d.style_layers,
                               d.content_weight, d.style_weight, d.tv_weight, autocast=autocast)
    evaluated = []

    def counted(image):
        losses = objective(image)
        evaluated.append(losses["total"].detach())
        return losses

    stopped = []

    def stop_clock(step: int, image: torch.Tensor) -> None:
        if step == steps:
            sync(content_img.device)
            stopped.append(time.perf_counter())

    sync(content_img.device)
    start = time.perf_counter()
    optimise_image(counted, content_img, steps, "lbfgs", clamp=True, on_iteration=stop_clock)
    # the clock stops after ``steps`` evaluations with gradients and updates (iterates 0 … steps − 1, as the
    # tutorial's closure calls); optimise_image's extra evaluation of the final image is not timed
    return stopped[0] - start, [float(v) for v in evaluated[:steps]]


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def load_images(size: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    import sklearn.datasets

    folder = Path(sklearn.datasets.__file__).parent / "images"
    content, _ = read_image(folder / "china.jpg")
    style, _ = read_image(folder / "flower.jpg")
    return fit_to(content, (size, size))[None].to(device), fit_to(style, (size, size))[None].to(device)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[256, 512])
    parser.add_argument("--iterations", type=int, nargs="+", default=[10, 3], help="per size")
    parser.add_argument("--rounds", type=int, default=3, help="repeat every contender; the fastest round counts")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args()
    if len(args.iterations) != len(args.sizes) or min(args.iterations) < 2:
        parser.error("give one --iterations value (≥ 2) per size")
    device = torch.device(args.device)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    stack = random_vgg19_features(0).to(device)
    print(f"# style transfer, {platform.processor() or platform.machine()}, torch {torch.__version__}, device "
          f"{torch.cuda.get_device_name() if device.type == 'cuda' else 'cpu'}, threads {torch.get_num_threads()}, "
          f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', '-')}")
    print(f"{'size':>5} {'iters':>5} {'contender':<34} {'s/iter':>8} {'loss @1':>10} {'loss @last':>10} "
          f"{'speed-up':>8}")
    for size, steps in zip(args.sizes, args.iterations):
        content, style = load_images(size, device)
        contenders = {
            "tutorial (module insertion), fp32": (tutorial_run, ()),
            "deepzoo (one pass), fp32": (deepzoo_run, (None,)),
            "deepzoo (one pass), bf16 autocast": (deepzoo_run, (torch.bfloat16,)),
        }
        best: dict[str, tuple[float, list[float]]] = {}
        for _ in range(args.rounds):
            for name, (run, extra) in contenders.items():
                # every contender gets its own copy: on CUDA deepzoo moves its weights to channels-last in place
                seconds, loss = run(copy.deepcopy(stack), content, style, steps, *extra)
                if name not in best or seconds < best[name][0]:
                    best[name] = (seconds, loss)
        baseline = best["tutorial (module insertion), fp32"][0]
        for name, (seconds, loss) in best.items():
            print(f"{size:>5} {steps:>5} {name:<34} {seconds / steps:>8.3f} {loss[1]:>10.6g} {loss[-1]:>10.5g} "
                  f"{baseline / seconds:>7.2f}×")


if __name__ == "__main__":
    main()
