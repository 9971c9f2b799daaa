"""Self-supervised learning pieces: NT-Xent, LARS, the pretext builders and the frozen-encoder evaluation."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from deepzoo.engine.lars import LARS, TRUST_COEFFICIENT
from deepzoo.errors import ConfigError
from deepzoo.ssl.evaluation import extract_features, knn_predict, linear_probe
from deepzoo.ssl.exemplar import choose_seeds
from deepzoo.ssl.losses import nt_xent_loss, positive_pair_accuracy
from deepzoo.ssl.pretext import (
    NEIGHBOURS_1D,
    NEIGHBOURS_2D,
    JigsawLayout,
    PatchLayout,
    drop_colour_channels,
    hamming_permutations,
    jigsaw_batch,
    relative_patch_batch,
    rotation_batch,
)


def _gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


# -- NT-Xent -------------------------------------------------------------------------------------------
def _nt_xent_by_loops(z1: torch.Tensor, z2: torch.Tensor, tau: float, include_self: bool = False) -> float:
    """SimCLR Eq. 1 written out: every ordered positive pair, denominators over k ≠ i."""
    z = [v.tolist() for v in torch.cat([z1, z2]).double()]
    n = len(z1)

    def cos(a, b):
        dot = sum(x * y for x, y in zip(a, b))
        return dot / (math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b)))

    total = 0.0
    for i in range(2 * n):
        j = (i + n) % (2 * n)
        denominator = sum(math.exp(cos(z[i], z[k]) / tau) for k in range(2 * n) if include_self or k != i)
        total += -math.log(math.exp(cos(z[i], z[j]) / tau) / denominator)
    return total / (2 * n)


def test_nt_xent_equals_the_explicit_sum_with_temperature_and_self_masking():
    g = _gen(1)
    z1, z2 = torch.randn(5, 7, generator=g), torch.randn(5, 7, generator=g)
    for tau in (0.5, 0.1):
        assert float(nt_xent_loss(z1, z2, tau)) == pytest.approx(_nt_xent_by_loops(z1, z2, tau), rel=1e-5)
    # the self-similarity term must be left out: including it gives a different (larger) value
    assert float(nt_xent_loss(z1, z2, 0.5)) < _nt_xent_by_loops(z1, z2, 0.5, include_self=True) - 1e-3


def test_nt_xent_of_one_pair_is_zero_and_identical_views_pick_their_positive():
    z = torch.randn(1, 4, generator=_gen(2))
    assert float(nt_xent_loss(z, z * 3.0)) == pytest.approx(0.0, abs=1e-6)  # the positive is the only other view
    z = torch.randn(16, 8, generator=_gen(3))
    assert float(positive_pair_accuracy(z, z.clone())) == 1.0
    shuffled = z[torch.roll(torch.arange(16), 1)]
    assert float(positive_pair_accuracy(z, shuffled)) < 0.2
    assert float(nt_xent_loss(z, z.clone())) < float(nt_xent_loss(z, shuffled))


# -- LARS ------------------------------------------------------------------------------------------------
def test_lars_scales_weights_by_the_trust_ratio_and_leaves_biases_plain():
    layer = nn.Linear(3, 2)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([[1.0, 2.0, 0.0], [0.0, -1.0, 2.0]]))
        layer.bias.copy_(torch.tensor([0.5, -0.5]))
    w0, b0 = layer.weight.detach().clone(), layer.bias.detach().clone()
    layer.weight.grad = torch.tensor([[0.1, 0.0, -0.2], [0.3, 0.1, 0.0]])
    layer.bias.grad = torch.tensor([0.4, -0.2])
    lr, decay = 0.5, 0.01
    LARS(layer.parameters(), lr=lr, momentum=0.9, weight_decay=decay).step()
    g = layer.weight.grad + decay * w0
    ratio = TRUST_COEFFICIENT * w0.norm() / g.norm()
    assert torch.allclose(layer.weight, w0 - lr * ratio * g, atol=1e-7)
    assert torch.allclose(layer.bias, b0 - lr * layer.bias.grad, atol=1e-7)  # no decay, no adaptation


def test_lars_is_registered_as_an_optimizer():
    from deepzoo.engine.optim import OPTIMIZERS, build_optimizer
    from deepzoo.recipes import list_tasks

    assert {"simclr", "rotation", "jigsaw", "relpatch", "exemplar"} <= set(list_tasks())
    from deepzoo.config import OptimConfig

    opt = build_optimizer(nn.Linear(2, 2), OptimConfig(name="lars", lr=0.1))
    assert "lars" in OPTIMIZERS and isinstance(opt, LARS)


# -- rotation --------------------------------------------------------------------------------------------
def test_rotation_labels_match_torch_rot90():
    x = torch.randn(3, 2, 5, 5, generator=_gen(4))
    rotated, labels = rotation_batch(x)
    assert labels.tolist() == [0] * 3 + [1] * 3 + [2] * 3 + [3] * 3
    for j in range(12):
        assert torch.equal(rotated[j], torch.rot90(x[j % 3], int(labels[j]), dims=(-2, -1)))
    assert not torch.equal(rotated[0], rotated[6])  # 0° and 180° differ (the blog's 360° would not)


def test_rotation_of_signals_uses_the_four_curve_symmetries():
    x = torch.randn(2, 1, 6, generator=_gen(5))
    rotated, labels = rotation_batch(x)
    expected = [x, x.flip(-1), -x.flip(-1), -x]
    for k in range(4):
        assert torch.equal(rotated[labels == k], expected[k])


def test_rotation_refuses_non_square_images():
    with pytest.raises(ConfigError, match="square"):
        rotation_batch(torch.zeros(1, 1, 4, 6))


# -- jigsaw ------------------------------------------------------------------------------------------------
def _min_distance_by_loops(perms: list[list[int]]) -> int:
    return min(sum(a != b for a, b in zip(p, q)) for i, p in enumerate(perms) for q in perms[i + 1:])


def test_jigsaw_permutations_have_the_stated_minimal_hamming_distance_and_follow_their_seed():
    perms = hamming_permutations(100, seed=0)
    rows = perms.tolist()
    assert perms.shape == (100, 9) and all(sorted(r) == list(range(9)) for r in rows)
    assert len({tuple(r) for r in rows}) == 100
    assert _min_distance_by_loops(rows) == 6  # the docstring's figure for 100 permutations, seed 0
    assert _min_distance_by_loops(hamming_permutations(10, seed=0).tolist()) == 8
    assert torch.equal(hamming_permutations(100, seed=0), perms)  # reproducible
    assert torch.equal(hamming_permutations(30, seed=0), perms[:30])  # nested
    assert not torch.equal(hamming_permutations(100, seed=1), perms)


def _coordinates(*sizes: int) -> torch.Tensor:
    """A batch of 3 inputs whose channel d holds each position's coordinate along axis d."""
    grids = torch.meshgrid(*[torch.arange(s, dtype=torch.float32) for s in sizes], indexing="ij")
    return torch.stack(grids)[None].repeat(3, 1, *[1] * len(sizes))


def test_jigsaw_tiles_follow_the_permutation_of_their_label():
    layout = JigsawLayout(grid=3, cell=10, tile=8)
    perms = hamming_permutations(20)
    tiles, labels = jigsaw_batch(_coordinates(30, 30), perms, layout, _gen(6))
    assert tiles.shape == (3, 9, 2, 8, 8)
    for n in range(3):
        for position in range(9):
            tile = tiles[n, position]
            row, col = int(tile[0, 0, 0]), int(tile[1, 0, 0])
            source = int(perms[labels[n], position])
            assert (row // 10, col // 10) == divmod(source, 3)  # the tile comes from that cell
            assert torch.equal(tile[0, :, 0], torch.arange(row, row + 8, dtype=torch.float32))  # contiguous


def test_jigsaw_on_signals_cuts_nine_segments():
    layout = JigsawLayout(grid=9, cell=5, tile=4)
    perms = hamming_permutations(10)
    tiles, labels = jigsaw_batch(_coordinates(45), perms, layout, _gen(7))
    starts = tiles[:, :, 0, 0].long()
    assert torch.equal(starts // 5, perms[labels])


# -- relative patch --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("jitter", [0, 1])
def test_relative_patch_labels_match_the_neighbour_positions(jitter):
    layout = PatchLayout(patch=8, gap=4, jitter=jitter)
    x = _coordinates(layout.side, layout.side)
    for seed in range(4):
        pairs, labels = relative_patch_batch(x, layout, _gen(seed))
        start = pairs[:, :, :, 0, 0].long()  # (N, 2 patches, 2 axes): top-left coordinates
        offset = start[:, 1] - start[:, 0]
        expected = torch.tensor(NEIGHBOURS_2D)[labels] * layout.pitch
        assert (offset - expected).abs().max() <= 2 * jitter
        centre_nominal = layout.jitter + layout.pitch
        assert (start[:, 0] - centre_nominal).abs().max() <= jitter


def test_relative_patch_on_signals_has_two_positions():
    layout = PatchLayout(patch=6, gap=3, jitter=0)
    pairs, labels = relative_patch_batch(_coordinates(layout.side), layout, _gen(8))
    offset = pairs[:, 1, 0, 0] - pairs[:, 0, 0, 0]
    assert torch.equal(offset.long(), torch.tensor(NEIGHBOURS_1D)[labels][:, 0] * layout.pitch)


def test_channel_dropping_keeps_one_colour_channel_and_fills_the_others_with_faint_noise():
    patches = torch.rand(4, 2, 3, 6, 6, generator=_gen(9))
    dropped = drop_colour_channels(patches, _gen(10))
    for n in range(4):
        for t in range(2):
            same = [torch.equal(dropped[n, t, c], patches[n, t, c]) for c in range(3)]
            assert sum(same) == 1
            kept = patches[n, t, same.index(True)].std()
            for c in range(3):
                if not same[c]:
                    assert dropped[n, t, c].std() < 0.03 * kept


# -- exemplar ----------------------------------------------------------------------------------------------------
def test_exemplar_seeds_come_from_high_gradient_regions():
    x = torch.zeros(20, 1, 16, 16)
    x[:, :, 10:, 10:] = (torch.arange(6)[:, None] + torch.arange(6)[None]) % 2  # a checkerboard corner
    images, centres = choose_seeds(x, 12, 6, _gen(11))
    assert len(set(images.tolist())) == 12
    # every window with gradient energy overlaps the corner: its top-left is >= 4, its centre >= 7
    assert bool((centres >= 7).all())


# -- evaluation -----------------------------------------------------------------------------------------------------
def test_knn_weighted_vote_follows_the_temperature():
    bank = torch.tensor([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0]])
    labels = torch.tensor([0, 0, 1])
    query = torch.tensor([[0.1, 1.0]])
    # cosines 0.10, 0.21, 0.995: at t = 0.1 the weight e^9.95 of the single class-1 neighbour wins ...
    assert knn_predict(bank, labels, query, 2, k=3, temperature=0.1).tolist() == [1]
    # ... at t = 10 the weights are nearly equal and the two class-0 neighbours outvote it
    assert knn_predict(bank, labels, query, 2, k=3, temperature=10.0).tolist() == [0]
    assert knn_predict(bank, labels, query, 2, k=1, temperature=10.0).tolist() == [1]


def test_linear_probe_separates_separable_classes():
    g = _gen(12)
    y = torch.arange(200) % 2
    x = torch.randn(200, 5, generator=g) + 4.0 * y[:, None].float()
    result = linear_probe((x[:100], y[:100]), (x[100:150], y[100:150]), (x[150:], y[150:]), 2, steps=100)
    assert result["train"] == result["valid"] == result["test"] == 1.0
    assert result["weight_decay"] in (0.0, 1e-4, 1e-3, 1e-2)


def test_feature_extraction_uses_batch_norm_statistics_and_changes_nothing():
    net = nn.Sequential(nn.Linear(4, 6), nn.BatchNorm1d(6), nn.ReLU())
    net.train()
    with torch.no_grad():
        net[1].running_mean.fill_(0.3)
    before = {k: v.clone() for k, v in net.state_dict().items()}
    x = torch.randn(32, 4, generator=_gen(13))
    features = extract_features(net, net, x, batch_size=8)
    net.eval()
    assert torch.equal(features, net(x))  # eval-mode batch norm: running statistics, not the batch's
    net.train()
    assert all(torch.equal(before[k], v) for k, v in net.state_dict().items())
    assert net.training and net[1].training and all(p.requires_grad for p in net.parameters())
