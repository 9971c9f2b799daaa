"""GNN layer throughput: forward + backward time of deepzoo's ``MessagePassingLayer`` against the PyTorch
Geometric layers a user would otherwise take, computing the same function where one exists.

=====================  ==========================================  =========================================
case                   deepzoo                                     PyG
=====================  ==========================================  =========================================
sum                    σ-free W1·h_i + b + Σ_j W2·h_j              GraphConv(aggr="sum") (same function)
mean                   W1·h_i + b + mean_j W2·h_j                  GraphConv(aggr="mean") (same function)
mean (SAGE)            as above                                    SAGEConv(aggr="mean") (same function)
max                    W1·h_i + b + max_j W2·h_j (F, then max)     GraphConv(aggr="max"): W2·max_j h_j
max (concat update)    K([h_i, max_j h_j]), F = H = identity       GraphConv(aggr="max") (same function)
=====================  ==========================================  =========================================

Every layer maps 128 → 128 features with no activation. The input requires a gradient (a layer inside
a stack; ``--no-input-grad`` for a first layer). Each repeat times one forward + backward of every
layer, the two layers of a case back to back (in alternating order), so a busy neighbour slows both
alike; the table gives the median times and the median of the per-repeat ratios.

Run: ``python benchmarks/gnn_throughput.py`` — on CPU 100k nodes / 1M random edges, on CUDA (when
available) 1M nodes / 10M edges; ``--nodes/--edges/--device`` override.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time
from collections.abc import Callable

import torch
from torch import nn
from torch_geometric.nn import GraphConv, SAGEConv

from deepzoo.models.gnn import MessagePassingLayer

SIZES = {"cpu": (100_000, 1_000_000), "cuda": (1_000_000, 10_000_000)}


def cases(width: int) -> list[tuple[str, Callable[[], nn.Module], Callable[[], nn.Module]]]:
    """(name, deepzoo layer, PyG layer) factories."""
    def mp(**kw) -> Callable[[], nn.Module]:
        return lambda: MessagePassingLayer(width, width, act=None, **kw)

    concat_max = mp(aggr="max", message="identity", root="identity", update="concat")
    return [
        ("sum", mp(aggr="sum"), lambda: GraphConv(width, width, aggr="sum")),
        ("mean", mp(aggr="mean"), lambda: GraphConv(width, width, aggr="mean")),
        ("mean (SAGE)", mp(aggr="mean"), lambda: SAGEConv(width, width, aggr="mean")),
        ("max", mp(aggr="max"), lambda: GraphConv(width, width, aggr="max")),
        ("max (concat update)", concat_max, lambda: GraphConv(width, width, aggr="max")),
    ]


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def step_time(layer: nn.Module, x: torch.Tensor, edge_index: torch.Tensor, grad: torch.Tensor) -> float:
    """Seconds of one forward + backward (``out.backward(grad)``)."""
    for p in layer.parameters():
        p.grad = None
    x.grad = None
    _sync(x.device)
    start = time.perf_counter()
    layer(x, edge_index).backward(grad)
    _sync(x.device)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--nodes", type=int)
    parser.add_argument("--edges", type=int)
    parser.add_argument("--features", type=int, default=128)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--no-input-grad", action="store_true",
                        help="time a first layer (x needs no gradient)")
    args = parser.parse_args()
    device = torch.device(args.device)
    default_nodes, default_edges = SIZES[device.type]
    nodes, edges = args.nodes or default_nodes, args.edges or default_edges

    gen = torch.Generator().manual_seed(0)
    x = torch.randn(nodes, args.features, generator=gen).to(device).requires_grad_(not args.no_input_grad)
    edge_index = torch.randint(nodes, (2, edges), generator=gen).to(device)
    grad = torch.randn(nodes, args.features, generator=gen).to(device)
    torch.manual_seed(0)
    layers = [(name, ours().to(device), theirs().to(device)) for name, ours, theirs in cases(args.features)]

    times: dict[str, list[tuple[float, float]]] = {name: [] for name, _, _ in layers}
    for repeat in range(args.warmup + args.repeats):
        for name, ours, theirs in layers:
            if repeat % 2:
                theirs_s, ours_s = step_time(theirs, x, edge_index, grad), step_time(ours, x, edge_index, grad)
            else:
                ours_s, theirs_s = step_time(ours, x, edge_index, grad), step_time(theirs, x, edge_index, grad)
            if repeat >= args.warmup:
                times[name].append((ours_s, theirs_s))

    where = torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or "cpu"
    print(f"{nodes:,} nodes, {edges:,} edges, {args.features} features, forward + backward, "
          f"median of {args.repeats} ({where}, torch {torch.__version__}, {torch.get_num_threads()} threads)")
    print(f"{'case':<22}{'deepzoo ms':>12}{'PyG layer':>18}{'PyG ms':>10}{'ratio':>8}")
    for name, _, theirs in layers:
        ours_ms = statistics.median(o for o, _ in times[name]) * 1e3
        theirs_ms = statistics.median(t for _, t in times[name]) * 1e3
        ratio = statistics.median(o / t for o, t in times[name])
        print(f"{name:<22}{ours_ms:>12.1f}{type(theirs).__name__ + '(' + theirs.aggr + ')':>18}"
              f"{theirs_ms:>10.1f}{ratio:>8.2f}")


if __name__ == "__main__":
    main()
