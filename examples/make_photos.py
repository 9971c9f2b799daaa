"""Write a folder of generated photos in the ``imagefolder:`` layout: a coloured shape on a crop of
scikit-learn's two sample photos, one subfolder per shape, JPEGs of several sizes and aspects
(:mod:`deepzoo.data.shapes`). The transfer-learning walk-through (docs/transfer_learning.md) uses it to
have photos to train on with nothing downloaded:

    python examples/make_photos.py photos-source --classes circle,square,triangle --per-class 200 --seed 1
"""

from __future__ import annotations

import argparse

from deepzoo.data.shapes import SHAPES, write_shapes_folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", help="where to write <folder>/<shape>/<i>.jpg")
    parser.add_argument("--classes", default="circle,square,triangle",
                        help=f"comma-separated shapes, of: {', '.join(SHAPES)}")
    parser.add_argument("--per-class", type=int, default=100, help="photos of each shape")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--sizes", default="96,160", help="smallest and largest width and height, in pixels")
    args = parser.parse_args()
    low, high = (int(v) for v in args.sizes.split(","))
    classes = [c.strip() for c in args.classes.split(",") if c.strip()]
    root = write_shapes_folder(args.folder, classes, args.per_class, args.seed, (low, high))
    print(f"wrote {args.per_class * len(classes)} photos of {', '.join(classes)} to {root}")


if __name__ == "__main__":
    main()
