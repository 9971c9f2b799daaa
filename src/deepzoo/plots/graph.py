"""Plots of a graph run: node (or graph) embeddings in 2-D coloured by class, and the graph drawn with
its predicted labels (networkx + matplotlib). The metric curves are the engine's ``plots/curves.png``."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from .classes import LEGEND_CLASSES, class_colour_bar, class_colours, short_label
from .common import plt, save_figure

EMBEDDINGS = ("pca", "tsne")


def to_2d(points: np.ndarray, method: str = "pca", seed: int = 0) -> tuple[np.ndarray, str]:
    """``points`` (N, D) in two dimensions: PCA (deterministic, fast) or t-SNE (van der Maaten &
    Hinton 2008; neighbourhoods kept, distances between clusters not). Returns the points and axis name."""
    points = np.asarray(points, dtype=np.float64)
    if points.shape[1] <= 2:
        out = np.zeros((len(points), 2))
        out[:, : points.shape[1]] = points
        return out, "feature"
    if method == "tsne" and len(points) > 3:
        from sklearn.manifold import TSNE

        perplexity = float(min(30.0, (len(points) - 1) / 3))
        return TSNE(2, perplexity=perplexity, init="pca", random_state=seed).fit_transform(points), "t-SNE"
    from sklearn.decomposition import PCA

    return PCA(2, random_state=seed).fit_transform(points), "PC"


def embedding_plot(points: np.ndarray, labels: np.ndarray | None, class_names: Sequence[str], path: Path,
                   title: str, marked: np.ndarray | None = None, marked_name: str = "training",
                   method: str = "pca", seed: int = 0) -> Path:
    """A scatter of ``points`` reduced to 2-D, coloured by ``labels`` (−1: unlabelled, grey); the
    ``marked`` items (training nodes, say) drawn larger with a black edge. The classes are named in the
    legend up to ``LEGEND_CLASSES``, on a colour bar beyond."""
    xy, axis = to_2d(points, method, seed)
    fig, ax = plt.subplots(figsize=(5.2, 4.6))
    labels = np.full(len(xy), -1) if labels is None else np.asarray(labels)
    count = max(len(class_names), int(labels.max(initial=-1)) + 1)
    colours, many = class_colours(count), count > LEGEND_CLASSES
    for k in sorted(set(labels.tolist())):
        sel = labels == k
        name = "no label" if k < 0 else short_label(class_names[k]) if k < len(class_names) else f"class {k}"
        colour = colours[k] if k >= 0 else (0.6, 0.6, 0.6, 1.0)
        ax.scatter(xy[sel, 0], xy[sel, 1], s=22, color=colour, label=name if k < 0 or not many else None,
                   alpha=0.85, linewidths=0)
    if marked is not None and marked.any():
        ax.scatter(xy[marked, 0], xy[marked, 1], s=70, facecolors="none", edgecolors="black", linewidths=1.2,
                   label=marked_name)
    ax.set_xlabel(f"{axis} 1")
    ax.set_ylabel(f"{axis} 2")
    ax.set_title(title, fontsize=10)
    if many:
        class_colour_bar(fig, ax, list(class_names) or [f"class {k}" for k in range(count)])
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=7, markerscale=1.2, loc="best")
    return save_figure(fig, path)


def _layout(edge_index: torch.Tensor, num_nodes: int, seed: int):
    import networkx as nx

    graph = nx.Graph()
    graph.add_nodes_from(range(num_nodes))
    graph.add_edges_from((a, b) for a, b in edge_index.t().tolist() if a != b)
    return graph, nx.spring_layout(graph, seed=seed)


def draw_node_predictions(edge_index: torch.Tensor, num_nodes: int, predicted: np.ndarray, true: np.ndarray,
                          train: np.ndarray, class_names: Sequence[str], path: Path, title: str,
                          seed: int = 0, node_names: Sequence[str] | None = None) -> Path:
    """The graph (spring layout) with each node filled in its predicted class; a red ring marks a wrong
    prediction of a labelled node, a square a training node. Up to 60 nodes are labelled with
    ``node_names`` (the ids in the user's file), else with their index."""
    import networkx as nx

    graph, pos = _layout(edge_index, num_nodes, seed)
    colours = class_colours(len(class_names))
    fig, ax = plt.subplots(figsize=(6.4, 5.4))
    nx.draw_networkx_edges(graph, pos, ax=ax, alpha=0.25, width=0.6)
    size = 60 if num_nodes <= 100 else 18
    wrong = (true >= 0) & (predicted != true)
    for shape, sel in (("o", ~train), ("s", train)):
        nodes = np.flatnonzero(sel).tolist()
        if not nodes:
            continue
        nx.draw_networkx_nodes(graph, pos, nodelist=nodes, node_shape=shape, ax=ax,
                               node_size=size * (1.6 if shape == "s" else 1),
                               node_color=[colours[int(predicted[n])] for n in nodes],
                               edgecolors=["red" if wrong[n] else "black" for n in nodes],
                               linewidths=[2.0 if wrong[n] else 0.4 for n in nodes])
    if num_nodes <= 60:
        names = {n: str(node_names[n]) for n in graph.nodes} if node_names else None
        nx.draw_networkx_labels(graph, pos, labels=names, ax=ax, font_size=6,
                                bbox={"boxstyle": "round,pad=0.1", "fc": "white", "alpha": 0.7, "lw": 0})
    many = len(class_names) > LEGEND_CLASSES
    handles = [] if many else [plt.Line2D([], [], marker="o", ls="", color=colours[k],
                                          label=f"predicted {short_label(name)}") for k, name in enumerate(class_names)]
    if many:
        class_colour_bar(fig, ax, class_names, "predicted class")
    handles += [plt.Line2D([], [], marker="o", ls="", mfc="white", mec="red", mew=2, label="wrong"),
                plt.Line2D([], [], marker="s", ls="", mfc="white", mec="black", label="training node")]
    ax.legend(handles=handles, fontsize=7, loc="best")
    ax.set_title(title, fontsize=10)
    ax.set_axis_off()
    return save_figure(fig, path)


def draw_link_predictions(edge_index: torch.Tensor, num_nodes: int, pairs: torch.Tensor, labels: np.ndarray,
                          predicted: np.ndarray, path: Path, title: str, seed: int = 0) -> Path:
    """The message-passing graph in grey and the scored test pairs: edges found (green), edges missed
    (orange, dashed) and non-edges predicted as edges (red, dotted)."""
    import networkx as nx

    graph, pos = _layout(edge_index, num_nodes, seed)
    fig, ax = plt.subplots(figsize=(6.4, 5.4))
    nx.draw_networkx_edges(graph, pos, ax=ax, alpha=0.15, width=0.5)
    nx.draw_networkx_nodes(graph, pos, ax=ax, node_size=12 if num_nodes > 100 else 40, node_color="0.35")
    pairs_list = [tuple(p) for p in pairs.t().tolist()]
    kinds = (("edge found", (labels == 1) & (predicted == 1), "tab:green", "solid"),
             ("edge missed", (labels == 1) & (predicted == 0), "tab:orange", "dashed"),
             ("false edge", (labels == 0) & (predicted == 1), "tab:red", "dotted"))
    for name, sel, colour, style in kinds:
        chosen = [pairs_list[i] for i in np.flatnonzero(sel)]
        if chosen:
            nx.draw_networkx_edges(nx.Graph(chosen), pos, ax=ax, edgelist=chosen, edge_color=colour,
                                   style=style, width=1.2, alpha=0.9, label=f"{name} ({len(chosen)})")
    ax.legend(fontsize=7, loc="best")
    ax.set_title(title, fontsize=10)
    ax.set_axis_off()
    return save_figure(fig, path)


def draw_graph_predictions(graphs: Sequence, predicted: Sequence[int], class_names: Sequence[str], path: Path,
                           count: int = 12, seed: int = 0) -> Path:
    """The first ``count`` graphs, each titled with its predicted and true class (red when wrong)."""
    import networkx as nx

    shown = list(range(min(count, len(graphs))))
    cols = min(4, len(shown)) or 1
    rows = (len(shown) + cols - 1) // cols or 1
    fig, axes = plt.subplots(rows, cols, figsize=(2.6 * cols, 2.5 * rows), squeeze=False)
    for ax in axes.flat:
        ax.set_axis_off()
    for ax, i in zip(axes.flat, shown):
        g = graphs[i]
        graph, pos = _layout(g.edge_index.cpu(), g.num_nodes, seed)
        nx.draw_networkx(graph, pos, ax=ax, node_size=30, with_labels=False, width=0.8, node_color="0.3")
        truth, guess = int(g.y.view(-1)[0]), int(predicted[i])
        ax.set_title(f"predicted {class_names[guess]}\n(true {class_names[truth]})", fontsize=8,
                     color="black" if guess == truth else "red")
    return save_figure(fig, path)
