"""From raw arrays to a validated :class:`DataBundle`: label encoding, task inference, deterministic
(stratified) splits, the encoding of table columns (categories, imputation) and normalisation, both with
statistics from the training split only. Also the one answer every loader gives to an option it does not
take (:func:`reject_unknown`)."""

from __future__ import annotations

import difflib
import inspect
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import torch
from sklearn.model_selection import train_test_split

from ..errors import DataError
from .bundle import DataBundle, DatasetMeta, TensorSplit
from .formats_common import int_option
from .table_encoding import TableSchema
from .targets import SUPERVISED_TASKS, check_task_targets, infer_task

NORMALIZE_MODES = ("standard", "none", "symmetric")


class UnknownOptions(DataError):
    """Options a loader does not take: one line naming them, the closest known names and the list.

    The loader that finds them knows its own options; :func:`~deepzoo.data.load_dataset` adds those of
    the format or dataset that passed them on (:meth:`widened`), so ``csv:f.csv?targt=y`` suggests
    ``target`` although :func:`build_bundle` is where ``targt`` is found unused.
    """

    def __init__(self, source: str, unknown: Iterable[str], known: Iterable[str]):
        self.source, self.unknown, self.known = source, sorted(unknown), list(dict.fromkeys(known))
        close = [m for key in self.unknown for m in difflib.get_close_matches(key, self.known, n=1, cutoff=0.6)]
        hint = f"; did you mean {', '.join(dict.fromkeys(close))}?" if close else ""
        listed = f" (options: {', '.join(sorted(self.known))})" if self.known else ""
        super().__init__(f"{source}: unknown option(s) {', '.join(self.unknown)}{hint}{listed}")

    def widened(self, known: Iterable[str]) -> UnknownOptions:
        """The same error with more known names to match against."""
        return UnknownOptions(self.source, self.unknown, [*known, *self.known])


def option_names(function: Callable) -> list[str]:
    """The options a loader takes: its parameters that have a default (``**options`` excluded)."""
    return [p.name for p in inspect.signature(function).parameters.values()
            if p.default is not inspect.Parameter.empty and p.kind is not p.VAR_KEYWORD]


def reject_unknown(options: dict[str, Any], source: str, known: Iterable[str] = ()) -> None:
    """Raise :class:`UnknownOptions` if ``options`` (what a loader did not use) is not empty."""
    if options:
        raise UnknownOptions(source, options, known)


def check_bundle_options(options: dict[str, Any], source: str) -> None:
    """Refuse, before a format reads its file, the options it passes on that :func:`build_bundle` will not
    take either, so a misspelt ``?imptue=true`` is named before the cell it would have filled."""
    known = option_names(build_bundle)
    reject_unknown({k: v for k, v in options.items() if k not in known}, source, known)


@dataclass
class RawData:
    """Arrays as a source gives them, before splitting.

    ``x`` is (N, features) for tables, (N, C, L) for signals and (N, C, H, W) for images in [0, 1];
    ``y`` is (N,) labels or values, (N, K) for multi-label or multi-target, or None. ``x_test`` and
    ``y_test`` are the source's own test split when it has one. ``source`` names the file for errors.
    A table with text categories or cells to impute has a ``table`` schema: ``x`` then holds the parsed
    cells (an object array, see :class:`~deepzoo.data.table_encoding.TableSchema`), encoded after the split.
    """

    name: str
    x: np.ndarray
    y: np.ndarray | None
    x_test: np.ndarray | None = None
    y_test: np.ndarray | None = None
    class_names: list[str] | None = None
    source: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    table: TableSchema | None = None


def _float(value: Any, default: float, name: str, source: str) -> float:
    try:
        out = float(default if value is None else value)
    except (TypeError, ValueError):
        raise DataError(f"{source}: option {name}={value!r} is not a number") from None
    if not 0.0 <= out < 1.0:
        raise DataError(f"{source}: option {name}={out} must be in [0, 1)")
    return out


def check_finite(x: np.ndarray, source: str, what: str = "feature") -> None:
    """Raise :class:`DataError` naming the first row that holds NaN or inf."""
    if x.dtype.kind != "f":
        return
    bad = ~np.isfinite(x.reshape(len(x), -1)).all(axis=1)
    if bad.any():
        row = int(np.argmax(bad))
        raise DataError(f"{source}: row {row} has a NaN or infinite {what} value")


def _validate(raw: RawData) -> str:
    source = raw.source or raw.name
    if len(raw.x) == 0:
        raise DataError(f"{source}: the dataset is empty")
    for x, y, part in ((raw.x, raw.y, "data"), (raw.x_test, raw.y_test, "test data")):
        if x is not None and y is not None and len(x) != len(y):
            raise DataError(f"{source}: {part} has {len(x)} inputs but {len(y)} targets")
    if raw.table is None:
        check_finite(raw.x, source)
        if raw.x_test is not None:
            check_finite(raw.x_test, source)
    if raw.y is not None and raw.y.dtype.kind == "f":
        check_finite(raw.y, source, "target")
    return source


def _encode_labels(y: np.ndarray, y_test: np.ndarray | None, names: list[str] | None):
    """Map class labels to 0..K-1; keep the given names or use the sorted distinct values."""
    if y_test is not None:
        values = np.unique(np.concatenate([y.astype(str) if y.dtype.kind in "OUS" else y, y_test]))
    else:
        values = np.unique(y)
    if names is not None and values.dtype.kind in "iu" and values.min() >= 0 and values.max() < len(names):
        return y.astype(np.int64), None if y_test is None else y_test.astype(np.int64), list(names)
    index = {v: i for i, v in enumerate(values.tolist())}
    enc = np.array([index[v] for v in y.tolist()], dtype=np.int64)
    enc_test = None if y_test is None else np.array([index[v] for v in y_test.tolist()], dtype=np.int64)
    return enc, enc_test, [str(v) for v in values.tolist()]


def _split(n: int, fraction: float, seed: int, stratify: np.ndarray | None, source: str = ""):
    """Deterministic index split; stratified when every class has at least two members."""
    idx = np.arange(n)
    if fraction <= 0:
        return idx, idx[:0]
    if n - int(np.ceil(fraction * n)) < 1:
        raise DataError(f"{source}: {n} row(s) are too few to hold out {fraction:.0%} "
                        "(set valid_fraction / test_fraction to 0)")
    strat = stratify
    if strat is not None:
        counts = np.unique(strat, return_counts=True)[1]
        n_out = int(np.ceil(fraction * n))
        if counts.min() < 2 or n_out < len(counts) or n - n_out < len(counts):
            strat = None
    keep, out = train_test_split(idx, test_size=fraction, random_state=seed, stratify=strat)
    return np.sort(keep), np.sort(out)


def _stats_axes(x: np.ndarray) -> tuple[int, ...]:
    """Per feature for tables, per channel for signals (N, C, L) and images (N, C, H, W)."""
    return (0,) if x.ndim == 2 else (0, *range(2, x.ndim))


#: a split's arrays, (inputs, targets or None)
Arrays = tuple[np.ndarray, "np.ndarray | None"]


def build_bundle(
    raw: RawData,
    seed: int | str = 0,
    valid_fraction: float | str | None = None,
    test_fraction: float | str | None = None,
    normalize: str = "standard",
    task: str | None = None,
    standardize_targets: bool | str = True,
    fitted: DatasetMeta | None = None,
    **unused: Any,
) -> DataBundle:
    """Validate ``raw``, infer the task, split it and normalise it — or, given a trained run's ``fitted``
    metadata, preprocess all of it with the run's statistics instead (:func:`_apply_fitted`).

    ``task`` overrides the inferred supervised task (e.g. integer targets read as ``regression``);
    any other value (``anomaly``, ``gan`` ...) keeps the inferred one, which describes the targets.

    Splits: the source's test split when it has one, else ``test_fraction`` (default 0.2) of the data;
    then ``valid_fraction`` (default 0.2) of what is left. Classification splits are stratified. The
    same seed gives the same split. The stages are :func:`_settle_targets`, :func:`_split_rows`,
    :func:`_encode_table`, :func:`_normalize_inputs` and :func:`_standardize_targets`: every statistic
    (categories, imputed values, normalisation) comes from the training split, which exists only once
    the rows are split.
    """
    reject_unknown(unused, raw.source or raw.name, option_names(build_bundle))
    if normalize not in NORMALIZE_MODES:
        raise DataError(f"normalize={normalize!r} is not one of {', '.join(NORMALIZE_MODES)}")
    source = _validate(raw)
    if fitted is not None:
        return _apply_fitted(raw, fitted, source)
    x, x_test = raw.x, raw.x_test
    if raw.table is None:
        x = x.astype(np.float32, copy=False)
        x_test = None if x_test is None else x_test.astype(np.float32, copy=False)
    task, reason, y, y_test, class_names = _settle_targets(raw, task, source)
    rows = _split_rows(np.arange(len(x)), y, None if x_test is None else np.arange(len(x_test)), y_test, task,
                       int_option(seed, "seed", source), _float(valid_fraction, 0.2, "valid_fraction", source),
                       _float(test_fraction, 0.2, "test_fraction", source), source)
    splits = {k: ((x_test if k == "test" and x_test is not None else x)[index], ys)
              for k, (index, ys) in rows.items()}
    encoding = None
    extra = dict(raw.extra)
    if raw.table is not None:
        splits, encoding = _encode_table(splits, raw.table, source)
        extra["table"] = encoding.to_dict()
        if normalize == "symmetric":
            raise DataError(f"{source}: normalize=symmetric maps images in [0, 1]; use standard or none for a table")
    splits, mean, std, value_range = _normalize_inputs(
        splits, normalize, None if encoding is None else encoding.standardized())
    target_mean = target_std = None
    if task == "regression" and str(standardize_targets).lower() not in ("false", "0", "no"):
        splits, target_mean, target_std = _standardize_targets(splits)

    meta = DatasetMeta(
        name=raw.name,
        task=task,
        task_reason=reason,
        input_shape=tuple(int(s) for s in splits["train"][0].shape[1:]),
        num_classes=len(class_names) if task in ("binary", "multiclass", "multilabel") else 0,
        num_targets=int(y.shape[1]) if task == "regression" and y is not None else 0,
        class_names=class_names,
        mean=mean,
        std=std,
        target_mean=target_mean,
        target_std=target_std,
        value_range=value_range,
        extra=extra,
    )
    if task == "multilabel" and not class_names:
        meta.class_names = [str(i) for i in range(y.shape[1])]
        meta.num_classes = y.shape[1]
    return DataBundle(**{k: _tensor_split(*v, rows[k][0]) for k, v in splits.items()}, meta=meta)


def normalize_like(x: np.ndarray, meta: DatasetMeta) -> np.ndarray:
    """Inputs ``x`` normalised with a run's training statistics (``meta.mean``/``meta.std``, per feature or
    channel; a no-op without them)."""
    if meta.mean is None:
        return x
    shape = (1, -1) + (1,) * (x.ndim - 2)
    mean = np.asarray(meta.mean, dtype=np.float32).reshape(shape)
    return (x - mean) / np.asarray(meta.std, dtype=np.float32).reshape(shape)


def _apply_fitted(raw: RawData, meta: DatasetMeta, source: str) -> DataBundle:
    """Every row of ``raw`` (its own test rows included) as the ``test`` split, preprocessed with a trained
    run's statistics — input normalisation, class names, target standardisation; a table's encoding was
    applied by its reader — none recomputed, so a score measures the run's own pipeline on new data. The
    bundle's meta is the run's, with ``extra["unseen_categories"]`` from the reader."""
    if not isinstance(meta, DatasetMeta):
        raise DataError(f"{source}: option fitted takes a trained run's metadata (deepzoo evaluate --data sets it)")
    if raw.y is None:
        raise DataError(f"{source}: has no targets to score the run against")
    x = raw.x if raw.x_test is None else np.concatenate([raw.x, raw.x_test])
    y = raw.y if raw.y_test is None else np.concatenate([raw.y, raw.y_test])
    x = x.astype(np.float32, copy=False)
    if tuple(x.shape[1:]) != tuple(meta.input_shape):
        raise DataError(f"{source}: inputs of shape {tuple(x.shape[1:])}, the run was trained on "
                        f"{tuple(meta.input_shape)}")
    split = _tensor_split(normalize_like(x, meta), _fitted_targets(y, raw.class_names, meta, source))
    empty = split.subset(torch.arange(0))
    extra = {**meta.extra, "unseen_categories": raw.extra.get("unseen_categories", {})}
    return DataBundle(empty, empty, split, meta=replace(meta, extra=extra))


def _fitted_targets(y: np.ndarray, names: list[str] | None, meta: DatasetMeta, source: str) -> np.ndarray:
    """Targets in the form a run trained on: class indices by the run's class names, label columns in the
    run's order, or regression values standardised with the run's target statistics."""
    if meta.task in ("binary", "multiclass"):
        y = y.reshape(len(y), -1)[:, 0] if y.ndim == 2 and y.shape[1] == 1 else y
        integral = names is not None and y.dtype.kind in "iu" and y.size > 0 and 0 <= y.min() and y.max() < len(names)
        labels = [names[v] for v in y.tolist()] if integral else [str(v) for v in y.tolist()]
        index = {name: i for i, name in enumerate(meta.class_names)}
        for row, label in enumerate(labels):
            if label not in index:
                raise DataError(f"{source}: row {row} has label {label!r}, which is not one of the run's classes "
                                f"({', '.join(meta.class_names)})")
        return np.array([index[label] for label in labels], dtype=np.int64)
    if meta.task == "multilabel":
        if y.ndim != 2:
            raise DataError(f"{source}: the run predicts several labels per row; these targets are one per row")
        columns = names or [str(j) for j in range(y.shape[1])]
        unknown = [name for name in columns if name not in meta.class_names]
        if unknown:
            raise DataError(f"{source}: label(s) {', '.join(unknown)} are not among the run's "
                            f"({', '.join(meta.class_names)})")
        out = np.zeros((len(y), len(meta.class_names)), dtype=np.float32)
        out[:, [meta.class_names.index(name) for name in columns]] = y
        return out
    if meta.task != "regression":
        raise DataError(f"{source}: a run of task {meta.task} is not scored on new data this way")
    if y.dtype.kind not in "iuf":
        raise DataError(f"{source}: regression targets must be numbers, these are labels")
    y = y.astype(np.float32).reshape(len(y), -1)
    if y.shape[1] != meta.num_targets:
        raise DataError(f"{source}: {y.shape[1]} target column(s), the run predicts {meta.num_targets}")
    check_finite(y, source, "target")
    if meta.target_mean is not None:
        y = (y - np.asarray(meta.target_mean, np.float32)) / np.asarray(meta.target_std, np.float32)
    return y


def _settle_targets(raw: RawData, task: str | None, source: str):
    """The task (inferred from the targets, or the supervised ``task`` asked for, checked), why, and the
    targets in that task's form: class indices and names for classification, float columns for
    multi-label and regression. Returns ``(task, reason, y, y_test, class_names)``."""
    y, y_test = raw.y, raw.y_test
    reason = ""
    if y is not None:
        inferred, reason = infer_task(y)
        if task in SUPERVISED_TASKS and task != inferred:
            check_task_targets(task, y, source)
            reason = f"--task {task} given (the targets alone suggest {inferred})"
        else:
            task = inferred
    else:
        task = "unsupervised"
    class_names: list[str] = []
    if y is not None and task in ("binary", "multiclass"):
        if y.ndim == 2 and y.shape[1] == 1:
            y = y[:, 0]
            y_test = None if y_test is None else y_test.reshape(-1)
        if y.ndim != 1:
            raise DataError(f"{source}: task {task} needs one label per row, got targets of shape {y.shape}")
        y, y_test, class_names = _encode_labels(y, y_test, raw.class_names)
    elif y is not None and task in ("multilabel", "regression"):
        y = y.astype(np.float32).reshape(len(y), -1)
        y_test = None if y_test is None else y_test.astype(np.float32).reshape(len(y_test), -1)
        class_names = list(raw.class_names or [])
    return task, reason, y, y_test, class_names


def _split_rows(x: np.ndarray, y: np.ndarray | None, x_test: np.ndarray | None, y_test: np.ndarray | None,
                task: str, seed: int, valid_fraction: float, test_fraction: float, source: str) -> dict[str, Arrays]:
    """Train, valid and test arrays: the source's own test split or ``test_fraction`` of the rows, then
    ``valid_fraction`` of the rest, stratified for classification (seeds ``seed`` and ``seed + 1``)."""
    stratify = y if task in ("binary", "multiclass") else None
    if x_test is None:
        rest, test = _split(len(x), test_fraction, seed, stratify, source)
    else:
        rest, test = np.arange(len(x)), None
    train, valid = _split(len(rest), valid_fraction, seed + 1, None if stratify is None else stratify[rest], source)
    train, valid = rest[train], rest[valid]
    if len(train) == 0:
        raise DataError(f"{source}: no rows left for training after the valid/test splits")
    if task in ("binary", "multiclass") and len(np.unique(y[train])) < 2:
        raise DataError(f"{source}: the training split holds a single class; a classifier needs two or more")

    def part(xs: np.ndarray, ys: np.ndarray | None, index: np.ndarray | None) -> Arrays:
        return (xs, ys) if index is None else (xs[index], None if ys is None else ys[index])

    return {
        "train": part(x, y, train),
        "valid": part(x, y, valid),
        "test": part(x_test, y_test, None) if x_test is not None else part(x, y, test),
    }


def _encode_table(splits: dict[str, Arrays], schema: TableSchema, source: str):
    """The table's cells as float32 inputs, with the encoding (categories, imputed values) fitted on the
    training split alone and applied to every split. Returns ``(splits, encoding)``."""
    encoding = schema.fit(splits["train"][0], source)
    encoded = {k: (encoding.transform(xs)[0], ys) for k, (xs, ys) in splits.items()}
    return encoded, encoding


def _normalize_inputs(splits: dict[str, Arrays], normalize: str, standardized: np.ndarray | None = None):
    """The inputs normalised with the training split's statistics: ``standard`` (per channel or
    feature), ``symmetric`` ([0, 1] → [−1, 1]) or ``none``. ``standardized`` limits ``standard`` to the
    features it marks (an encoded table's numeric columns; the others get mean 0 and std 1). Returns
    ``(splits, mean, std, value_range)`` as the run's metadata records them."""
    mean = std = None
    x_train = splits["train"][0]
    value_range = (float(x_train.min()), float(x_train.max()))
    if normalize == "standard":
        axes = _stats_axes(x_train)
        mean_arr = x_train.mean(axis=axes, keepdims=True)
        std_arr = x_train.std(axis=axes, keepdims=True)
        std_arr[std_arr < 1e-8] = 1.0
        if standardized is not None:
            mean_arr[..., ~standardized], std_arr[..., ~standardized] = 0.0, 1.0
        splits = {k: ((xs - mean_arr) / std_arr, ys) for k, (xs, ys) in splits.items()}
        mean, std = mean_arr.reshape(-1).tolist(), std_arr.reshape(-1).tolist()
        value_range = None
    elif normalize == "symmetric":
        splits = {k: (xs * 2.0 - 1.0, ys) for k, (xs, ys) in splits.items()}
        mean, std = [0.5], [0.5]
        value_range = (-1.0, 1.0)
    return splits, mean, std, value_range


def _standardize_targets(splits: dict[str, Arrays]):
    """Regression targets standardised with the training split's mean and std per column; returns
    ``(splits, target_mean, target_std)``."""
    y_train = splits["train"][1]
    t_mean, t_std = y_train.mean(axis=0), y_train.std(axis=0)
    t_std[t_std < 1e-8] = 1.0
    splits = {k: (xs, (ys - t_mean) / t_std) for k, (xs, ys) in splits.items()}
    return splits, t_mean.tolist(), t_std.tolist()


def _tensor_split(xs: np.ndarray, ys: np.ndarray | None, rows: np.ndarray | None = None) -> TensorSplit:
    """One split's arrays as contiguous float32 inputs and targets tensors, with the items' ``rows`` in
    their source when known."""
    ty = None if ys is None else torch.from_numpy(np.ascontiguousarray(ys))
    tr = None if rows is None else torch.from_numpy(np.asarray(rows, dtype=np.int64))
    return TensorSplit(torch.from_numpy(np.ascontiguousarray(xs, dtype=np.float32)), ty, tr)
