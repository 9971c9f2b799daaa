"""Pretext tasks as batched tensor operations: rotations, jigsaw puzzles and relative patch positions.

Each builder takes a batch of images (N, C, H, W) or signals (N, C, L) and a ``torch.Generator`` on the
batch's device, and returns the network's inputs with their pretext labels. Patches are cut for the
whole batch with one advanced-indexing gather (:func:`extract_patches`); inputs smaller than a task's
layout are first upsampled (:func:`fit_size`) — 8×8 digits cannot hold a 3×3 grid of tiles with gaps.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from ..errors import ConfigError

# Doersch et al. 2015, Fig. 2: the eight neighbours of the centre patch in reading order (labels 0–7).
NEIGHBOURS_2D = ((-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0), (1, 1))
# For signals the centre segment has two neighbours: before (label 0) and after (label 1).
NEIGHBOURS_1D = ((-1,), (1,))


# -- shared geometry --------------------------------------------------------------------------------
def _randint(low: int, high: int, shape: tuple[int, ...], generator, device) -> Tensor:
    """Integers uniform in [low, high] (inclusive) from ``generator``, drawn on ``device``."""
    return low + (torch.rand(shape, generator=generator, device=device) * (high - low + 1)).long()


def _random_origin(x: Tensor, side: int, generator) -> Tensor:
    """A random top-left corner (N, D) of a square region of ``side`` inside every input of ``x``."""
    return torch.stack([_randint(0, size - side, (x.shape[0],), generator, x.device) for size in x.shape[2:]], 1)


def fitted_size(sides: tuple[int, ...], size: int) -> tuple[int, ...]:
    """The spatial size ``sides`` scaled up, keeping the aspect ratio, so that the smallest is at least
    ``size`` (unchanged when it already is)."""
    if min(sides) >= size:
        return tuple(sides)
    factor = size / min(sides)
    return tuple(max(size, round(s * factor)) for s in sides)


def fit_size(x: Tensor, size: int) -> Tensor:
    """``x`` upsampled (bilinear, or linear for signals) to :func:`fitted_size`."""
    target = fitted_size(tuple(x.shape[2:]), size)
    if target == tuple(x.shape[2:]):
        return x
    return F.interpolate(x, size=target, mode="bilinear" if len(target) == 2 else "linear", align_corners=False)


def extract_patches(x: Tensor, starts: Tensor, size: int) -> Tensor:
    """Square patches (segments for signals) of side ``size`` at integer ``starts`` (N, T, D), one per
    (sample, patch) pair: returns (N, T, C, size[, size]). Starts must keep the patches inside ``x``."""
    n = torch.arange(x.shape[0], device=x.device)
    offsets = torch.arange(size, device=x.device)
    if x.dim() == 3:
        index = starts[..., 0, None] + offsets  # (N, T, size)
        return x[n[:, None, None], :, index].movedim(-1, 2)
    rows = starts[..., 0, None] + offsets
    cols = starts[..., 1, None] + offsets
    patches = x[n[:, None, None, None], :, rows[..., :, None], cols[..., None, :]]  # (N, T, size, size, C)
    return patches.movedim(-1, 2)


def grid_cells(grid: int, dims: int, device) -> Tensor:
    """Cell indices (grid**dims, dims) of a grid in reading order (row-major), made on ``device``."""
    index = torch.arange(grid**dims, device=device)
    return torch.stack([(index // grid ** (dims - 1 - axis)) % grid for axis in range(dims)], dim=1)


def _check_layout(x: Tensor, task: str) -> None:
    if x.dim() not in (3, 4):
        raise ConfigError(f"{task} needs images (N, C, H, W) or signals (N, C, L), got a batch shaped {tuple(x.shape)}")


# -- rotation (Gidaris et al. 2018) --------------------------------------------------------------------
def rotation_batch(x: Tensor) -> tuple[Tensor, Tensor]:
    """All four rotations of every image in one batch: (4N, C, H, W) and labels k for k·90°.

    Gidaris, Singh & Komodakis 2018 (§2.2) rotate by 0°, 90°, 180° and 270° and put the four copies of
    an image in the same batch. The course blog's set 0/90/270/360 is wrong: 360° equals 0°, so two
    classes would be identical and 180° would be missing. Rotation k turns counter-clockwise by k·90°
    (``torch.rot90(x, k, dims=(-2, -1))``); the images must be square.

    Signals (N, C, L) have no rotations by 90°; their analogue (not in the paper) is the four symmetries
    of a curve drawn in the (time, value) plane: 0 identity, 1 time reversal, 2 a half turn (reversal
    and negation), 3 negation.
    """
    _check_layout(x, "rotation")
    n = x.shape[0]
    if x.dim() == 4:
        if x.shape[-1] != x.shape[-2]:
            raise ConfigError(f"rotation needs square images, got {x.shape[-2]}×{x.shape[-1]}")
        views = [torch.rot90(x, k, dims=(-2, -1)) for k in range(4)]
    else:
        reversed_ = x.flip(-1)
        views = [x, reversed_, -reversed_, -x]
    labels = torch.arange(4, device=x.device).repeat_interleave(n)
    return torch.cat(views), labels


# -- jigsaw (Noroozi & Favaro 2016) ----------------------------------------------------------------------
def _all_permutations(size: int) -> np.ndarray:
    """Every permutation of ``range(size)`` (size!, size), built by inserting k at each position of the
    permutations of range(k) — vectorised, unlike a Python loop over ``itertools.permutations``."""
    perms = np.zeros((1, 0), dtype=np.int8)
    for k in range(size):
        perms = np.concatenate([np.insert(perms, j, k, axis=1) for j in range(k + 1)])
    return perms


@functools.lru_cache(maxsize=8)
def _greedy_permutations(count: int, seed: int, size: int) -> np.ndarray:
    every = _all_permutations(size)
    if not 1 <= count <= len(every):
        raise ConfigError(f"jigsaw: permutations must be between 1 and {len(every)} ({size}!), got {count}")
    order = np.random.default_rng(seed).permutation(len(every))
    candidates = np.ascontiguousarray(every[order].T)  # (size, size!): one row per position

    def distances(j: int) -> np.ndarray:  # Hamming distance of every candidate to candidate j
        d = np.zeros(candidates.shape[1], dtype=np.int32)
        for position in range(size):
            d += candidates[position] != candidates[position, j]
        return d

    chosen = [0]
    nearest = distances(0)  # distance to the closest chosen permutation
    total = nearest.copy()
    weight = size * count + 1  # ranks by the nearest distance first, then by the total distance
    for _ in range(count - 1):
        best = int(np.argmax(nearest * weight + total))
        chosen.append(best)
        d = distances(best)
        np.minimum(nearest, d, out=nearest)
        total += d
    return candidates[:, chosen].T.astype(np.int64)


def hamming_permutations(count: int, seed: int = 0, size: int = 9) -> Tensor:
    """``count`` permutations of ``size`` tiles (count, size) chosen greedily for large Hamming distance.

    Noroozi & Favaro 2016 (§3.3, Algorithm 1 of the supplement) pick the permutation set greedily from
    all 9! permutations so that its members are far apart, which makes the task neither ambiguous nor
    trivial. Here: the first candidate of a seeded shuffle of all permutations, then repeatedly the one
    whose *smallest* distance to the chosen set is largest (ties: largest total distance, then the first
    in the shuffled order). The set is reproducible from ``seed``, and the sets are nested: the first k
    of a larger set are the set of k. With seed 0 the smallest pairwise distance is 9 (every tile moves)
    for up to 9 permutations, 8 up to 19, 7 up to 82, 6 up to 335 (the default 100: 6) and 5 up to 1000.
    """
    return torch.from_numpy(_greedy_permutations(int(count), int(seed), int(size)).copy())


def min_hamming_distance(permutations: Tensor) -> int:
    """The smallest number of differing positions between two members of a permutation set."""
    distances = (permutations[:, None, :] != permutations[None, :, :]).sum(-1)
    distances.fill_diagonal_(permutations.shape[1] + 1)
    return int(distances.min())


@dataclass(frozen=True)
class JigsawLayout:
    """A grid of ``grid`` cells per axis (3 × 3 for images, 9 in a row for signals), cells of side
    ``cell`` and tiles of side ``tile`` placed at a random offset inside their cell (gap and jitter)."""

    grid: int
    cell: int
    tile: int

    @property
    def side(self) -> int:
        return self.grid * self.cell


def jigsaw_layout(spatial: tuple[int, ...], grid: int | None = None, min_cell: int = 10,
                  tile_fraction: float = 0.85) -> JigsawLayout:
    """The layout for inputs of ``spatial`` size: cells as large as the input allows but at least
    ``min_cell`` (smaller inputs are upsampled), tiles ``tile_fraction`` of a cell — the paper's 64-pixel
    tiles in 75-pixel cells (§3.2), leaving on average a 11-pixel gap."""
    grid = grid or (3 if len(spatial) == 2 else 9)
    cell = max(min(spatial) // grid, min_cell)
    tile = min(cell, max(1, round(tile_fraction * cell)))
    return JigsawLayout(grid, cell, tile)


def jigsaw_batch(x: Tensor, permutations: Tensor, layout: JigsawLayout, generator) -> tuple[Tensor, Tensor]:
    """Shuffled tiles (N, T, C, tile[, tile]) and the index of the permutation used (N,).

    A region of side ``layout.side`` is taken at a random place (after upsampling inputs that are
    smaller), cut into ``grid`` cells per axis, and each tile taken at a uniform offset in its cell.
    Position i of the output holds tile ``permutations[label][i]`` (tiles numbered in reading order).
    """
    _check_layout(x, "jigsaw")
    x = fit_size(x, layout.side)
    n, dims, device = x.shape[0], x.dim() - 2, x.device
    tiles_count = layout.grid**dims
    if permutations.shape[1] != tiles_count:
        raise ConfigError(f"jigsaw: permutations of {permutations.shape[1]} tiles for a grid of {tiles_count}")
    origin = _random_origin(x, layout.side, generator)
    offset = _randint(0, layout.cell - layout.tile, (n, tiles_count, dims), generator, device)
    starts = origin[:, None, :] + grid_cells(layout.grid, dims, device)[None] * layout.cell + offset
    tiles = extract_patches(x, starts, layout.tile)
    labels = _randint(0, len(permutations) - 1, (n,), generator, device)
    order = permutations.to(device)[labels]
    return tiles[torch.arange(n, device=device)[:, None], order], labels


# -- relative patch location (Doersch et al. 2015) -------------------------------------------------------
@dataclass(frozen=True)
class PatchLayout:
    """Patches of side ``patch`` on a 3 × 3 (or 1 × 3) lattice with pitch ``patch + gap``, each moved
    by up to ``jitter`` pixels along every axis."""

    patch: int
    gap: int
    jitter: int

    @property
    def pitch(self) -> int:
        return self.patch + self.gap

    @property
    def side(self) -> int:
        return 3 * self.patch + 2 * self.gap + 2 * self.jitter


def patch_layout(spatial: tuple[int, ...], patch: int | None = None, gap_fraction: float = 0.5,
                 jitter_fraction: float = 0.125, min_patch: int = 8) -> PatchLayout:
    """Doersch et al. (§3): patches with a gap of about half a patch between them and a jitter of up
    to 7 pixels for 96-pixel patches (here ``jitter_fraction`` of the patch side). The patch is the
    largest that fits the input, but at least ``min_patch`` (smaller inputs are upsampled)."""
    if patch is None:
        patch = max(min_patch, int(min(spatial) / (3 + 2 * gap_fraction + 2 * jitter_fraction)))
    return PatchLayout(patch, round(gap_fraction * patch), int(jitter_fraction * patch))


def relative_patch_batch(x: Tensor, layout: PatchLayout, generator) -> tuple[Tensor, Tensor]:
    """Pairs (N, 2, C, patch[, patch]) of a centre patch and one of its neighbours, and the neighbour's
    position (N,): 0–7 in reading order for images (:data:`NEIGHBOURS_2D`), 0/1 (before/after) for
    signals. The lattice sits at a random place in the (upsampled) input; each patch is jittered."""
    _check_layout(x, "relpatch")
    x = fit_size(x, layout.side)
    n, dims, device = x.shape[0], x.dim() - 2, x.device
    neighbours = grid_cells(3, dims, device) - 1  # the 3**D lattice in reading order, the centre at 0
    neighbours = torch.cat([neighbours[: len(neighbours) // 2], neighbours[len(neighbours) // 2 + 1:]])
    centre = _random_origin(x, layout.side, generator) + layout.jitter + layout.pitch
    labels = _randint(0, len(neighbours) - 1, (n,), generator, device)
    nominal = torch.stack([centre, centre + neighbours[labels] * layout.pitch], dim=1)  # (N, 2, D)
    starts = nominal + _randint(-layout.jitter, layout.jitter, (n, 2, dims), generator, device)
    return extract_patches(x, starts, layout.patch), labels


def drop_colour_channels(patches: Tensor, generator, noise_fraction: float = 0.01) -> Tensor:
    """Doersch et al. (§4.1) against chromatic aberration: in each patch keep one colour channel at
    random and replace the others by Gaussian noise with a standard deviation of ``noise_fraction``
    (about 1/100) of the kept channel's. ``patches`` is (N, T, C, ...); one-channel data pass through."""
    channels = patches.shape[2]
    if channels == 1:
        return patches
    n, t = patches.shape[:2]
    keep = _randint(0, channels - 1, (n, t), generator, patches.device)
    kept = patches[torch.arange(n, device=patches.device)[:, None], torch.arange(t, device=patches.device), keep]
    scale = kept.flatten(2).std(-1).view(n, t, 1, *[1] * (patches.dim() - 3))
    noise = torch.randn(patches.shape, generator=generator, device=patches.device, dtype=patches.dtype)
    is_kept = F.one_hot(keep, channels).bool().view(n, t, channels, *[1] * (patches.dim() - 3))
    return torch.where(is_kept, patches, noise * noise_fraction * scale)
