"""Self-supervised learning with any zoo encoder: SimCLR here, the pretext tasks in :mod:`.ssl_pretext`.

``deepzoo train --task simclr --model cnn --data mnist1d`` trains the encoder ``--model`` without
labels; at the end the representation is evaluated with labels (when the data have them) by the
protocol of :mod:`deepzoo.ssl.evaluation`, beside a randomly initialised encoder of the same
architecture and seed and a supervised model of the same architecture:

    {valid,test}/linear_accuracy, knn_accuracy            the trained encoder, frozen
    {valid,test}/random_linear_accuracy, random_knn_accuracy   the same encoder at initialisation
    {valid,test}/raw_linear_accuracy                      a linear probe on the (normalised) inputs
    {valid,test}/finetune_{1,10,100}pct_accuracy          encoder + linear head fine-tuned on 1/10/100%
    {valid,test}/supervised_accuracy                      the architecture trained from scratch, 100%

Options (``--set task_args.KEY=VALUE``) are declared, with their types, defaults and help, in
:data:`EVALUATION_OPTIONS` and in each recipe's ``options`` (SimCLR: ``temperature``, ``projection_dim``,
``projection_hidden``, ``strength``, ``crop_scale``, ``blur``); an unknown key is an error that names
the closest.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..config import RunConfig
from ..data import DataBundle, TensorSplit, load_dataset, source_meta
from ..data.augment import build_augmentation
from ..data.batching import make_loader
from ..errors import ConfigError
from ..ssl.evaluation import extract_features, fine_tune, knn_accuracy, linear_probe
from ..ssl.losses import nt_xent_loss, positive_pair_accuracy
from ..ssl.model import SSLModel, accepts_size, build_encoder, channel_statistics, projection_head
from ..ssl.views import build_views, describe
from .base import TASKS, Option, Recipe

#: Options of the evaluation run after training (shared by every self-supervised task).
EVALUATION_OPTIONS: dict[str, Option] = {
    "evaluate": Option(True, "linear probe + kNN on the frozen encoder (and the baselines)"),
    "probe_steps": Option(500, "full-batch Adam steps of the linear probe, per weight decay tried"),
    "knn_k": Option(200, "neighbours that vote (capped at the training-set size)"),
    "knn_t": Option(0.1, "temperature of the kNN vote weights exp(similarity / t)"),
    "finetune": Option(True, "fine-tune encoder + linear head on 1%, 10% and 100% of the labels"),
    "finetune_epochs": Option(20, "epochs of each fine-tuning"),
    "finetune_lr": Option(1e-3, "learning rate of fine-tuning"),
    "supervised": Option(True, "the same architecture trained from scratch on all labels"),
    "supervised_epochs": Option(20, "epochs of the supervised baseline"),
    "probe_data": Option(None, "a labelled dataset (e.g. stl10) whose splits the evaluation uses instead of the "
                               "training data's: pre-train on unlabelled images (stl10-unlabeled), probe on labelled "
                               "ones of the same size", kind="str"),
}
FINETUNE_FRACTIONS = (0.01, 0.1, 1.0)
LABELLED_TASKS = ("binary", "multiclass")


class SSLRecipe(Recipe):
    """The shared part of every self-supervised recipe.

    Subclasses declare ``options`` (their own, then :data:`EVALUATION_OPTIONS`) and implement
    :meth:`build_head` and :meth:`pretext_step` (the loss and the pretext accuracy of a batch); they may
    change the encoder's input shape (:meth:`encoder_shape`).
    Labels are never read in training. Randomness comes from the recipe's own generators: one for
    training (saved in checkpoints, so a resumed run draws the same views) and, for each evaluation, a
    fresh one with a fixed seed, so the validation loss of every epoch is measured on the same views.
    """

    options: ClassVar[dict[str, Option]] = EVALUATION_OPTIONS
    data_defaults: ClassVar[dict[str, Any]] = {"normalize": "none"}  # augment in [0, 1]; the model normalises
    default_monitor = "valid/loss"
    standardize_inputs = False

    def __init__(self, config: RunConfig, data: DataBundle):
        super().__init__(config, data)
        self.task = config.task
        if config.model.weights or config.model.freeze:
            raise ConfigError(f"task {self.task} trains its encoder from scratch: drop model.weights/model.freeze")
        meta = data.meta
        self.input_shape = tuple(int(s) for s in meta.input_shape)
        if len(self.input_shape) not in (2, 3):
            raise ConfigError(f"task {self.task} needs images (C, H, W) or signals (C, L); "
                              f"{meta.name} has inputs shaped {self.input_shape}")
        self.configure(meta)
        encoder = build_encoder(config, self.encoder_shape())
        self.feature_size = self._resolve_feature_size(encoder)
        mean, std = self._input_statistics()
        self.model = SSLModel(encoder, self.build_head(encoder.num_features), mean, std, len(self.input_shape) - 1,
                              self.feature_size, self.standardize_inputs)
        self.generator: torch.Generator | None = None
        #: the labelled data the representation is evaluated on: the training data, or ``probe_data``
        #: (read when the evaluation starts: its name is checked now)
        self.evaluation_data: DataBundle | None = data
        if self.args["probe_data"]:
            source_meta(self.args["probe_data"])  # an unknown name fails before training, with close matches
            self.evaluation_data = None
        self.has_labels = bool(self.args["probe_data"]) or (meta.task in LABELLED_TASKS and meta.num_classes >= 2)
        self.log_lines.append(f"task: {self.task} ({self.describe()}), encoder {config.model.name} with "
                              f"{encoder.num_features} features")
        self.log_lines.append(self._evaluation_line())

    # -- what subclasses provide -------------------------------------------------------------------
    def configure(self, meta) -> None:
        """Set up the task's layout and augmentations from the data (before the model is built)."""
        self.views = build_augmentation(self.config.data.augment) if self.config.data.augment else None

    def encoder_shape(self) -> tuple[int, ...]:
        """The input shape the encoder is built for (the data's, or a tile's)."""
        return self.input_shape

    def _resolve_feature_size(self, encoder: nn.Module) -> tuple[int, ...] | None:
        """The size whole inputs are resized to for the representation: None (they are used as they
        are) unless the encoder was built for tiles or patches and takes no other size."""
        trained = self.encoder_shape()
        if trained == self.input_shape or accepts_size(encoder, self.input_shape):
            return None
        self.log_lines.append(f"evaluation: {self.config.model.name} takes only its {trained[1:]} tiles, so whole "
                              f"inputs are resized to that size")
        return trained[1:]

    def build_head(self, num_features: int) -> nn.Module:
        """The pretext head on the encoder's ``num_features`` features (thrown away after training)."""
        raise NotImplementedError

    def describe(self) -> str:
        """The task's settings in a few words, for the run log."""
        return ""

    def pretext_step(self, batch: tuple[Tensor, ...], generator: torch.Generator) -> tuple[Tensor, Tensor]:
        """(loss, pretext accuracy) of one batch, random choices drawn from ``generator``."""
        raise NotImplementedError

    # -- data ------------------------------------------------------------------------------------------
    def _input_statistics(self) -> tuple[Tensor, Tensor]:
        channels = self.input_shape[0]
        train = self.data.train
        if train is None or len(train) == 0:  # rebuilt from meta.json: the saved buffers replace these
            return torch.zeros(channels), torch.ones(channels)
        return channel_statistics(self.split_tensors("train")[0])

    def split_tensors(self, split: str, bundle: DataBundle | None = None) -> tuple[Tensor, Tensor | None] | None:
        """A whole split of the training data (or of ``bundle``) as (x, y) tensors on the recipe's device
        (None when it is empty)."""
        data = (bundle or self.data).splits()[split]
        if data is None or len(data) == 0:
            return None
        if isinstance(data, TensorSplit):
            return data.x.to(self.device), None if data.y is None else data.y.to(self.device)
        batches = [self.transfer(b) for b in make_loader(data, self.config.train.eval_batch_size, self.device)]
        x = torch.cat([b[0] for b in batches])
        return x, torch.cat([b[1] for b in batches]) if len(batches[0]) > 1 else None

    def loader(self, split: str, batch_size: int, *, shuffle: bool = False, seed: int = 0,
               rank: int = 0, world_size: int = 1):
        """As the default loader, but training drops a short last batch (contrastive and pretext
        losses want full batches; batch norm needs more than one item; under torchrun SimCLR gathers
        equal batches from every process)."""
        data = self.data.splits()[split]
        if data is None or len(data) == 0:
            return []
        if shuffle and world_size > 1 and len(data) < batch_size * world_size:
            raise ConfigError(f"task {self.task}: the training split ({len(data)} items) is smaller than one "
                              f"global batch ({world_size} processes × {batch_size}); lower train.batch_size")
        drop_last = shuffle and len(data) > batch_size * world_size
        return make_loader(data, batch_size, self.device, shuffle=shuffle, seed=seed,
                           resident=self.config.data.resident, num_workers=self.config.data.num_workers,
                           rank=rank, world_size=world_size, drop_last=drop_last)

    def _train_generator(self, device: torch.device) -> torch.Generator:
        if self.generator is None:
            self.generator = torch.Generator(device=device)
            self.generator.manual_seed(self.config.seed + 1)
        return self.generator

    # -- steps -----------------------------------------------------------------------------------------
    def training_step(self, batch, phase: str) -> dict[str, Tensor]:
        loss, accuracy = self.pretext_step(tuple(batch), self._train_generator(batch[0].device))
        return {"loss": loss, "pretext_accuracy": accuracy}

    @torch.no_grad()
    def evaluate(self, loader, split: str) -> dict[str, float]:
        """The pretext loss and accuracy on ``split``, with the same random choices at every epoch, on
        chunks of the training batch size."""
        generator = None
        totals, count = torch.zeros(2, device=self.device), 0
        for batch in loader:
            batch = tuple(self.transfer(batch))
            if generator is None:
                generator = torch.Generator(device=batch[0].device).manual_seed(self.config.seed + 2)
            # training-sized chunks: a contrastive loss depends on how many negatives a batch holds
            for chunk in zip(*(t.split(self.config.train.batch_size) for t in batch)):
                loss, accuracy = self.pretext_step(chunk, generator)
                totals += torch.stack([loss.float(), accuracy.float()]) * len(chunk[0])
                count += len(chunk[0])
        if not count:
            return {}
        loss, accuracy = (totals / count).tolist()
        return {"loss": loss, "pretext_accuracy": accuracy}

    @torch.no_grad()
    def predict(self, x: Tensor) -> dict[str, Tensor]:
        """The learned representation (features before the head) of new inputs."""
        self.model.eval()
        return {"features": self.model.features(x.to(self.device))}

    def state_dict(self) -> dict[str, Any]:
        return {"generator": self.generator.get_state()} if self.generator is not None else {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if "generator" in state:
            self.generator = torch.Generator(device=self.device)
            self.generator.set_state(state["generator"])

    # -- evaluation of the representation -------------------------------------------------------------
    def _evaluation_line(self) -> str:
        a = self.args
        if not a["evaluate"]:
            return "evaluation: off (task_args.evaluate=false)"
        if not self.has_labels:
            return (f"evaluation: skipped ({self.data.meta.name} has no class labels; task_args.probe_data=SPEC "
                    "evaluates on a labelled dataset)")
        line = (f"evaluation: linear probe and kNN (k={a['knn_k']}, t={a['knn_t']}) on the frozen encoder, "
                "beside the random-init encoder and a linear probe on the inputs")
        if a["probe_data"]:
            line += f", on the splits of {a['probe_data']}"
        if a["finetune"]:
            line += f"; fine-tuning on 1/10/100% of the labels ({a['finetune_epochs']} epochs)"
        if a["supervised"]:
            line += f"; supervised from scratch ({a['supervised_epochs']} epochs)"
        return line

    def initial_model(self) -> SSLModel:
        """The encoder as it was before training (same architecture, same seed) with the same input
        normalisation — the random-init baseline."""
        encoder = build_encoder(self.config, self.encoder_shape()).to(self.device)
        return SSLModel(encoder, nn.Identity(), self.model.mean, self.model.std, len(self.input_shape) - 1,
                        self.feature_size, self.standardize_inputs)

    def labelled_data(self) -> DataBundle:
        """The data the representation is evaluated on: the training data, or the ``probe_data`` set read
        as the training data was (no normalisation: the model normalises its inputs), which must hold
        class labels and inputs of the training shape."""
        if self.evaluation_data is None:
            spec = self.args["probe_data"]
            probe = load_dataset(spec, normalize="none", seed=self.config.seed)
            if probe.meta.task not in LABELLED_TASKS or probe.meta.num_classes < 2:
                raise ConfigError(f"task_args.probe_data={spec}: holds no class labels to probe with")
            if tuple(probe.meta.input_shape) != tuple(self.data.meta.input_shape):
                raise ConfigError(f"task_args.probe_data={spec}: its inputs are {tuple(probe.meta.input_shape)}, "
                                  f"the encoder was trained on {tuple(self.data.meta.input_shape)}")
            self.evaluation_data = probe
        return self.evaluation_data

    def evaluate_representation(self) -> dict[str, float]:
        """The evaluation protocol (module docstring); every encoder is frozen except in fine-tuning,
        which trains copies."""
        a, bundle = self.args, self.labelled_data()
        classes = bundle.meta.num_classes
        splits: dict[str, tuple[Tensor, Tensor]] = {}
        for name in ("train", "valid", "test"):
            pair = self.split_tensors(name, bundle)
            if pair is not None and pair[1] is not None:
                splits[name] = (pair[0], pair[1].long())
        if "train" not in splits:
            return {}
        metrics: dict[str, float] = {}

        def report(name: str, result: dict[str, float]) -> None:
            metrics.update({f"{split}/{name}": result[split] for split in ("valid", "test") if split in result})

        random_model = self.initial_model()
        raw = SSLModel(nn.Flatten(), nn.Identity(), self.model.mean, self.model.std, len(self.input_shape) - 1)
        for prefix, model in (("", self.model), ("random_", random_model), ("raw_", raw)):
            features = {name: (extract_features(model.features, model, x, self.config.train.eval_batch_size), y)
                        for name, (x, y) in splits.items()}
            report(f"{prefix}linear_accuracy", linear_probe(features["train"], features.get("valid"),
                                                            features.get("test"), classes, a["probe_steps"]))
            if prefix != "raw_":
                report(f"{prefix}knn_accuracy", {name: knn_accuracy(features["train"], pair, classes, a["knn_k"],
                                                                    a["knn_t"]) for name, pair in features.items()})
        tune = dict(num_classes=classes, lr=a["finetune_lr"], batch_size=self.config.train.batch_size,
                    seed=self.config.seed)
        args = (splits["train"], splits.get("valid"), splits.get("test"))
        if a["finetune"]:
            for fraction in FINETUNE_FRACTIONS:
                result = fine_tune(self.model, self.model.num_features, *args, fraction=fraction,
                                   epochs=a["finetune_epochs"], **tune)
                report(f"finetune_{round(fraction * 100)}pct_accuracy", result)
        if a["supervised"]:
            result = fine_tune(random_model, self.model.num_features, *args, fraction=1.0,
                               epochs=a["supervised_epochs"], **tune)
            report("supervised_accuracy", result)
        return metrics

    def on_train_end(self, run_dir: Path | None) -> dict[str, float]:
        """The representation's evaluation (with labels) and the plots of the pretext inputs."""
        metrics = self.evaluate_representation() if self.args["evaluate"] and self.has_labels else {}
        if run_dir is not None and self.config.train.plots:
            from ..plots.ssl import evaluation_plot, examples_plot

            sample = self.split_tensors("valid") or self.split_tensors("train")
            if sample is not None:
                generator = torch.Generator(device=self.device).manual_seed(self.config.seed + 3)
                examples_plot(self.examples(sample[0][:8], generator), run_dir / "plots" / "pretext_examples.png")
            if metrics:
                evaluation_plot(metrics, run_dir / "plots" / "evaluation.png")
        return metrics

    def examples(self, x: Tensor, generator: torch.Generator) -> list[tuple[str, Tensor]]:
        """Rows of example inputs for the pretext plot: (title, batch) pairs."""
        return [("input", x)]


class SimCLRRecipe(SSLRecipe):
    """SimCLR (Chen et al. 2020): two random views of every image, encoder f, projection head g,
    NT-Xent over the 2N views (τ = 0.5, the paper's best for CIFAR-10 at convergence). Both views of a
    batch are made in one batched call on the device. The paper trains with LARS and a warmup +
    cosine schedule: ``--set optim.name=lars --set optim.lr=... --set sched.name=cosine
    --set sched.warmup_epochs=10``; Adam (the default optimizer) works at small batch sizes."""

    options: ClassVar[dict[str, Option]] = {
        "temperature": Option(0.5, "τ of NT-Xent (> 0)"),
        "projection_dim": Option(128, "output width of the projection head g"),
        "projection_hidden": Option(0, "hidden width of g; 0: as wide as the encoder's features (SimCLR: 2048 "
                                    "for a ResNet-50)"),
        "strength": Option(0.5, "colour-distortion strength s (RGB only)"),
        "crop_scale": Option(None, "smallest and largest crop area, e.g. [0.08, 1]; default 0.08..1 (0.3..1 "
                             "under 16 pixels)", kind="floats"),
        "blur": Option(False, "Gaussian blur (ImageNet recipe; off for small images as in the paper's CIFAR "
                       "runs)"),
        **EVALUATION_OPTIONS,
    }

    def configure(self, meta) -> None:
        a = self.args
        if not a["temperature"] > 0:
            raise ConfigError(f"simclr: task_args.temperature must be > 0, got {a['temperature']}")
        self.views = build_views(meta, self.config.data.augment, strength=a["strength"],
                                 crop_scale=a["crop_scale"], blur=a["blur"])

    def describe(self) -> str:
        return f"τ={self.args['temperature']}, views: {describe(self.views)}"

    def build_head(self, num_features: int) -> nn.Module:
        hidden = self.args["projection_hidden"] or num_features
        return projection_head(num_features, hidden, self.args["projection_dim"])

    def two_views(self, x: Tensor, generator: torch.Generator) -> Tensor:
        """(2N, ...) views: rows i and i + N are the two views of image i."""
        views, _ = self.views(torch.cat([x, x]), generator=generator)
        return views

    def pretext_step(self, batch, generator):
        """NT-Xent and the positive-pair accuracy of a batch. While training under torchrun the negatives
        are the global batch's (SimCLR §2.2); evaluation runs the whole split on every process, so its
        batches stay on their own process (gathered, the same views would be their own negatives)."""
        z = self.net(self.two_views(batch[0], generator)).float()
        z1, z2 = z.chunk(2)
        across = self.model.training
        return (nt_xent_loss(z1, z2, self.args["temperature"], across),
                positive_pair_accuracy(z1, z2, across))

    def examples(self, x, generator):
        views = self.two_views(x, generator)
        return [("input", x), ("view 1", views[: len(x)]), ("view 2", views[len(x):])]


def cross_entropy_step(net: nn.Module, inputs: Tensor, labels: Tensor) -> tuple[Tensor, Tensor]:
    """(cross-entropy loss, accuracy) of a pretext classifier."""
    logits = net(inputs).float()
    return F.cross_entropy(logits, labels), (logits.argmax(1) == labels).float().mean()


TASKS.register("simclr", recipe="ssl", paper="Chen et al. 2020")(SimCLRRecipe)
