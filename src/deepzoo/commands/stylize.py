"""``deepzoo stylize``: neural style transfer (Gatys et al. 2016) of one image in the style of another.

It optimises pixels, not a network, so it is not a training run: no run folder, just the output image,
its loss curves and (with ``--save-every``) intermediate images. See docs/style_transfer.md.
"""

from __future__ import annotations

import argparse


def _layers(text: str) -> tuple[str, ...]:
    return tuple(name.strip() for name in text.split(",") if name.strip())


def add_parser(sub) -> None:
    p = sub.add_parser("stylize", help="render a content image in the style of another (neural style transfer)")
    p.add_argument("--content", required=True, help="content image file")
    p.add_argument("--style", required=True, help="style image file (resized and centre-cropped to the content)")
    p.add_argument("--out", default="stylized.png", help="output PNG (default stylized.png); the loss curves go to "
                                                         "<stem>_losses.png next to it")
    p.add_argument("--weights", help="imagenet (torchvision's VGG-19 weights: from the torch.hub cache, downloaded "
                                     "once if missing and online), torchvision:ENUM, or a VGG-19 state dict "
                                     "(.pth/.pt/.safetensors); without it a random-weight VGG-19 is used")
    p.add_argument("--size", type=int, default=256, help="longer side of the output in pixels (default 256)")
    p.add_argument("--iterations", type=int, default=300, help="iterations per scale (default 300)")
    p.add_argument("--optimizer", choices=["lbfgs", "adam"], default="lbfgs")
    p.add_argument("--lr", type=float, help="step size (L-BFGS 1.0, Adam 0.02)")
    p.add_argument("--init", choices=["content", "noise"], default="content", help="starting image")
    p.add_argument("--scales", type=int, help="coarse-to-fine scales (default: 2 random weights, 1 pretrained)")
    p.add_argument("--pooling", choices=["max", "avg"], help="default: avg random weights, max pretrained")
    p.add_argument("--content-layers", type=_layers, help="comma-separated, e.g. conv4_2 (Gatys et al.'s names)")
    p.add_argument("--style-layers", type=_layers, help="comma-separated, e.g. conv1_1,conv2_1,conv3_1")
    p.add_argument("--content-weight", type=float)
    p.add_argument("--style-weight", type=float)
    p.add_argument("--tv-weight", type=float, help="total-variation weight")
    p.add_argument("--range-weight", type=float, help="penalty on pixel values outside [0, 1] (default: 10 random "
                   "weights, 0 pretrained)")
    p.add_argument("--save-every", type=int, default=0, metavar="N", help="save the image every N iterations")
    p.add_argument("--seed", type=int, default=0, help="random weights and noise start")
    p.add_argument("--device", default="auto", help="auto (CUDA when present), cpu, cuda, cuda:N")
    p.add_argument("--precision", choices=["auto", "fp32", "bf16"], default="auto",
                   help="auto: bf16 autocast on CUDA, fp32 on the CPU")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..style import stylize

    result = stylize(args.content, args.style, args.out, weights=args.weights, size=args.size,
                     iterations=args.iterations, optimizer=args.optimizer, lr=args.lr, init=args.init,
                     scales=args.scales, pooling=args.pooling, content_layers=args.content_layers,
                     style_layers=args.style_layers, content_weight=args.content_weight,
                     style_weight=args.style_weight, tv_weight=args.tv_weight, range_weight=args.range_weight,
                     save_every=args.save_every, seed=args.seed, device=args.device, precision=args.precision)
    last, steps = result.history[-1], result.intermediates
    height, width = result.image.shape[-2:]
    print(f"{result.output}: {width}×{height}, {last['iteration']} iterations ({args.optimizer}) in "
          f"{result.seconds:.1f} s ({result.seconds_per_iteration:.3f} s/iteration on {result.device})")
    print(f"final losses: total {last['total']:.4g} = content {last['content']:.4g} + style {last['style']:.4g} "
          f"+ tv {last['tv']:.4g} + range {last['range']:.4g}")
    saved = f"; {len(steps)} intermediate images ({steps[0].name} …)" if steps else ""
    print(f"loss curves: {result.curves}{saved}")
    return 0
