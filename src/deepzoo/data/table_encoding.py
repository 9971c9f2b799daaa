"""Table feature columns as model inputs: numbers, text categories and missing cells.

A column is *numeric* when every cell that is not missing is a number; otherwise it is *text* (a column
that mixes numbers and text is text). The encoding is fitted on the training split only, after the rows
are split, so no statistic of the validation or test rows reaches the training inputs:

- a numeric column stays one input column;
- a text column with at most ``max_onehot`` categories (in the training split) becomes one 0/1 column per
  category (one-hot); a category never seen in training gets all zeros;
- a text column with more categories becomes one integer *code* column (0 = a category not seen in
  training, 1..k the training categories in sorted order), which the model looks up in a learned
  embedding (entity embeddings, Guo & Berkhahn 2016, arXiv:1604.06737; see
  :mod:`deepzoo.models.tabular`);
- with ``impute`` a missing cell takes the training split's median (numeric) or most frequent category
  (text), and every column that had a gap in the training split gets a 0/1 *missing indicator* column,
  so the model can tell an imputed value from an observed one.

The encoded row is the *dense* block — each column's value or one-hot block, then its indicator, in
column order — followed by the code columns of the embedded columns. The fitted encoding is saved with
the run (``meta.extra["table"]``) and applied to new inputs at prediction time.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from ..errors import DataError

#: cells read as missing: empty, or one of these exact spellings (pandas' common NA markers, and UCI's ``?``);
#: ``None`` and ``NA``-like words in other cases are left as categories (``None`` is a real category in many
#: tables, and ``Na`` a name)
MISSING_MARKERS = frozenset({"", "NA", "N/A", "n/a", "NaN", "nan", "null", "NULL", "?"})
#: the most categories a text column may have (in the training split) to be one-hot encoded: up to 16 a
#: one-hot block stays narrow beside the numeric columns and needs no learned lookup, so small vocabularies
#: (colours, weekdays, months) keep the exact encoding; wider ones (cities, product codes) are embedded
DEFAULT_MAX_ONEHOT = 16


def is_missing(cell: str) -> bool:
    """Whether a CSV cell marks a missing value (see :data:`MISSING_MARKERS`)."""
    return cell.strip() in MISSING_MARKERS


def embedding_dim(cardinality: int) -> int:
    """Width of a learned embedding for ``cardinality`` codes: fastai's rule of thumb
    min(600, round(1.6 · n^0.56)) (Howard & Gugger 2020, fastai.tabular ``emb_sz_rule``)."""
    return int(min(600, round(1.6 * cardinality ** 0.56)))


@dataclass
class TableSchema:
    """What a table reader knows before the rows are split: the feature column names, which are text,
    and the encoding options. :meth:`fit` on the training rows gives the :class:`TableEncoding`."""

    names: list[str]
    text: list[bool]
    impute: bool = False
    max_onehot: int = DEFAULT_MAX_ONEHOT

    def fit(self, cells: np.ndarray, source: str) -> TableEncoding:
        """The encoding learned from the training rows ``cells`` (N, F): numbers (NaN where missing) in
        numeric columns, strings (None where missing) in text columns."""
        columns = []
        for j, (name, text) in enumerate(zip(self.names, self.text)):
            column = cells[:, j]
            missing = _missing_mask(column, text)
            present = column[~missing]
            if self.impute and len(present) == 0:
                raise DataError(f"{source}: column {name!r} has no value in the training split to impute from")
            if text:
                counts = Counter(present.tolist())
                categories = sorted(counts)
                kind = "onehot" if len(categories) <= self.max_onehot else "embedding"
                fill = max(categories, key=counts.__getitem__) if self.impute else None
            else:
                categories, kind = [], "numeric"
                fill = float(np.median(present.astype(np.float64))) if self.impute else None
            columns.append(ColumnEncoding(name, kind, categories, fill, bool(self.impute and missing.any())))
        return TableEncoding(columns)


def _missing_mask(column: np.ndarray, text: bool) -> np.ndarray:
    """True where a parsed cell is missing: None in a text column, NaN in a numeric one."""
    if text:
        return np.array([cell is None for cell in column], dtype=bool)
    return np.isnan(column.astype(np.float64))


@dataclass
class ColumnEncoding:
    """How one feature column becomes input columns (see the module docstring).

    ``kind`` is ``numeric``, ``onehot`` or ``embedding``; ``categories`` the training split's categories
    (sorted); ``fill`` the value a missing cell takes (None: a missing cell is an error); ``indicator``
    whether a missing-indicator column follows.
    """

    name: str
    kind: str
    categories: list[str] = field(default_factory=list)
    fill: float | str | None = None
    indicator: bool = False

    @property
    def text(self) -> bool:
        """Whether the column holds text categories."""
        return self.kind != "numeric"

    @property
    def dense_width(self) -> int:
        """Columns this column adds to the dense block."""
        values = {"numeric": 1, "onehot": len(self.categories), "embedding": 0}[self.kind]
        return values + int(self.indicator)


@dataclass
class TableEncoding:
    """The fitted encoding of a table's feature columns, as saved in ``meta.extra["table"]``."""

    columns: list[ColumnEncoding]

    @property
    def dense_width(self) -> int:
        """Width of the dense block (numeric, one-hot and indicator columns)."""
        return sum(c.dense_width for c in self.columns)

    @property
    def cardinalities(self) -> list[int]:
        """Codes per embedded column, the unknown code 0 included, in input order."""
        return [len(c.categories) + 1 for c in self.columns if c.kind == "embedding"]

    def standardized(self) -> np.ndarray:
        """A mask over the encoded columns: True for the numeric values, the only columns input
        normalisation may shift and scale (0/1 columns and codes keep their values)."""
        mask = []
        for c in self.columns:
            mask += [c.kind == "numeric"] * (c.dense_width - int(c.indicator)) + [False] * int(c.indicator)
        return np.array(mask + [False] * len(self.cardinalities), dtype=bool)

    def transform(self, cells: np.ndarray) -> tuple[np.ndarray, dict[str, Counter]]:
        """Encode rows ``cells`` (N, F; parsed as for :meth:`TableSchema.fit`) as float32 (N, width), and
        count the categories not seen in training, per column. Missing cells take their column's fill."""
        dense, codes, unseen = [], [], {}
        for j, c in enumerate(self.columns):
            column = cells[:, j]
            missing = _missing_mask(column, c.text)
            if missing.any() and c.fill is None:
                raise DataError(f"column {c.name!r} has missing cells and the run has no value to impute them with")
            if c.kind == "numeric":
                values = column.astype(np.float64)
                if missing.any():
                    values[missing] = c.fill
                dense.append(values[:, None])
            else:
                index = {category: i for i, category in enumerate(c.categories)}
                found = np.array([index.get(c.fill if m else cell, -1) for cell, m in zip(column, missing)],
                                 dtype=np.int64)
                new = Counter(cell for cell, i in zip(column, found) if i < 0)
                if new:
                    unseen[c.name] = new
                if c.kind == "onehot":
                    block = np.zeros((len(column), len(c.categories)))
                    rows = np.flatnonzero(found >= 0)
                    block[rows, found[rows]] = 1.0
                    dense.append(block)
                else:
                    codes.append((found + 1)[:, None])
            if c.indicator:
                dense.append(missing[:, None])
        parts = [p.astype(np.float32) for p in dense + codes]
        out = np.concatenate(parts, axis=1) if parts else np.zeros((len(cells), 0), np.float32)
        return out, unseen

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly copy (for ``meta.json``)."""
        return {"columns": [asdict(c) for c in self.columns]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TableEncoding:
        """The encoding :meth:`to_dict` wrote."""
        return cls([ColumnEncoding(**c) for c in data["columns"]])


def describe_unseen(unseen: dict[str, Counter], limit: int = 3) -> str:
    """One line counting categories not seen in training, e.g. ``city: 3 cell(s) ('Oslo' ×2, 'Rome')``."""
    parts = []
    for name, counts in unseen.items():
        shown = ", ".join(f"{value!r} ×{n}" if n > 1 else repr(value) for value, n in counts.most_common(limit))
        more = ", …" if len(counts) > limit else ""
        parts.append(f"{name}: {sum(counts.values())} cell(s) ({shown}{more})")
    return "; ".join(parts)
