"""Four uses of a trained autoencoder, each a task of its own (``--task embed|anomaly|denoise|colorize``).

Every use trains exactly as :class:`~.autoencoder.AutoencoderRecipe` does and adds its measurement
at the end of training (metrics named ``<split>/<metric>`` in ``summary.json``) and its plots:

- ``embed`` — the code as a feature space: t-SNE of the test codes coloured by label, and kNN
  accuracy on the codes against raw inputs and against PCA with as many dimensions as the code.
- ``anomaly`` — train on normal items only; the anomaly score is the reconstruction error; the
  threshold comes from the validation split; ROC-AUC, precision and recall on the test split.
- ``denoise`` — masking noise (Vincent et al. 2008) on the input, the clean item as target; PSNR of the
  noisy and of the denoised test items, and the first layer's filters as images.
- ``colorize`` — a convolutional autoencoder from the grayscale (luma) image to the colour image;
  PSNR of the colourised and of the grayscale test images.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch

from ..config import RunConfig
from ..data import DataBundle, DatasetMeta
from ..errors import ConfigError
from ..metrics.image import psnr
from ..models import accepted_kwargs
from .autoencoder import EVAL_NOISE_OFFSET, AutoencoderRecipe, data_span
from .base import TASKS, Option

CLASSIFIED = ("binary", "multiclass")


def _require_labels(meta: DatasetMeta, task: str, why: str) -> None:
    if meta.task not in CLASSIFIED:
        raise ConfigError(f"task {task} needs class labels ({why}); {meta.name} has {meta.task} targets")


def _plots(recipe: AutoencoderRecipe, run_dir: Path | None) -> Path | None:
    """The run's plots folder when plots are on, else None."""
    return run_dir / "plots" if run_dir is not None and recipe.config.train.plots else None


# -- embed -----------------------------------------------------------------------------------------
def knn_accuracy(train: np.ndarray, train_labels: np.ndarray, test: np.ndarray, test_labels: np.ndarray,
                 neighbours: int) -> float:
    """Test accuracy of a k-nearest-neighbour classifier (Euclidean) fit on the training items."""
    from sklearn.neighbors import KNeighborsClassifier

    knn = KNeighborsClassifier(n_neighbors=min(neighbours, len(train)))
    return float(knn.fit(train, train_labels).score(test, test_labels))


class EmbedRecipe(AutoencoderRecipe):
    """The code as features: kNN on codes vs raw inputs vs PCA of the same size, and a t-SNE map.

    Options: ``task_args.k`` (neighbours, 5). The course compares codes of 2 to 32 dimensions
    (``--set model.code_size=8``); PCA gets as many components as the code has (at most the number
    of input features).
    """

    options: ClassVar[dict[str, Option]] = {"k": Option(5, "neighbours of the kNN classifier on the codes")}

    def __init__(self, config: RunConfig, data: DataBundle):
        _require_labels(data.meta, config.task or "embed", "kNN accuracy and the t-SNE colours come from them")
        super().__init__(config, data)
        self.neighbours = self.args["k"]
        if self.neighbours < 1:
            raise ConfigError(f"task_args.k={self.neighbours}: the number of neighbours must be at least 1")
        probe = self.inputs_and_target(torch.zeros(1, *data.meta.input_shape))[0]
        self.model.eval()
        with torch.no_grad():
            self.code_dims = self.model.encode(probe).numel()
        self.model.train()
        note = "" if 2 <= self.code_dims <= 32 else " (the course compares 2 to 32; set model.code_size)"
        self.log_lines.append(f"embed: codes of {self.code_dims} dimensions{note}; kNN with k = {self.neighbours} "
                              "on codes vs raw inputs vs PCA of the same size")

    def on_train_end(self, run_dir: Path | None) -> dict[str, float]:
        metrics = super().on_train_end(run_dir)
        from sklearn.decomposition import PCA

        train, test = self.data.train, self.data.test
        train_codes = self.encode_all(train.x).cpu().numpy()
        test_codes = self.encode_all(test.x).cpu().numpy()
        train_raw, test_raw = train.x.flatten(1).numpy(), test.x.flatten(1).numpy()
        y_train, y_test = train.y.numpy(), test.y.numpy()
        components = min(self.code_dims, train_raw.shape[1], len(train_raw))
        pca = PCA(n_components=components, random_state=self.config.seed).fit(train_raw)
        metrics.update({
            "test/knn_code_accuracy": knn_accuracy(train_codes, y_train, test_codes, y_test, self.neighbours),
            "test/knn_raw_accuracy": knn_accuracy(train_raw, y_train, test_raw, y_test, self.neighbours),
            "test/knn_pca_accuracy": knn_accuracy(pca.transform(train_raw), y_train, pca.transform(test_raw),
                                                  y_test, self.neighbours),
            "test/code_dims": float(self.code_dims),
        })
        plots = _plots(self, run_dir)
        if plots is not None:
            self.save_tsne(test_codes, y_test, plots / "tsne.png", metrics["test/knn_code_accuracy"])
        return metrics

    def save_tsne(self, codes: np.ndarray, labels: np.ndarray, path: Path, accuracy: float) -> None:
        """t-SNE (van der Maaten & Hinton 2008) of the test codes, coloured by label."""
        from sklearn.manifold import TSNE

        from ..plots.autoencoder import embedding_figure

        if codes.shape[1] == 2:
            points = codes
            how = "the 2-D codes themselves"
        else:
            perplexity = min(30.0, (len(codes) - 1) / 3)
            points = TSNE(n_components=2, perplexity=perplexity, init="pca",
                          random_state=self.config.seed).fit_transform(codes)
            how = f"t-SNE of {codes.shape[1]}-D codes"
        embedding_figure(points, labels, self.data.meta.class_names, path,
                         f"{self.config.model.name}: {how} (test), kNN accuracy {accuracy:.3f}")


# -- anomaly ---------------------------------------------------------------------------------------
def anomaly_class_index(value: Any, meta: DatasetMeta) -> int:
    """The index of the anomalous class, given by name (or index) in ``task_args.anomaly_class``.

    Default: the positive class ``class_names[1]`` of binary labels (fraud = 1), the first class of
    multi-class labels (the digit 0 of ``digits``).
    """
    names = list(meta.class_names)
    if value is None:
        return 1 if meta.task == "binary" else 0
    if str(value) in names:
        return names.index(str(value))
    raise ConfigError(f"task_args.anomaly_class={value!r} is not a class of {meta.name}; "
                      f"the classes are {', '.join(names)}")


def best_f1_threshold(scores: np.ndarray, is_anomaly: np.ndarray) -> float:
    """The score threshold (anomaly when score ≥ threshold) of highest F1 on labelled items."""
    from sklearn.metrics import precision_recall_curve

    precision, recall, thresholds = precision_recall_curve(is_anomaly, scores)
    f1 = 2 * precision[:-1] * recall[:-1] / np.maximum(precision[:-1] + recall[:-1], 1e-12)
    return float(thresholds[int(np.argmax(f1))])


def detection_metrics(scores: np.ndarray, is_anomaly: np.ndarray, threshold: float) -> dict[str, float]:
    """ROC-AUC and average precision of the scores; precision, recall and F1 at ``threshold``."""
    from sklearn.metrics import average_precision_score, precision_recall_fscore_support, roc_auc_score

    flagged = scores >= threshold
    precision, recall, f1, _ = precision_recall_fscore_support(is_anomaly, flagged, average="binary",
                                                               zero_division=0)
    return {"roc_auc": float(roc_auc_score(is_anomaly, scores)),
            "average_precision": float(average_precision_score(is_anomaly, scores)),
            "precision": float(precision), "recall": float(recall), "f1": float(f1)}


class AnomalyRecipe(AutoencoderRecipe):
    """Anomaly detection by reconstruction error: an autoencoder trained on normal items reconstructs
    them well and the others badly (Japkowicz et al. 1995; Sakurada & Yairi 2014).

    Training and early stopping use only the normal items of the train and valid splits (the labels
    say which are anomalous); the test split keeps both. The score of an item is its reconstruction
    MSE; an item is flagged when its score ≥ the threshold, chosen on the validation split by
    ``task_args.threshold``:

    - ``percentile`` (default) — the ``task_args.percentile``-th (95) percentile of the normal
      validation errors: needs no labelled anomalies, and flags about 5% of normal items;
    - ``f1`` — the threshold of best F1 on the whole validation split (normal and anomalous);
    - a number — that threshold.

    ``task_args.anomaly_class`` names the anomalous class (see :func:`anomaly_class_index`). The
    threshold is kept in the model as the buffer ``anomaly_threshold`` (so ``predict`` flags new items).
    """

    options: ClassVar[dict[str, Option]] = {
        "anomaly_class": Option(None, "the anomalous class, by name (default: the positive class of binary "
                                "labels, the first class otherwise)", kind="str"),
        "threshold": Option("percentile", "the decision threshold: percentile, f1 or a number", kind="any"),
        "percentile": Option(95.0, "the percentile of normal validation errors used by threshold=percentile"),
    }

    def __init__(self, config: RunConfig, data: DataBundle):
        meta = data.meta
        task = config.task or "anomaly"
        _require_labels(meta, task, "they say which items are anomalies")
        args = self.resolve_task_args(config, task)  # read before the normal-only data is built
        self.anomaly_index = anomaly_class_index(args["anomaly_class"], meta)
        self.rule = args["threshold"]
        self.percentile = args["percentile"]
        if not 0 < self.percentile < 100:
            raise ConfigError(f"task_args.percentile={self.percentile} must lie strictly between 0 and 100")
        if not isinstance(self.rule, (int, float)) and self.rule not in ("percentile", "f1"):
            raise ConfigError(f"task_args.threshold={self.rule!r} is not percentile, f1 or a number")
        self.full_valid = data.valid
        super().__init__(config, self.normal_only(data))
        self.model.register_buffer("anomaly_threshold", torch.tensor(float("nan")))
        name = meta.class_names[self.anomaly_index]
        rule = (f"{self.percentile:g}th percentile of normal validation errors" if self.rule == "percentile"
                else "best F1 on the validation split" if self.rule == "f1" else f"fixed at {self.rule}")
        self.log_lines.append(f"anomaly: class {name!r} of {meta.name} is the anomaly; score = reconstruction "
                              f"MSE; threshold = {rule}")
        if data.train is not None:
            removed = [int((split.y == self.anomaly_index).sum()) for split in (data.train, data.valid)]
            self.log_lines.append(f"anomaly: training on {len(self.data.train)} normal items ({removed[0]} "
                                  f"anomalous train and {removed[1]} valid items left out); test keeps both")
            self._check_splits(data, name)
        if not meta.is_image and meta.mean is None and self.model.recon_kind != "bce":
            self.log_lines.append("note: the features are not standardised (data.normalize=none), so columns of "
                                  "large values dominate the error; consider --set data.normalize=standard")

    def normal_only(self, data: DataBundle) -> DataBundle:
        """The bundle with anomalous items removed from train and valid (test untouched)."""
        if data.train is None:  # a run loaded from its folder without data
            return data
        train, valid = (split.subset(split.y != self.anomaly_index) for split in (data.train, data.valid))
        return DataBundle(train, valid, data.test, data.meta)

    def _check_splits(self, data: DataBundle, name: str) -> None:
        """Fail before training when a measurement would be undefined."""
        if not len(self.data.train):
            raise ConfigError(f"task anomaly: no normal training items left once class {name!r} is removed")
        if not bool((data.test.y == self.anomaly_index).any()) or bool((data.test.y == self.anomaly_index).all()):
            raise ConfigError(f"task anomaly: the test split needs both normal items and items of class {name!r}")
        if self.rule == "f1" and not bool((data.valid.y == self.anomaly_index).any()):
            raise ConfigError(f"task_args.threshold=f1 needs items of class {name!r} in the validation split; "
                              "use threshold=percentile")

    def choose_threshold(self) -> float:
        """The decision threshold on the score, from the validation split (see the class docstring)."""
        if isinstance(self.rule, (int, float)):
            return float(self.rule)
        if self.rule == "f1":
            scores = self.reconstruction_errors(self.full_valid.x).cpu().numpy()
            return best_f1_threshold(scores, (self.full_valid.y == self.anomaly_index).numpy())
        normal = self.data.valid if len(self.data.valid) else self.data.train
        return float(np.percentile(self.reconstruction_errors(normal.x).cpu().numpy(), self.percentile))

    def on_train_end(self, run_dir: Path | None) -> dict[str, float]:
        metrics = super().on_train_end(run_dir)
        threshold = self.choose_threshold()
        self.model.anomaly_threshold.fill_(threshold)
        scores = self.reconstruction_errors(self.data.test.x).cpu().numpy()
        is_anomaly = (self.data.test.y == self.anomaly_index).numpy()
        found = detection_metrics(scores, is_anomaly, threshold)
        metrics.update({f"test/{k}": v for k, v in found.items()})
        metrics["valid/threshold"] = threshold
        plots = _plots(self, run_dir)
        if plots is not None:
            from ..plots.autoencoder import error_histogram_figure

            name = self.data.meta.class_names[self.anomaly_index]
            error_histogram_figure(scores[~is_anomaly], scores[is_anomaly], threshold, plots / "anomaly_errors.png",
                                   f"test reconstruction errors, ROC-AUC {found['roc_auc']:.3f}",
                                   anomaly_name=f"class {name} (anomalous)")
        return metrics

    @torch.no_grad()
    def predict(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Anomaly score (reconstruction MSE) of new items and the 0/1 flag at the run's threshold."""
        self.model.eval()
        scores = self.reconstruction_errors(x)
        return {"score": scores, "anomaly": (scores >= self.model.anomaly_threshold).long()}


# -- denoise ---------------------------------------------------------------------------------------
class DenoiseRecipe(AutoencoderRecipe):
    """Denoising (Vincent et al. 2008): masking noise on the input, the clean item as target.

    Any autoencoder of the family can denoise: unless ``model.noise``/``model.noise_level`` say
    otherwise, the task sets masking noise with q = 0.25 (the notes' q = 0, 0.25 and 0.5 are
    ``--set model.noise_level=...``). Test metrics: ``psnr_noisy`` (the corrupted input against the
    clean item) and ``psnr_denoised`` (the reconstruction against the clean item), on the same noise.
    Plots: noisy / denoised / clean grids and the first layer's filters (``filters.png``).
    """

    row_labels = ("noisy", "denoised", "clean")

    def __init__(self, config: RunConfig, data: DataBundle):
        super().__init__(config, data)
        if self.model.noise == "none":
            raise ConfigError("task denoise needs input noise: set model.noise to mask, gaussian or salt_pepper")
        self.log_lines.append(f"denoise: {self.model.noise} noise, level {self.model.noise_level:g}; "
                              "the loss compares the output with the clean input")

    def model_kwargs(self, meta: DatasetMeta) -> dict[str, Any]:
        return {**super().model_kwargs(meta), "noise": "mask", "noise_level": 0.25}

    def on_train_end(self, run_dir: Path | None) -> dict[str, float]:
        metrics = super().on_train_end(run_dir)
        clean = self.data.test.x.to(self.device)
        noisy = self.model.corrupt(clean, self.fresh_generator(EVAL_NOISE_OFFSET))
        denoised = self.map_batches(self.model.reconstruct, noisy)
        span = data_span(self.data.meta, clean)
        metrics["test/psnr_noisy"] = float(psnr(noisy, clean, span).mean())
        metrics["test/psnr_denoised"] = float(psnr(denoised, clean, span).mean())
        plots = _plots(self, run_dir)
        if plots is not None:
            from ..plots.autoencoder import filters_figure, first_layer_filters

            filters = first_layer_filters(self.model, self.data.meta.input_shape)
            if filters is not None:
                filters_figure(filters, plots / "filters.png", f"{self.config.model.name} first-layer filters, "
                               f"{self.model.noise} noise {self.model.noise_level:g}")
        return metrics


# -- colorize --------------------------------------------------------------------------------------
LUMA_WEIGHTS = (0.299, 0.587, 0.114)  # ITU-R BT.601 (torchvision's rgb_to_grayscale uses 0.2989 for red)


def luma(x: torch.Tensor) -> torch.Tensor:
    """The grayscale (luma Y' = 0.299 R + 0.587 G + 0.114 B, ITU-R BT.601) of RGB images: (N, 1, H, W)."""
    weights = torch.tensor(LUMA_WEIGHTS, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
    return (x * weights).sum(1, keepdim=True)


class ColorizeRecipe(AutoencoderRecipe):
    """Colourisation: a convolutional autoencoder from the luma of a colour image to its colour.

    The model is built with ``in_chans=1, out_chans=3`` (``conv_ae``). As colourisation networks
    predict the chrominance given the lightness (Zhang et al. 2016, Iizuka et al. 2016) instead of
    re-drawing the whole image, the model's target is the colour residual x − luma(x) (in [−1, 1]:
    squared error, linear output) and the colourised image is luma + output, clamped to the data range.
    The squared error on the residual equals the squared error on the colour image, and the hourglass
    need not carry the luma through its bottleneck: an output of zero is the grayscale baseline. Test
    metrics: ``psnr_colorized`` and the baseline ``psnr_grayscale`` (the luma copied into the three
    channels).
    """

    row_labels = ("grayscale", "colorized", "original")

    def __init__(self, config: RunConfig, data: DataBundle):
        shape = tuple(data.meta.input_shape)
        if len(shape) != 3 or shape[0] != 3:
            raise ConfigError(f"task colorize needs colour images (3, H, W); {data.meta.name} items have shape {shape}")
        if "out_chans" not in accepted_kwargs(config.model.name, {"out_chans": 3}):
            raise ConfigError(f"task colorize needs a model that maps 1 channel to 3 (conv_ae); "
                              f"{config.model.name} has no out_chans")
        super().__init__(config, data)
        self.log_lines.append("colorize: input = luma (BT.601) of the colour image, target = colour − luma; "
                              "colourised = luma + output")

    def model_kwargs(self, meta: DatasetMeta) -> dict[str, Any]:
        return {**super().model_kwargs(meta), "in_chans": 1, "out_chans": 3, "value_range": (-1.0, 1.0)}

    def inputs_and_target(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        gray = luma(x)
        return gray, x - gray

    def colorize(self, gray: torch.Tensor) -> torch.Tensor:
        """Colour images (N, 3, H, W) from their luma: luma + predicted residual, in the data range."""
        colour = gray + self.model.reconstruct(gray)
        value_range = self.data.meta.value_range
        return colour if value_range is None else colour.clamp(*value_range)

    @torch.no_grad()
    def example_rows(self, x: torch.Tensor, generator: torch.Generator) -> list[tuple[str, torch.Tensor]]:
        x = x.to(self.device)
        gray = luma(x)
        return [(self.row_labels[0], gray.expand_as(x)), (self.row_labels[1], self.colorize(gray)),
                (self.row_labels[2], x)]

    def on_train_end(self, run_dir: Path | None) -> dict[str, float]:
        metrics = super().on_train_end(run_dir)
        colour = self.data.test.x.to(self.device)
        gray = luma(colour)
        span = data_span(self.data.meta, colour)
        metrics["test/psnr_colorized"] = float(psnr(self.map_batches(self.colorize, gray), colour, span).mean())
        metrics["test/psnr_grayscale"] = float(psnr(gray.expand_as(colour), colour, span).mean())
        return metrics


TASKS.register("embed", recipe="autoencoder")(EmbedRecipe)
TASKS.register("anomaly", recipe="autoencoder")(AnomalyRecipe)
TASKS.register("denoise", recipe="autoencoder")(DenoiseRecipe)
TASKS.register("colorize", recipe="autoencoder")(ColorizeRecipe)
