"""Colours and labels for a classifier's classes that stay legible from 2 to 100+ classes.

Up to :data:`LEGEND_CLASSES` classes get distinct qualitative colours (tab10, tab20) and a legend entry
each; beyond, the colours are spread evenly over one perceptually ordered colour map (turbo) and a
colour bar names the classes — thinned by :func:`class_ticks` where one line of text no longer fits
beside each — since a legend of 100 entries is not read and tab20 would repeat its colours.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .common import plt

#: classes that get a legend entry each; more are named on a colour bar
LEGEND_CLASSES = 20
#: the smallest class-label font (points); where a class has less room, every n-th class is named
SMALLEST_LABEL_PT = 5.0
#: class names longer than this are cut (with "…") on axes, colour bars and titles
LABEL_CHARS = 18


def short_label(name: str, limit: int = LABEL_CHARS) -> str:
    """``name`` cut to ``limit`` characters, ending in "…" when cut."""
    return name if len(name) <= limit else name[: limit - 1] + "…"


def class_ticks(k: int, axis_inches: float) -> tuple[float, int]:
    """The label font size (points) and the step between named classes for ``k`` classes along an axis
    ``axis_inches`` long: one line of text (about 1.2 em tall with its descent) must fit in a class's
    share of the axis, so the font is 70 % of it; when it would fall below :data:`SMALLEST_LABEL_PT` only
    every ``step``-th class is named."""
    cell_pt = 72.0 * axis_inches / max(k, 1)
    size = min(9.0, 0.7 * cell_pt)
    if size >= SMALLEST_LABEL_PT:
        return size, 1
    return SMALLEST_LABEL_PT, int(np.ceil(SMALLEST_LABEL_PT / (0.7 * cell_pt)))


def class_colours(count: int) -> list:
    """One colour per class: tab10 up to 10 classes, tab20 up to :data:`LEGEND_CLASSES`, else turbo
    sampled evenly (no two classes share a colour)."""
    if count > LEGEND_CLASSES:
        cmap = plt.get_cmap("turbo")
        return [cmap(i / (count - 1)) for i in range(count)]
    cmap = plt.get_cmap("tab10" if count <= 10 else "tab20")
    return [cmap(i % cmap.N) for i in range(max(count, 1))]


def class_colour_map(count: int):
    """The colours of :func:`class_colours` as a colour map and a norm that maps class ``i`` to its colour
    (for ``contourf``, ``scatter(c=labels)`` and :func:`class_colour_bar`)."""
    from matplotlib.colors import BoundaryNorm, ListedColormap

    return ListedColormap(class_colours(count)), BoundaryNorm(np.arange(count + 1) - 0.5, count)


def class_colour_bar(fig, ax, names: Sequence[str], label: str = "class"):
    """A colour bar beside ``ax`` naming the ``names`` in the colours of :func:`class_colours` (for more
    than :data:`LEGEND_CLASSES` classes), its tick labels sized and thinned by :func:`class_ticks`."""
    k = len(names)
    cmap, norm = class_colour_map(k)
    bar = fig.colorbar(plt.cm.ScalarMappable(norm=norm, cmap=cmap), ax=ax, fraction=0.05, pad=0.02)
    size, step = class_ticks(k, ax.get_position().height * fig.get_figheight())
    shown = list(range(0, k, step))
    bar.set_ticks(shown, labels=[short_label(str(names[i])) for i in shown], fontsize=size)
    bar.set_label(label + ("" if step == 1 else f" (every {step}th named)"))
    return bar
