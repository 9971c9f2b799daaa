"""Graph learning with the graph networks of :mod:`deepzoo.models.gnn`: tasks ``node``, ``link`` and
``graph`` (the data layout of each is described in :mod:`deepzoo.data.graphs`).

- **node** — semi-supervised node classification (or regression) on one graph, full-batch: every step
  runs the network over the whole graph and the loss reads only the training-mask nodes (Kipf &
  Welling 2017, eq. 10: the cross-entropy over the labelled set Y_L). Metrics on the valid/test masks:
  accuracy, macro-F1, AUROC and the loss.
- **link** — an encoder of node embeddings over the message-passing edges of each split and a decoder
  that scores node pairs: ``task_args.decoder=dot`` (z_i·z_j, the graph auto-encoder's inner product,
  Kipf & Welling 2016) or ``mlp`` (an MLP of z_i ⊙ z_j). Each epoch draws fresh negatives
  (``torch_geometric.utils.negative_sampling``, ``task_args.neg_ratio`` per positive) among the pairs
  that are not known training edges; validation and test score the split's fixed pairs. Metrics:
  ROC-AUC (``auc``), average precision and the BCE loss. A node dataset with ``--task link`` has its
  edges split for link prediction first (PyG's ``RandomLinkSplit``, seeded by the run's seed).
- **graph** — mini-batches of graphs (``torch_geometric.loader.DataLoader``), a readout (``sum``,
  ``mean`` or ``max``: ``--set model.readout=sum``) and an MLP head; accuracy.

**Task.** Without ``--task`` a graph network does what its data is made for (``sbm`` → node,
``sbm-link`` → link, ``cycles`` → graph).

**Preset** (``task_args.preset=kipf``, the default): Adam, lr 0.01, 200 epochs; for node tasks weight
decay 5e-4 and dropout on the input of every layer (``model.input_dropout`` = ``model.dropout``) —
Kipf & Welling 2017, §5.2 (early stopping with patience 10 on the validation loss is the engine's
default); for link tasks no dropout, as in their graph auto-encoder (Kipf & Welling 2016), and early
stopping on the validation AUC. Settings the user gave are kept (``RunConfig.explicit``) and the run
log lists what was applied; ``task_args.preset=none`` keeps everything as given. When a node dataset has no held-out
validation nodes (karate's valid mask is its two training nodes) early stopping is turned off, since
the validation loss would only measure the fit of the training nodes.

**Baselines**, run in the same command and reported in ``summary.json`` as ``valid/baseline_*`` and
``test/baseline_*`` (``task_args.baselines=false`` turns them off):

- node: an MLP on the node features that ignores the edges (scikit-learn ``MLPClassifier``, one hidden
  layer of 64), and label propagation that ignores the features (the harmonic function of Zhu, Ghahramani
  & Lafferty 2003, networkx's ``harmonic_function``), both from the training-mask labels only;
- link: common neighbours and Adamic–Adar (Adamic & Adar 2003) on the split's message-passing graph,
  their ROC-AUC and average precision on the same pairs;
- graph: an MLP on each graph's size and degree histogram (no message passing).

**Outputs** in ``plots/``: ``embedding.png`` — the last hidden layer (node embeddings, or pooled graph
embeddings) in 2-D (``task_args.embedding=pca|tsne``) coloured by class; ``graph.png`` — the graph
drawn with the predicted labels (node task; for link the test pairs found and missed; for graph a grid
of test graphs), for graphs of at most ``task_args.draw_max_nodes`` (500) nodes; ``curves.png`` — the
engine's metric curves.

:func:`deepzoo.tune.seeds.seed_study` trains one command over several seeds and averages the metrics
(docs/gnn.md).

**Options** (``--set task_args.KEY=VALUE``, declared in ``GraphRecipe.options``): ``preset`` (kipf |
none), ``decoder`` (dot | mlp), ``neg_ratio`` (1), ``embedding`` (pca | tsne), ``draw_max_nodes``
(500), ``baselines`` (true) and ``embedding_dim`` (16, the link encoder's width); node and graph tasks
also take the supervised head's (:data:`deepzoo.recipes.supervised.HEAD_OPTIONS`: ``threshold``,
``label_smoothing``, ``class_weights``, ``loss`` ...). An unknown key fails naming the closest.
"""

from __future__ import annotations

import inspect
import warnings
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F
import torchmetrics.functional.classification as C
from torch import nn

from ..config import RunConfig
from ..data import DataBundle
from ..errors import ConfigError
from ..models import accepted_kwargs, create_model, list_models, model_entry
from ..tasks.heads import TaskHead
from .base import TASKS, Option, Recipe, apply_preset
from .supervised import HEAD_OPTIONS

GRAPH_TASKS = ("node", "link", "graph")
GRAPH_FAMILY = "gnn"
# Kipf & Welling 2017, §5.2: Adam, lr 0.01, weight decay 5e-4 (first layer), 200 epochs, patience 10.
KIPF_PRESET = {"optim.name": "adam", "optim.lr": 0.01, "train.epochs": 200}
NODE_WEIGHT_DECAY = {"optim.weight_decay": 5e-4}
DECODERS = ("dot", "mlp")
EMBEDDINGS = ("pca", "tsne")  # the 2-D maps of plots/embedding.png (deepzoo.report.graph.EMBEDDINGS)
DEGREE_BINS = 10  # degree histogram of the graph baseline: 0 … 9 and "10 or more"


def graph_models() -> list[str]:
    """The registered models of the graph family."""
    return [n for n in list_models() if model_entry(n).meta.get("family") == GRAPH_FAMILY]


class LinkPredictor(nn.Module):
    """An encoder of node embeddings and a decoder that scores node pairs, saved as one model."""

    def __init__(self, encoder: nn.Module, decoder: nn.Module):
        super().__init__()
        self.encoder, self.decoder = encoder, decoder

    def forward(self, x: torch.Tensor, edge_index: torch.Tensor, edge_label_index: torch.Tensor,
                edge_attr: torch.Tensor | None = None) -> torch.Tensor:
        return self.decoder(self.encoder(x, edge_index, edge_attr), edge_label_index)


class GraphRecipe(Recipe):
    """Train a graph network on a node, link or graph task (see the module docstring)."""

    default_monitor = "valid/loss"
    #: the options of every graph task; node and graph tasks add the head's (:meth:`options_for`)
    options: ClassVar[dict[str, Option]] = {
        "preset": Option("kipf", "kipf: Kipf & Welling's training settings (module docstring); none keeps the config",
                         choices=("kipf", "none")),
        "decoder": Option("dot", "link decoder: dot (z_i·z_j) or mlp (an MLP of z_i ⊙ z_j)", choices=DECODERS),
        "neg_ratio": Option(1.0, "negative pairs drawn per positive edge each epoch (link)"),
        "embedding": Option("pca", "how plots/embedding.png maps embeddings to 2-D", choices=EMBEDDINGS),
        "draw_max_nodes": Option(500, "plots/graph.png is drawn for graphs of at most this many nodes"),
        "baselines": Option(True, "train and report the baselines beside the network"),
        "embedding_dim": Option(16, "width of the link encoder's node embeddings"),
    }

    @classmethod
    def options_for(cls, task: str) -> dict[str, Option]:
        """The graph options, and for node and graph tasks the head's (``threshold``, ``loss`` ...)."""
        return cls.options if task == "link" else {**cls.options, **HEAD_OPTIONS}

    def __init__(self, config: RunConfig, data: DataBundle):
        super().__init__(config, data)
        self.task = config.task or data.meta.task
        options = dict(self.args)
        preset = options.pop("preset")
        self.decoder_kind = options.pop("decoder")
        self.neg_ratio = options.pop("neg_ratio")
        self.embedding_method = options.pop("embedding")
        self.draw_max_nodes = options.pop("draw_max_nodes")
        self.with_baselines = options.pop("baselines")
        embedding_dim = options.pop("embedding_dim")
        self.node_class_names = list(data.meta.class_names)
        if data.train is not None:
            self.data = data = self.fit_task(data)
        meta = data.meta
        self.regression = self.task == "node" and meta.extra.get("target_task") == "regression"
        if self.task == "link":
            self.head = None
        else:
            self.head = TaskHead("regression" if self.regression else "multiclass", meta, **options)
        if self.task == "link":
            self.default_monitor = "valid/auc"
        if preset == "kipf":
            settings = {**KIPF_PRESET, **(NODE_WEIGHT_DECAY if self.task == "node" else {})}
            line = apply_preset(config, settings, "Kipf & Welling 2017 §5.2")
            given = []
            for key, value in self.preset_model_args(config).items():
                if key not in config.model.args:
                    config.model.args[key] = value
                    given.append(f"model.{key}={value}")
            self.log_lines.append(line + "".join(f", {item}" for item in given))
        if self.task == "node" and data.train is not None and not config.early_stop.monitor:
            valid = data.valid.mask
            if not valid.any() or torch.equal(valid, data.train.mask):
                config.early_stop.enabled = False
                self.log_lines.append("early stopping: off — no held-out validation nodes (the valid mask is the "
                                      "training mask), so all epochs run")
        self.model = self.build_model(config, meta, embedding_dim)
        self.use_edge_attr = config.model.args.get("edge_dim") is not None
        graph = data.train.graph if data.train is not None and self.task != "graph" else None
        if graph is not None and getattr(graph, "edge_attr", None) is not None and not self.use_edge_attr:
            width = graph.edge_attr.view(graph.edge_attr.size(0), -1).size(1)
            self.log_lines.append(f"edges carry {width} feature(s), unused: --set model.edge_dim={width} "
                                  "(with model.conv=mp) lets the messages read them")
        if data.train is not None:
            self.log_lines.insert(0, self.describe(meta))
        self.train_positive: torch.Tensor | None = None
        self.known_edges: torch.Tensor | None = None

    # -- task and model -----------------------------------------------------------------------------
    def preset_model_args(self, config: RunConfig) -> dict[str, float]:
        """Model settings of the preset, applied where the model takes them and the user did not set
        them: node tasks drop the input of every layer, as Kipf & Welling 2017 do (§5.2: input dropout
        = the layers' dropout); link tasks train without dropout, as their graph auto-encoder does (Kipf &
        Welling 2016)."""
        params = inspect.signature(model_entry(config.model.name).factory).parameters
        if self.task == "node" and "input_dropout" in params and "dropout" in params:
            return {"input_dropout": float(config.model.args.get("dropout", params["dropout"].default))}
        if self.task == "link" and "dropout" in params:
            return {"dropout": 0.0}
        return {}

    def fit_task(self, data: DataBundle) -> DataBundle:
        """The data for this task: as loaded, or a node graph's edges split for link prediction; a
        one-line error where task and data do not fit."""
        meta, task = data.meta, self.task
        names = "karate, sbm, sbm-link, cycles, edgelist:, planetoid:, content:"
        if meta.task not in GRAPH_TASKS:
            raise ConfigError(f"task {task} needs a graph dataset ({names}); {meta.name} is {meta.task} data")
        if task == meta.task:
            return data
        if task == "link" and meta.task == "node":
            from torch_geometric.data import Data

            from ..data.graphs import link_bundle

            g = data.train.graph
            graph = Data(x=g.x, edge_index=g.edge_index, num_nodes=g.num_nodes)
            if not self.regression_data(meta):
                graph.y = g.y  # kept to colour the embedding plot, never read by training
            self.log_lines.append(f"link prediction on the edges of {meta.name}: 10% valid, 20% test, "
                                  f"negatives sampled (seed {self.config.seed})")
            return link_bundle(meta.name, graph, meta.name, seed=self.config.seed)
        hints = {
            ("node", "link"): f"{meta.name} is split for link prediction; use --task link (or a node dataset "
                              "such as sbm instead of sbm-link)",
            ("graph", "node"): f"{meta.name} is one graph; graph classification needs a set of graphs such as "
                               "cycles (--task node or link here)",
            ("graph", "link"): f"{meta.name} is split for link prediction; graph classification needs a set of "
                               "graphs such as cycles",
        }
        hint = hints.get((task, meta.task), f"{meta.name} is a set of graphs; use --task graph")
        raise ConfigError(f"--task {task} does not fit {meta.name}: {hint}")

    @staticmethod
    def regression_data(meta) -> bool:
        return meta.extra.get("target_task") == "regression"

    def build_model(self, config: RunConfig, meta, embedding_dim: int) -> nn.Module:
        """The graph network named by the config, sized by the data; for links wrapped with a decoder."""
        from ..models.gnn import DotProductDecoder, MLPDecoder

        name = config.model.name
        family = model_entry(name).meta.get("family")
        if family != GRAPH_FAMILY:
            raise ConfigError(f"task {self.task} trains graph networks ({', '.join(graph_models())}); "
                              f"{name} is not one of them (family {family or 'unknown'})")
        if config.model.freeze or config.data.augment:
            raise ConfigError(f"task {self.task} does not take model.freeze or data.augment")
        params = inspect.signature(model_entry(name).factory).parameters
        candidates: dict[str, Any] = {"in_chans": int(meta.input_shape[0])}
        if self.task == "graph":
            if "level" not in params:
                raise ConfigError(f"{name} is a node-level network; for graph classification use "
                                  f"--model gnn (e.g. --set model.conv=gcn)")
            candidates.update(num_classes=meta.num_classes, level="graph")
        elif self.task == "node":
            candidates["num_classes"] = 1 if self.regression else meta.num_classes
        else:  # link: an encoder whose head outputs embedding_dim unconstrained (no ReLU) coordinates
            candidates["num_classes"] = embedding_dim
        kwargs = {**accepted_kwargs(name, candidates), **config.model.args}
        model = create_model(name, weights=config.model.weights, **kwargs)
        if self.task != "link":
            return model
        decoder = DotProductDecoder() if self.decoder_kind == "dot" else MLPDecoder(kwargs["num_classes"])
        return LinkPredictor(model, decoder)

    def describe(self, meta) -> str:
        """The run log's first line: what is trained, on what, with which loss."""
        if self.task == "node":
            what = "node regression (MSE)" if self.regression else "node classification (cross-entropy)"
            return (f"task: {what} on {self.data.train.graph.num_nodes} nodes, {len(self.data.train)} of them "
                    "in the training mask (only they enter the loss)")
        if self.task == "link":
            return (f"task: link prediction ({self.decoder_kind} decoder, BCE on edges vs "
                    f"{self.neg_ratio:g} fresh negative(s) per edge each epoch)")
        count = len(self.data.train) + len(self.data.valid) + len(self.data.test)
        return f"task: graph classification ({count} graphs in mini-batches, cross-entropy)"

    # -- data ----------------------------------------------------------------------------------------
    def setup(self, device: torch.device) -> None:
        super().setup(device)
        if self.task != "graph" and self.data.train is not None:
            for split in self.data.splits().values():
                split.graph.to(device)  # in place; the node splits share one graph
                split.mask = split.mask.to(device)
        if self.task == "link" and self.data.train is not None:
            g = self.data.train.graph
            self.train_positive = g.edge_label_index[:, g.edge_label == 1]
            # every edge training may know: message edges and supervision edges, both directions
            self.known_edges = torch.cat([g.edge_index, self.train_positive, self.train_positive.flip(0)], dim=1)

    def loader(self, split: str, batch_size: int, *, shuffle: bool = False, seed: int = 0,
               rank: int = 0, world_size: int = 1):
        """Node and link tasks: the whole graph as one batch. Graph task: mini-batches of graphs."""
        part = self.data.splits()[split]
        if part is None or len(part) == 0:
            return []
        if self.task != "graph":
            return [part]
        from torch_geometric.loader import DataLoader

        return DataLoader(part[rank::world_size], batch_size=batch_size, shuffle=shuffle)

    def transfer(self, batch: Any) -> Any:
        return batch.to(self.device) if self.task == "graph" else batch  # graphs already on the device

    def edge_args(self, graph) -> tuple:
        return (graph.edge_attr,) if self.use_edge_attr else ()

    # -- steps -----------------------------------------------------------------------------------------
    def node_outputs(self, split) -> torch.Tensor:
        g = split.graph
        return self.net(g.x, g.edge_index, *self.edge_args(g))

    def sample_negatives(self, num_nodes: int) -> torch.Tensor:
        """Fresh non-edges for one training step: pairs that are neither message nor supervision edges
        (PyG's ``negative_sampling``; it draws from Python's seeded RNG, saved in checkpoints)."""
        from torch_geometric.utils import negative_sampling

        count = max(1, int(round(self.train_positive.size(1) * self.neg_ratio)))
        return negative_sampling(self.known_edges, num_nodes=num_nodes, num_neg_samples=count)

    def link_logits(self, graph, pairs: torch.Tensor) -> torch.Tensor:
        return self.net(graph.x, graph.edge_index, pairs, *self.edge_args(graph))

    def training_step(self, batch, phase: str) -> dict[str, torch.Tensor]:
        if self.task == "node":
            out, mask = self.node_outputs(batch), batch.mask
            return {"loss": self.head.loss(out[mask], batch.graph.y[mask])}
        if self.task == "link":
            g = batch.graph
            negatives = self.sample_negatives(g.num_nodes)
            pairs = torch.cat([self.train_positive, negatives], dim=1)
            labels = torch.cat([torch.ones(self.train_positive.size(1), device=pairs.device),
                                torch.zeros(negatives.size(1), device=pairs.device)])
            return {"loss": F.binary_cross_entropy_with_logits(self.link_logits(g, pairs).float(), labels)}
        out = self.net(batch.x, batch.edge_index, *self.edge_args(batch), batch=batch.batch)
        return {"loss": self.head.loss(out, batch.y.view(-1))}

    @torch.no_grad()
    def evaluate(self, loader, split: str) -> dict[str, float]:
        items = list(loader)
        if not items:
            return {}
        if self.task == "node":
            out, mask = self.node_outputs(items[0]), items[0].mask
            return self.head.metrics(out[mask], items[0].graph.y[mask])
        if self.task == "link":
            g = items[0].graph
            logits = self.link_logits(g, g.edge_label_index).float()
            return link_metrics(logits, g.edge_label)
        outs, targets = [], []
        for batch in items:
            batch = self.transfer(batch)
            outs.append(self.net(batch.x, batch.edge_index, *self.edge_args(batch), batch=batch.batch).float())
            targets.append(batch.y.view(-1))
        return self.head.metrics(torch.cat(outs), torch.cat(targets))

    # -- the end: baselines and plots -------------------------------------------------------------------
    def on_train_end(self, run_dir: Path | None) -> dict[str, float]:
        metrics = self.baselines() if self.with_baselines else {}
        if run_dir is not None and self.config.train.plots:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                self.plots(run_dir / "plots")
        return metrics

    def baselines(self) -> dict[str, float]:
        """The task's baselines on the valid and test splits, as ``<split>/baseline_<name>_<metric>``."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # sklearn convergence notes on tiny training sets
            if self.task == "node":
                return node_baselines(self.data, self.regression, self.config.seed)
            if self.task == "link":
                return link_baselines(self.data)
            return graph_baselines(self.data, self.config.seed)

    @torch.no_grad()
    def hidden_and_outputs(self, run) -> tuple[torch.Tensor, torch.Tensor]:
        """(last hidden layer, outputs) of one forward pass ``run()``: the input of the head, or the
        output of the last graph layer when the network's last graph layer is its head."""
        model = self.model.encoder if self.task == "link" else self.model
        captured: dict[str, torch.Tensor] = {}
        after_layers = isinstance(model.head, nn.Identity) and self.task != "link"

        def keep(module, inputs, output) -> None:  # a hook that returns None leaves the output alone
            captured.setdefault("h", output if after_layers else inputs[0])

        hook = (model.layers[-1] if after_layers else model.head).register_forward_hook(keep)
        try:
            out = run()
        finally:
            hook.remove()
        return captured["h"].float().cpu(), out.float().cpu()

    def plots(self, folder: Path) -> None:
        """``embedding.png`` and ``graph.png`` (see the module docstring)."""
        from ..report.graph import (
            draw_graph_predictions,
            draw_link_predictions,
            draw_node_predictions,
            embedding_plot,
        )

        seed, name, method = self.config.seed, self.config.model.name, self.embedding_method
        meta = self.data.meta
        if self.task == "node":
            split = self.data.test
            g = split.graph
            hidden, out = self.hidden_and_outputs(lambda: self.node_outputs(split))
            y = g.y.cpu().numpy()
            labels = None if self.regression else y
            train = self.data.train.mask.cpu().numpy()
            embedding_plot(hidden.numpy(), labels, meta.class_names, folder / "embedding.png",
                           f"{name} on {meta.name}: last hidden layer ({hidden.size(1)}-d), {method}",
                           marked=train, method=method, seed=seed)
            if not self.regression and g.num_nodes <= self.draw_max_nodes:
                predicted = out.argmax(1).numpy()
                correct = int(((predicted == y) & split.mask.cpu().numpy()).sum())
                draw_node_predictions(g.edge_index.cpu(), g.num_nodes, predicted, y, train, meta.class_names,
                                      folder / "graph.png", f"{name} on {meta.name}: predicted classes "
                                      f"({correct}/{len(split)} test nodes right)", seed=seed)
        elif self.task == "link":
            g = self.data.test.graph
            with torch.no_grad():
                z = self.model.encoder(g.x, g.edge_index, *self.edge_args(g)).float().cpu()
                scores = torch.sigmoid(self.link_logits(g, g.edge_label_index).float()).cpu().numpy()
            y = getattr(g, "y", None)
            labels = None if y is None or y.dim() != 1 else y.cpu().numpy()
            embedding_plot(z.numpy(), labels, self.node_class_names, folder / "embedding.png",
                           f"{name} on {meta.name}: node embeddings ({z.size(1)}-d), {method}",
                           method=method, seed=seed)
            if g.num_nodes <= self.draw_max_nodes:
                draw_link_predictions(g.edge_index.cpu(), g.num_nodes, g.edge_label_index.cpu(),
                                      g.edge_label.cpu().numpy().astype(int), (scores >= 0.5).astype(int),
                                      folder / "graph.png", f"{name} on {meta.name}: test pairs (threshold 0.5)",
                                      seed=seed)
        else:
            from torch_geometric.data import Batch

            graphs = list(self.data.test)
            batch = Batch.from_data_list(graphs).to(self.device)
            hidden, out = self.hidden_and_outputs(
                lambda: self.net(batch.x, batch.edge_index, *self.edge_args(batch), batch=batch.batch))
            embedding_plot(hidden.numpy(), batch.y.view(-1).cpu().numpy(), meta.class_names,
                           folder / "embedding.png", f"{name} on {meta.name}: test graphs after the readout, "
                           f"{method}", method=method, seed=seed)
            draw_graph_predictions(graphs, out.argmax(1).tolist(), meta.class_names, folder / "graph.png", seed=seed)

    def predict(self, x: torch.Tensor) -> dict[str, Any]:
        raise NotImplementedError  # graph runs are evaluated on their graph, not on new tensors


def link_metrics(logits: torch.Tensor, labels: torch.Tensor) -> dict[str, float]:
    """BCE loss, ROC-AUC and average precision of pair scores against 1/0 labels."""
    target = labels.long()
    probs = torch.sigmoid(logits)
    return {"loss": float(F.binary_cross_entropy_with_logits(logits, labels.float())),
            "auc": float(C.binary_auroc(probs, target)),
            "average_precision": float(C.binary_average_precision(probs, target))}


# -- baselines ----------------------------------------------------------------------------------------


def node_baselines(data: DataBundle, regression: bool, seed: int) -> dict[str, float]:
    """MLP on the features (edges ignored) and label propagation on the edges (features ignored),
    both fitted to the training-mask labels only."""
    from sklearn.neural_network import MLPClassifier, MLPRegressor

    g = data.train.graph
    x, y = g.x.cpu().numpy(), g.y.cpu().numpy()
    train = data.train.mask.cpu().numpy()
    splits = {name: data.splits()[name].mask.cpu().numpy() for name in ("valid", "test")}
    cls = MLPRegressor if regression else MLPClassifier
    mlp = cls(hidden_layer_sizes=(64,), alpha=5e-4, learning_rate_init=0.01, max_iter=300, random_state=seed)
    mlp.fit(x[train], y[train].ravel())
    out: dict[str, float] = {}
    for name, mask in splits.items():
        if not mask.any():
            continue
        predicted = mlp.predict(x[mask])
        if regression:
            out[f"{name}/baseline_mlp_mse"] = float(np.mean((predicted - y[mask].ravel()) ** 2))
        else:
            out[f"{name}/baseline_mlp_accuracy"] = float(np.mean(predicted == y[mask]))
    if regression:
        return out
    propagated = label_propagation(g.edge_index.cpu(), g.num_nodes, y, train)
    for name, mask in splits.items():
        if mask.any():
            out[f"{name}/baseline_label_propagation_accuracy"] = float(np.mean(propagated[mask] == y[mask]))
    return out


def label_propagation(edge_index: torch.Tensor, num_nodes: int, y: np.ndarray, train: np.ndarray,
                      max_iter: int = 100) -> np.ndarray:
    """Class of every node by the harmonic function (Zhu, Ghahramani & Lafferty 2003): the labels of
    the training nodes are held fixed and every other node takes the average of its neighbours' class
    distributions, iterated (networkx ``harmonic_function``). Edges are read as undirected."""
    import networkx as nx
    from networkx.algorithms.node_classification import harmonic_function

    graph = nx.Graph()
    graph.add_nodes_from(range(num_nodes))
    graph.add_edges_from(edge_index.t().tolist())
    for node in np.flatnonzero(train):
        graph.nodes[int(node)]["label"] = int(y[node])
    return np.asarray(harmonic_function(graph, max_iter=max_iter))


def link_baselines(data: DataBundle) -> dict[str, float]:
    """Common neighbours and Adamic–Adar scores of each split's pairs on its message-passing graph."""
    from sklearn.metrics import average_precision_score, roc_auc_score

    out: dict[str, float] = {}
    for name in ("valid", "test"):
        g = data.splits()[name].graph
        labels = g.edge_label.cpu().numpy()
        if len(set(labels.tolist())) < 2:
            continue
        scores = neighbourhood_scores(g.edge_index.cpu(), g.num_nodes, g.edge_label_index.cpu())
        for method, score in scores.items():
            out[f"{name}/baseline_{method}_auc"] = float(roc_auc_score(labels, score))
            out[f"{name}/baseline_{method}_average_precision"] = float(average_precision_score(labels, score))
    return out


def neighbourhood_scores(edge_index: torch.Tensor, num_nodes: int, pairs: torch.Tensor) -> dict[str, np.ndarray]:
    """Per pair (u, v): the number of common neighbours |N(u) ∩ N(v)| and the Adamic–Adar index
    Σ_{w ∈ N(u) ∩ N(v)} 1 / log deg(w), on the undirected simple graph of ``edge_index``."""
    import scipy.sparse as sp

    src, dst = edge_index.numpy()
    keep = src != dst
    adjacency = sp.coo_matrix((np.ones(int(keep.sum())), (src[keep], dst[keep])), shape=(num_nodes, num_nodes))
    adjacency = ((adjacency + adjacency.T) > 0).astype(np.float64).tocsr()
    degree = np.asarray(adjacency.sum(axis=1)).ravel()
    inverse_log = np.where(degree > 1, 1.0 / np.log(np.maximum(degree, 2)), 0.0)
    u, v = pairs.numpy()
    common = adjacency[u].multiply(adjacency[v]).tocsr()
    return {"common_neighbours": np.asarray(common.sum(axis=1)).ravel(),
            "adamic_adar": common @ inverse_log}


def graph_statistics(graph) -> np.ndarray:
    """Number of nodes, number of (undirected) edges and the degree histogram (0 … 9, ≥ 10)."""
    degree = torch.bincount(graph.edge_index[0].cpu(), minlength=graph.num_nodes).numpy()
    histogram = np.bincount(np.minimum(degree, DEGREE_BINS), minlength=DEGREE_BINS + 1)
    return np.concatenate([[graph.num_nodes, graph.edge_index.size(1) / 2], histogram]).astype(np.float64)


def graph_baselines(data: DataBundle, seed: int) -> dict[str, float]:
    """An MLP on :func:`graph_statistics` — what a model sees without passing messages."""
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    def arrays(graphs):
        return np.stack([graph_statistics(g) for g in graphs]), np.array([int(g.y.view(-1)[0]) for g in graphs])

    x, y = arrays(data.train)
    mlp = make_pipeline(StandardScaler(), MLPClassifier(hidden_layer_sizes=(64,), max_iter=500, random_state=seed))
    mlp.fit(x, y)
    out = {}
    for name in ("valid", "test"):
        graphs = data.splits()[name]
        if len(graphs):
            xs, ys = arrays(graphs)
            out[f"{name}/baseline_degree_mlp_accuracy"] = float(np.mean(mlp.predict(xs) == ys))
    return out


# -- several seeds ----------------------------------------------------------------------------------------


for _task in GRAPH_TASKS:
    TASKS.register(_task, recipe="graph")(GraphRecipe)

__all__ = ["GRAPH_TASKS", "GraphRecipe", "LinkPredictor", "label_propagation", "neighbourhood_scores"]
