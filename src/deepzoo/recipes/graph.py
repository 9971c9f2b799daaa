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

**Recipes.** :class:`GraphRecipe` holds what the three tasks share; :class:`NodeRecipe`,
:class:`LinkRecipe` and :class:`GraphLevelRecipe` train one task each and override what differs.

**Options** (``--set task_args.KEY=VALUE``, declared in each recipe's ``options``): ``preset`` (kipf |
none), ``decoder`` (dot | mlp), ``neg_ratio`` (1), ``embedding`` (pca | tsne), ``draw_max_nodes``
(500), ``baselines`` (true) and ``embedding_dim`` (16, the link encoder's width); node and graph tasks
also take the supervised head's (:data:`deepzoo.recipes.supervised.HEAD_OPTIONS`: ``threshold``,
``label_smoothing``, ``class_weights``, ``loss`` ...). An unknown key fails naming the closest.
"""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Mapping
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
EMBEDDINGS = ("pca", "tsne")  # the 2-D maps of plots/embedding.png (deepzoo.plots.graph.EMBEDDINGS)
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
    """What the node, link and graph-level recipes share: the task options, Kipf & Welling's preset,
    the check that task and data fit, building the graph network, moving one graph to the device,
    the baselines and plots at the end (see the module docstring).

    A subclass trains one task (:attr:`task`) and overrides the steps that differ between tasks:
    the data it can adapt (:meth:`mismatch_hint`, :meth:`adapt_data`), the network's output size
    (:meth:`model_args`, :meth:`wrap_model`), the preset's model settings (:meth:`preset_model_args`),
    ``training_step``, ``evaluate``, :meth:`baseline_metrics` and :meth:`plots`. The default data
    handling is that of node and link tasks, one graph kept on the device as one batch; the
    graph-level recipe overrides :meth:`single_graph`, :meth:`loader` and :meth:`transfer` to batch
    sets of graphs instead.
    """

    #: the task this recipe trains (one of :data:`GRAPH_TASKS`)
    task: ClassVar[str] = ""
    default_monitor = "valid/loss"
    #: the options of every graph task; node and graph tasks add the head's (``threshold``, ``loss`` ...)
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
    #: the optimizer settings of ``task_args.preset=kipf`` (Kipf & Welling 2017, §5.2)
    preset_settings: ClassVar[dict[str, Any]] = KIPF_PRESET

    def __init__(self, config: RunConfig, data: DataBundle):
        super().__init__(config, data)
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
        self.regression = self.is_regression(meta)
        self.head = self.build_head(meta, options)
        if preset == "kipf":
            line = apply_preset(config, self.preset_settings, "Kipf & Welling 2017 §5.2")
            given = []
            for key, value in self.preset_model_args(config).items():
                if key not in config.model.args:
                    config.model.args[key] = value
                    given.append(f"model.{key}={value}")
            self.log_lines.append(line + "".join(f", {item}" for item in given))
        if data.train is not None:
            self.configure_early_stopping(config, data)
        self.model = self.build_model(config, meta, embedding_dim)
        self.use_edge_attr = config.model.args.get("edge_dim") is not None
        graph = self.single_graph(data)
        if graph is not None and getattr(graph, "edge_attr", None) is not None and not self.use_edge_attr:
            width = graph.edge_attr.view(graph.edge_attr.size(0), -1).size(1)
            self.log_lines.append(f"edges carry {width} feature(s), unused: --set model.edge_dim={width} "
                                  "(with model.conv=mp) lets the messages read them")
        if data.train is not None:
            self.log_lines.insert(0, self.describe(meta))

    # -- task and model -----------------------------------------------------------------------------
    def is_regression(self, meta) -> bool:
        """Whether the network regresses a number per item instead of classifying (node tasks only)."""
        return False

    def build_head(self, meta, options: dict[str, Any]) -> TaskHead | None:
        """The supervised head (loss and metrics) of the network's outputs, configured by the head's
        options left in ``options``; a multiclass head unless :meth:`is_regression`."""
        return TaskHead("regression" if self.regression else "multiclass", meta, **options)

    def preset_model_args(self, config: RunConfig) -> dict[str, float]:
        """Model settings of the preset, applied where the model takes them and the user did not set
        them; none by default (the node and link recipes add theirs)."""
        return {}

    def configure_early_stopping(self, config: RunConfig, data: DataBundle) -> None:
        """Adjust early stopping to the training data before the model is built; nothing by default."""

    def fit_task(self, data: DataBundle) -> DataBundle:
        """The data for this task: as loaded, or adapted by :meth:`adapt_data` (a node graph's edges
        split for link prediction); a one-line error where task and data do not fit."""
        meta, task = data.meta, self.task
        names = "karate, sbm, sbm-link, cycles, edgelist:, planetoid:, content:"
        if meta.task not in GRAPH_TASKS:
            raise ConfigError(f"task {task} needs a graph dataset ({names}); {meta.name} is {meta.task} data")
        if task == meta.task:
            return data
        return self.adapt_data(data)

    def adapt_data(self, data: DataBundle) -> DataBundle:
        """``data``, made for another graph task, turned into this task's data; by default it cannot
        be, and the error says which task or dataset fits (:meth:`mismatch_hint`)."""
        meta = data.meta
        raise ConfigError(f"--task {self.task} does not fit {meta.name}: {self.mismatch_hint(meta)}")

    def mismatch_hint(self, meta) -> str:
        """What to do instead when this task does not fit the data of ``meta`` (another graph task)."""
        return f"{meta.name} is a set of graphs; use --task graph"

    @staticmethod
    def regression_data(meta) -> bool:
        """Whether the data's node targets are numbers (``meta.extra["target_task"]``)."""
        return meta.extra.get("target_task") == "regression"

    def build_model(self, config: RunConfig, meta, embedding_dim: int) -> nn.Module:
        """The graph network named by the config, sized by the data (:meth:`model_args`) and wrapped
        by :meth:`wrap_model`."""
        name = config.model.name
        family = model_entry(name).meta.get("family")
        if family != GRAPH_FAMILY:
            raise ConfigError(f"task {self.task} trains graph networks ({', '.join(graph_models())}); "
                              f"{name} is not one of them (family {family or 'unknown'})")
        if config.model.freeze or config.data.augment:
            raise ConfigError(f"task {self.task} does not take model.freeze or data.augment")
        params = inspect.signature(model_entry(name).factory).parameters
        candidates: dict[str, Any] = {"in_chans": int(meta.input_shape[0])}
        candidates.update(self.model_args(name, params, meta, embedding_dim))
        kwargs = {**accepted_kwargs(name, candidates), **config.model.args}
        model = create_model(name, weights=config.model.weights, **kwargs)
        return self.wrap_model(model, kwargs)

    def model_args(self, name: str, params: Mapping[str, inspect.Parameter], meta,
                   embedding_dim: int) -> dict[str, Any]:
        """The constructor arguments this task sets beside ``in_chans`` (``num_classes`` ...), from the
        model's signature ``params`` and the data."""
        raise NotImplementedError

    def wrap_model(self, model: nn.Module, kwargs: dict[str, Any]) -> nn.Module:
        """The module trained and saved around the network built with ``kwargs``: the network itself."""
        return model

    def describe(self, meta) -> str:
        """The run log's first line: what is trained, on what, with which loss."""
        raise NotImplementedError

    # -- data ----------------------------------------------------------------------------------------
    def single_graph(self, data: DataBundle):
        """The one graph the task trains on (node and link tasks), or None when there is no training data."""
        return data.train.graph if data.train is not None else None

    def setup(self, device: torch.device) -> None:
        """Move the model and the one graph (with the split masks) to ``device``, where it stays; a set
        of graphs (no :meth:`single_graph`) travels batch by batch (:meth:`transfer`)."""
        super().setup(device)
        if self.single_graph(self.data) is not None:
            for split in self.data.splits().values():
                split.graph.to(device)  # in place; the node splits share one graph
                split.mask = split.mask.to(device)

    def loader(self, split: str, batch_size: int, *, shuffle: bool = False, seed: int = 0,
               rank: int = 0, world_size: int = 1):
        """The whole graph as one batch (empty for a missing split)."""
        part = self.data.splits()[split]
        if part is None or len(part) == 0:
            return []
        return [part]

    def transfer(self, batch: Any) -> Any:
        """The batch as it is: the graph is already on the device (:meth:`setup`)."""
        return batch

    def edge_args(self, graph) -> tuple:
        """The edge features the network reads, ``(edge_attr,)`` with ``model.edge_dim`` set, else none."""
        return (graph.edge_attr,) if self.use_edge_attr else ()

    # -- the end: baselines and plots -------------------------------------------------------------------
    def on_train_end(self, run_dir: Path | None) -> dict[str, float]:
        """The baselines' metrics (unless ``task_args.baselines=false``) and the plots of the run."""
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
            return self.baseline_metrics()

    def baseline_metrics(self) -> dict[str, float]:
        """The metrics of this task's baselines (:meth:`baselines` silences their warnings)."""
        raise NotImplementedError

    @torch.no_grad()
    def hidden_and_outputs(self, run) -> tuple[torch.Tensor, torch.Tensor]:
        """(last hidden layer, outputs) of one forward pass ``run()``: the input of the head, or the
        output of the last graph layer when the network's last graph layer is its head."""
        model = self.model
        captured: dict[str, torch.Tensor] = {}
        after_layers = isinstance(model.head, nn.Identity)

        def keep(module, inputs, output) -> None:  # a hook that returns None leaves the output alone
            captured.setdefault("h", output if after_layers else inputs[0])

        hook = (model.layers[-1] if after_layers else model.head).register_forward_hook(keep)
        try:
            out = run()
        finally:
            hook.remove()
        return captured["h"].float().cpu(), out.float().cpu()

    def plots(self, folder: Path) -> None:
        """``embedding.png`` and ``graph.png`` in ``folder`` (see the module docstring)."""
        raise NotImplementedError

    def predict(self, x: torch.Tensor) -> dict[str, Any]:
        """Not available: graph runs are evaluated on their graph, not on new tensors."""
        raise NotImplementedError


class NodeRecipe(GraphRecipe):
    """Semi-supervised node classification or regression on one graph, full-batch: the loss reads the
    training-mask nodes only (Kipf & Welling 2017, eq. 10)."""

    task = "node"
    options: ClassVar[dict[str, Option]] = {**GraphRecipe.options, **HEAD_OPTIONS}
    #: Kipf & Welling 2017, §5.2: the preset with weight decay 5e-4
    preset_settings: ClassVar[dict[str, Any]] = {**KIPF_PRESET, **NODE_WEIGHT_DECAY}

    def is_regression(self, meta) -> bool:
        """Whether the node targets are numbers (a regression head, MSE)."""
        return self.regression_data(meta)

    def preset_model_args(self, config: RunConfig) -> dict[str, float]:
        """Dropout on the input of every layer, as Kipf & Welling 2017 do (§5.2: input dropout = the
        layers' dropout), where the model takes both."""
        params = inspect.signature(model_entry(config.model.name).factory).parameters
        if "input_dropout" in params and "dropout" in params:
            return {"input_dropout": float(config.model.args.get("dropout", params["dropout"].default))}
        return {}

    def configure_early_stopping(self, config: RunConfig, data: DataBundle) -> None:
        """Early stopping off when the data has no held-out validation nodes (karate's valid mask is its
        training mask), unless the user named a monitor: the validation loss would only measure the fit
        of the training nodes."""
        if config.early_stop.monitor:
            return
        valid = data.valid.mask
        if not valid.any() or torch.equal(valid, data.train.mask):
            config.early_stop.enabled = False
            self.log_lines.append("early stopping: off — no held-out validation nodes (the valid mask is the "
                                  "training mask), so all epochs run")

    def mismatch_hint(self, meta) -> str:
        """A link dataset asks for ``--task link``; a set of graphs for ``--task graph``."""
        if meta.task == "link":
            return (f"{meta.name} is split for link prediction; use --task link (or a node dataset "
                    "such as sbm instead of sbm-link)")
        return super().mismatch_hint(meta)

    def model_args(self, name: str, params: Mapping[str, inspect.Parameter], meta,
                   embedding_dim: int) -> dict[str, Any]:
        """One output per class, or one number for regression."""
        return {"num_classes": 1 if self.regression else meta.num_classes}

    def describe(self, meta) -> str:
        """The task, the loss and how many nodes enter it."""
        what = "node regression (MSE)" if self.regression else "node classification (cross-entropy)"
        return (f"task: {what} on {self.data.train.graph.num_nodes} nodes, {len(self.data.train)} of them "
                "in the training mask (only they enter the loss)")

    def node_outputs(self, split) -> torch.Tensor:
        """The network's outputs for every node of the split's graph."""
        g = split.graph
        return self.net(g.x, g.edge_index, *self.edge_args(g))

    def training_step(self, batch, phase: str) -> dict[str, torch.Tensor]:
        """The head's loss over the training-mask nodes (Kipf & Welling 2017, eq. 10)."""
        out, mask = self.node_outputs(batch), batch.mask
        return {"loss": self.head.loss(out[mask], batch.graph.y[mask])}

    @torch.no_grad()
    def outputs(self, loader) -> tuple[torch.Tensor, torch.Tensor] | None:
        """The outputs and targets of the split's nodes (its mask), in node order."""
        items = list(loader)
        if not items:
            return None
        out, mask = self.node_outputs(items[0]), items[0].mask
        return out[mask], items[0].graph.y[mask]

    @torch.no_grad()
    def evaluate(self, loader, split: str) -> dict[str, float]:
        """The head's metrics over the split's mask."""
        result = self.outputs(loader)
        return {} if result is None else self.head.metrics(*result)

    def baseline_metrics(self) -> dict[str, float]:
        """An MLP on the features and label propagation on the edges (:func:`node_baselines`)."""
        return node_baselines(self.data, self.regression, self.config.seed)

    def plots(self, folder: Path) -> None:
        """The last hidden layer in 2-D, training nodes marked; the graph with the predicted classes."""
        from ..plots.graph import draw_node_predictions, embedding_plot

        seed, name, method = self.config.seed, self.config.model.name, self.embedding_method
        meta = self.data.meta
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
                                  f"({correct}/{len(split)} test nodes right)", seed=seed,
                                  node_names=meta.extra.get("node_names"))


class LinkRecipe(GraphRecipe):
    """Link prediction: an encoder of node embeddings and a pair decoder (:class:`LinkPredictor`),
    trained with BCE on the training edges against fresh negatives each epoch."""

    task = "link"
    default_monitor = "valid/auc"

    def __init__(self, config: RunConfig, data: DataBundle):
        super().__init__(config, data)
        #: the training split's positive supervision pairs (set by :meth:`setup`)
        self.train_positive: torch.Tensor | None = None
        #: every pair training may know, which negatives avoid (set by :meth:`setup`)
        self.known_edges: torch.Tensor | None = None

    def build_head(self, meta, options: dict[str, Any]) -> TaskHead | None:
        """None: pair scores are read by :func:`link_metrics`, not a supervised head."""
        return None

    def preset_model_args(self, config: RunConfig) -> dict[str, float]:
        """No dropout, as Kipf & Welling's graph auto-encoder trains (2016), where the model takes it."""
        params = inspect.signature(model_entry(config.model.name).factory).parameters
        return {"dropout": 0.0} if "dropout" in params else {}

    def adapt_data(self, data: DataBundle) -> DataBundle:
        """A node dataset's edges split for link prediction (PyG's ``RandomLinkSplit``, 10% valid, 20%
        test, seeded by the run's seed); the node labels are kept only to colour the embedding plot."""
        meta = data.meta
        if meta.task != "node":
            return super().adapt_data(data)
        from torch_geometric.data import Data

        from ..data.graphs import link_bundle

        g = data.train.graph
        graph = Data(x=g.x, edge_index=g.edge_index, num_nodes=g.num_nodes)
        if not self.regression_data(meta):
            graph.y = g.y  # kept to colour the embedding plot, never read by training
        self.log_lines.append(f"link prediction on the edges of {meta.name}: 10% valid, 20% test, "
                              f"negatives sampled (seed {self.config.seed})")
        return link_bundle(meta.name, graph, meta.name, seed=self.config.seed)

    def model_args(self, name: str, params: Mapping[str, inspect.Parameter], meta,
                   embedding_dim: int) -> dict[str, Any]:
        """An encoder whose head outputs ``embedding_dim`` unconstrained (no ReLU) coordinates."""
        return {"num_classes": embedding_dim}

    def wrap_model(self, model: nn.Module, kwargs: dict[str, Any]) -> nn.Module:
        """The encoder and the pair decoder of ``task_args.decoder``, saved as one model."""
        from ..models.gnn import DotProductDecoder, MLPDecoder

        decoder = DotProductDecoder() if self.decoder_kind == "dot" else MLPDecoder(kwargs["num_classes"])
        return LinkPredictor(model, decoder)

    def describe(self, meta) -> str:
        """The decoder, the loss and the negatives."""
        return (f"task: link prediction ({self.decoder_kind} decoder, BCE on edges vs "
                f"{self.neg_ratio:g} fresh negative(s) per edge each epoch)")

    def setup(self, device: torch.device) -> None:
        """Move the graph to ``device`` and gather the training positives and the known edges."""
        super().setup(device)
        if self.data.train is not None:
            g = self.data.train.graph
            self.train_positive = g.edge_label_index[:, g.edge_label == 1]
            # every edge training may know: message edges and supervision edges, both directions
            self.known_edges = torch.cat([g.edge_index, self.train_positive, self.train_positive.flip(0)], dim=1)

    def sample_negatives(self, num_nodes: int) -> torch.Tensor:
        """Fresh non-edges for one training step: pairs that are neither message nor supervision edges
        (PyG's ``negative_sampling``; it draws from Python's seeded RNG, saved in checkpoints)."""
        from torch_geometric.utils import negative_sampling

        count = max(1, int(round(self.train_positive.size(1) * self.neg_ratio)))
        return negative_sampling(self.known_edges, num_nodes=num_nodes, num_neg_samples=count)

    def link_logits(self, graph, pairs: torch.Tensor) -> torch.Tensor:
        """The decoder's logit for each pair (2, P) of ``graph``'s nodes."""
        return self.net(graph.x, graph.edge_index, pairs, *self.edge_args(graph))

    def training_step(self, batch, phase: str) -> dict[str, torch.Tensor]:
        """BCE of the training edges (label 1) against freshly drawn negatives (label 0)."""
        g = batch.graph
        negatives = self.sample_negatives(g.num_nodes)
        pairs = torch.cat([self.train_positive, negatives], dim=1)
        labels = torch.cat([torch.ones(self.train_positive.size(1), device=pairs.device),
                            torch.zeros(negatives.size(1), device=pairs.device)])
        return {"loss": F.binary_cross_entropy_with_logits(self.link_logits(g, pairs).float(), labels)}

    @torch.no_grad()
    def evaluate(self, loader, split: str) -> dict[str, float]:
        """:func:`link_metrics` of the split's fixed pairs."""
        items = list(loader)
        if not items:
            return {}
        g = items[0].graph
        logits = self.link_logits(g, g.edge_label_index).float()
        return link_metrics(logits, g.edge_label)

    def baseline_metrics(self) -> dict[str, float]:
        """Common neighbours and Adamic–Adar (:func:`link_baselines`)."""
        return link_baselines(self.data)

    def plots(self, folder: Path) -> None:
        """The node embeddings in 2-D; the test pairs found and missed at threshold 0.5."""
        from ..plots.graph import draw_link_predictions, embedding_plot

        seed, name, method = self.config.seed, self.config.model.name, self.embedding_method
        meta = self.data.meta
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


class GraphLevelRecipe(GraphRecipe):
    """Graph classification: mini-batches of graphs, a readout and an MLP head (cross-entropy)."""

    task = "graph"
    options: ClassVar[dict[str, Option]] = {**GraphRecipe.options, **HEAD_OPTIONS}

    def mismatch_hint(self, meta) -> str:
        """One graph (node or link data) cannot be classified as a set of graphs."""
        if meta.task == "node":
            return (f"{meta.name} is one graph; graph classification needs a set of graphs such as "
                    "cycles (--task node or link here)")
        return (f"{meta.name} is split for link prediction; graph classification needs a set of "
                "graphs such as cycles")

    def model_args(self, name: str, params: Mapping[str, inspect.Parameter], meta,
                   embedding_dim: int) -> dict[str, Any]:
        """A graph-level network (``level="graph"``) with one output per class; a node-level network
        is refused."""
        if "level" not in params:
            raise ConfigError(f"{name} is a node-level network; for graph classification use "
                              f"--model gnn (e.g. --set model.conv=gcn)")
        return {"num_classes": meta.num_classes, "level": "graph"}

    def describe(self, meta) -> str:
        """How many graphs, batched, with which loss."""
        count = len(self.data.train) + len(self.data.valid) + len(self.data.test)
        return f"task: graph classification ({count} graphs in mini-batches, cross-entropy)"

    def single_graph(self, data: DataBundle):
        """None: the data is a set of graphs."""
        return None

    def loader(self, split: str, batch_size: int, *, shuffle: bool = False, seed: int = 0,
               rank: int = 0, world_size: int = 1):
        """Mini-batches of the split's graphs (``torch_geometric.loader.DataLoader``), this rank's share."""
        part = self.data.splits()[split]
        if part is None or len(part) == 0:
            return []
        from torch_geometric.loader import DataLoader

        return DataLoader(part[rank::world_size], batch_size=batch_size, shuffle=shuffle)

    def transfer(self, batch: Any) -> Any:
        """The batch of graphs moved to the device."""
        return batch.to(self.device)

    def graph_outputs(self, batch) -> torch.Tensor:
        """The network's outputs, one row per graph of ``batch``."""
        return self.net(batch.x, batch.edge_index, *self.edge_args(batch), batch=batch.batch)

    def training_step(self, batch, phase: str) -> dict[str, torch.Tensor]:
        """The head's loss over the batch's graphs."""
        return {"loss": self.head.loss(self.graph_outputs(batch), batch.y.view(-1))}

    @torch.no_grad()
    def evaluate(self, loader, split: str) -> dict[str, float]:
        """The head's metrics over every graph of the split."""
        items = list(loader)
        if not items:
            return {}
        outs, targets = [], []
        for batch in items:
            batch = self.transfer(batch)
            outs.append(self.graph_outputs(batch).float())
            targets.append(batch.y.view(-1))
        return self.head.metrics(torch.cat(outs), torch.cat(targets))

    def baseline_metrics(self) -> dict[str, float]:
        """An MLP on each graph's size and degree histogram (:func:`graph_baselines`)."""
        return graph_baselines(self.data, self.config.seed)

    def plots(self, folder: Path) -> None:
        """The pooled test-graph embeddings in 2-D; a grid of test graphs with their predicted classes."""
        from torch_geometric.data import Batch

        from ..plots.graph import draw_graph_predictions, embedding_plot

        seed, name, method = self.config.seed, self.config.model.name, self.embedding_method
        meta = self.data.meta
        graphs = list(self.data.test)
        batch = Batch.from_data_list(graphs).to(self.device)
        hidden, out = self.hidden_and_outputs(lambda: self.graph_outputs(batch))
        embedding_plot(hidden.numpy(), batch.y.view(-1).cpu().numpy(), meta.class_names,
                       folder / "embedding.png", f"{name} on {meta.name}: test graphs after the readout, "
                       f"{method}", method=method, seed=seed)
        draw_graph_predictions(graphs, out.argmax(1).tolist(), meta.class_names, folder / "graph.png", seed=seed)


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


# -- one recipe per task -----------------------------------------------------------------------------------


for _cls in (NodeRecipe, LinkRecipe, GraphLevelRecipe):
    TASKS.register(_cls.task, recipe="graph")(_cls)

__all__ = ["GRAPH_TASKS", "GraphLevelRecipe", "GraphRecipe", "LinkPredictor", "LinkRecipe", "NodeRecipe",
           "label_propagation", "neighbourhood_scores"]
