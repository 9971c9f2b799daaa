"""Tabular formats: ``csv:`` (a header row, one sample per line) and ``npz:`` (numpy arrays).

CSV rows are named by their line number in the file (the header is line 1), which is what an
editor shows; npz items by their 0-based index along the first axis, which is what numpy shows.
A CSV's delimiter is detected (comma, semicolon or tab) unless given; its text columns and missing
cells are encoded after the split (:mod:`deepzoo.data.table_encoding`).
"""

from __future__ import annotations

import csv
import itertools
import zipfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import DataError, one_line
from . import FORMATS
from .build import RawData, build_bundle, check_bundle_options
from .bundle import DataBundle, DatasetMeta
from .formats_common import bool_option, existing_file, first_nonfinite, int_option, quote
from .table_encoding import DEFAULT_MAX_ONEHOT, TableEncoding, TableSchema, is_missing

# -- CSV ------------------------------------------------------------------------------------------


@dataclass
class CsvTable:
    """A CSV file as text: the header, the data rows, the file line each row starts on, the delimiter."""

    source: str
    header: list[str]
    rows: list[list[str]]
    lines: list[int]
    delimiter: str = ","

    def column(self, name: str) -> list[str]:
        """The cells of column ``name``, one per row."""
        index = self.header.index(name)
        return [row[index] for row in self.rows]

    def numbers(self, cells: list[str]) -> np.ndarray | None:
        """The cells as float64, or None when one of them is not a number. In a file not delimited by
        commas a decimal comma is read as a point (``1,5`` → 1.5), as spreadsheets in such locales write."""
        if self.delimiter != ",":
            cells = [cell.replace(",", ".", 1) if "." not in cell else cell for cell in cells]
        try:
            return np.array([float(cell) for cell in cells], dtype=np.float64)
        except ValueError:
            return None


#: the delimiters :func:`detect_delimiter` chooses from, in order of preference on a tie
DELIMITERS = (",", ";", "\t")
#: records :func:`detect_delimiter` reads (the header and the first data rows)
SNIFFED_RECORDS = 100


def _delimiter(value: str | None, path: Path) -> str:
    """The delimiter option as one character; None detects it from the file."""
    if value is None:
        return detect_delimiter(path)
    char = "\t" if value in ("tab", "\\t") else value
    if len(char) != 1:
        raise DataError(f"{path}: option delimiter={value!r} must be one character (or 'tab')")
    return char


def _field_counts(path: Path, delimiter: str) -> list[int]:
    """Fields per record of the file's first :data:`SNIFFED_RECORDS` non-blank records (quotes honoured);
    the records before the first one the reader rejects."""
    counts: list[int] = []
    try:
        with path.open(newline="", encoding="utf-8-sig") as f:
            records = csv.reader(f, delimiter=delimiter, strict=True)
            for record in itertools.islice(filter(None, records), SNIFFED_RECORDS):
                counts.append(len(record))
    except (csv.Error, UnicodeDecodeError):
        pass
    return counts


def detect_delimiter(path: str | Path) -> str:
    """The delimiter of a CSV file: comma, semicolon or tab, whichever splits the header into two or more
    fields and the first data rows into as many (quoted fields may hold delimiters); among those, the one
    giving the most columns, then the earlier in :data:`DELIMITERS`. A decimal-comma file (``1,5;2,3``)
    is read with semicolons, because a comma split leaves the header one field and the rows ragged. When
    none fits, the one that splits the header most, so the reader names the ragged line."""
    p = existing_file(path)

    def fit(delimiter: str) -> tuple[bool, int]:
        counts = _field_counts(p, delimiter) or [0]
        return counts[0] >= 2 and all(n == counts[0] for n in counts), counts[0]

    return max(DELIMITERS, key=fit)


def read_csv_table(path: str | Path, delimiter: str | None = None) -> CsvTable:
    """Read a CSV file with a header row; blank lines are skipped, every other row must be complete.
    ``delimiter`` None detects it (:func:`detect_delimiter`).

    Raises :class:`DataError` for a missing, empty or non-UTF-8 file, bad quoting, duplicate column
    names and ragged rows (naming the line and both field counts).
    """
    p = existing_file(path)
    delimiter = _delimiter(delimiter, p)
    header: list[str] | None = None
    rows: list[list[str]] = []
    lines: list[int] = []
    try:
        with p.open(newline="", encoding="utf-8-sig") as f:
            reader = csv.reader(f, delimiter=delimiter, strict=True)
            while True:
                start = reader.line_num + 1
                try:
                    record = next(reader)
                except StopIteration:
                    break
                if not record:
                    continue
                if header is None:
                    header = [name.strip() for name in record]
                elif len(record) != len(header):
                    raise DataError(f"{path}: line {start} has {len(record)} fields, "
                                    f"the header has {len(header)}")
                else:
                    rows.append(record)
                    lines.append(start)
    except UnicodeDecodeError as err:
        raise DataError(f"{path}: is not UTF-8 text (byte {err.start})") from None
    except csv.Error as err:
        raise DataError(f"{path}: line {reader.line_num}: {one_line(err)}") from None
    if header is None:
        raise DataError(f"{path}: the file is empty (a header row naming the columns is required)")
    duplicates = sorted({name for name in header if header.count(name) > 1})
    if duplicates:
        names = ", ".join(map(quote, duplicates))
        raise DataError(f"{path}: the header names column(s) {names} more than once")
    if not rows:
        raise DataError(f"{path}: there is a header but no data rows")
    return CsvTable(str(path), header, rows, lines, delimiter)


def numeric_column(table: CsvTable, name: str, what: str = "column", missing: np.ndarray | None = None) -> np.ndarray:
    """Column ``name`` as float64; a :class:`DataError` naming the line and column of the first cell
    that is empty, not a number, NaN, infinite or beyond float32. Cells marked in ``missing`` are NaN
    and not checked."""
    cells = table.column(name)
    rows = np.arange(len(cells)) if missing is None else np.flatnonzero(~missing)
    parsed = table.numbers([cells[i] for i in rows])
    if parsed is None:
        bad = next(i for i in rows if table.numbers([cells[i]]) is None)
        line, cell = table.lines[bad], cells[bad]
        problem = "is empty" if not cell.strip() else f"has {quote(cell)}, which is not a number"
        raise DataError(f"{table.source}: line {line}, {what} {name!r} {problem}")
    bad = first_nonfinite(parsed)
    if bad is not None:
        bad = rows[bad]
        raise DataError(f"{table.source}: line {table.lines[bad]}, {what} {name!r} has {quote(cells[bad])}, "
                        "which is NaN, infinite or too large for float32")
    values = np.full(len(cells), np.nan)
    values[rows] = parsed
    return values


def is_text_column(table: CsvTable, name: str) -> bool:
    """Whether a feature column holds text: some cell that is not missing is not a number."""
    return any(not is_missing(cell) and table.numbers([cell]) is None for cell in table.column(name))


#: how a missing feature cell is fixed when reading training data
IMPUTE_HINT = "?impute=true fills missing cells from the training split"


def feature_column(table: CsvTable, name: str, text: bool, missing_ok: bool, what: str = "column",
                   hint: str = IMPUTE_HINT) -> np.ndarray:
    """Feature column ``name`` parsed: stripped strings (None where missing) for a text column, float64
    (NaN where missing) for a numeric one. Unless ``missing_ok``, the first missing cell is a
    :class:`DataError` naming its line and column, and ``hint`` says what to do."""
    cells = table.column(name)
    missing = np.array([is_missing(cell) for cell in cells], dtype=bool)
    if missing.any() and not missing_ok:
        row = int(np.argmax(missing))
        cell = cells[row]
        problem = "is empty" if not cell.strip() else f"has {quote(cell)}, which marks a missing value (NaN)"
        raise DataError(f"{table.source}: line {table.lines[row]}, {what} {name!r} {problem}; {hint}")
    if text:
        return np.array([None if gap else cell.strip() for cell, gap in zip(cells, missing)], dtype=object)
    return numeric_column(table, name, what, missing)


def table_cells(table: CsvTable, names: list[str], text: list[bool], missing_ok: list[bool],
                what: str = "column", hint: str = IMPUTE_HINT) -> np.ndarray:
    """Feature columns ``names`` as an (N, F) object array of parsed cells (see :func:`feature_column`;
    ``text`` and ``missing_ok`` per column), as :class:`~deepzoo.data.table_encoding.TableSchema` fits them."""
    cells = np.empty((len(table.rows), len(names)), dtype=object)
    for j, (name, is_text, ok) in enumerate(zip(names, text, missing_ok)):
        cells[:, j] = feature_column(table, name, is_text, ok, what, hint)
    return cells


#: how a missing feature cell is fixed when reading new data for a run
RUN_IMPUTE_HINT = "the run fills no missing cells in this column (train it with ?impute=true)"


def read_features(table: CsvTable, meta: DatasetMeta, default: list[str]) -> tuple[np.ndarray, dict[str, Counter]]:
    """A trained run's feature columns of a new table, by name (``default`` when the run names none),
    parsed and encoded as the run's ``meta`` says: its column kinds, imputed values and categories
    (:class:`~deepzoo.data.table_encoding.TableEncoding`). Returns the float32 inputs, not yet normalised,
    and the categories not seen in training per column."""
    names = meta.extra.get("feature_names") or default
    absent = [name for name in names if name not in table.header]
    if absent:
        raise DataError(f"{table.source}: missing feature column(s) {', '.join(absent)}")
    if "table" not in meta.extra:
        return np.stack([numeric_column(table, name, "feature") for name in names], axis=1).astype(np.float32), {}
    encoding = TableEncoding.from_dict(meta.extra["table"])
    columns = encoding.columns
    cells = table_cells(table, names, [c.text for c in columns], [c.fill is not None for c in columns], "feature",
                        RUN_IMPUTE_HINT)
    return encoding.transform(cells)


def _label_column(table: CsvTable, name: str) -> np.ndarray:
    """One target column: integers or reals when every cell is a number, else string labels."""
    cells = [cell.strip() for cell in table.column(name)]
    if not all(cells):
        line = table.lines[cells.index("")]
        raise DataError(f"{table.source}: line {line}, target column {name!r} is empty")
    if table.numbers(cells) is None:
        return np.array(cells)
    values = numeric_column(table, name, "target column")
    if np.all(values == np.round(values)) and np.abs(values).max() < 2**53:
        return values.astype(np.int64)
    return values


def _multi_hot(table: CsvTable, name: str, sep: str) -> tuple[np.ndarray, list[str]]:
    """A column of label lists (``cat;dog``) as an (N, K) 0/1 matrix and the sorted label names."""
    label_sets = [{label.strip() for label in cell.split(sep)} - {""} for cell in table.column(name)]
    names = sorted(set().union(*label_sets))
    if not names:
        raise DataError(f"{table.source}: target column {name!r} holds no labels at all")
    index = {label: i for i, label in enumerate(names)}
    matrix = np.zeros((len(label_sets), len(names)), dtype=np.int64)
    for row, labels in enumerate(label_sets):
        matrix[row, [index[label] for label in labels]] = 1
    return matrix, names


def csv_raw(path: str, target: str | None = None, multilabel_sep: str | None = None,
            delimiter: str | None = None, impute: bool | str = False, max_onehot: int | str = DEFAULT_MAX_ONEHOT,
            id_column: str | None = None, fitted: DatasetMeta | None = None) -> RawData:
    """Read a CSV file into :class:`RawData`: every column that is neither a target nor the id column is a
    feature, numeric or text (see :mod:`deepzoo.data.table_encoding`).

    ``target`` names the label column (default: the last one) or several comma-separated columns
    (multi-target regression, or a 0/1 multilabel matrix). ``multilabel_sep`` reads one column of
    label lists such as ``cat;dog`` as a multi-hot matrix. ``delimiter`` None detects it. ``impute``
    fills missing feature cells (else the first one is an error); text columns with at most
    ``max_onehot`` categories are one-hot encoded, wider ones embedded. ``id_column`` names rows in
    prediction files and is not a feature. With a trained run's ``fitted`` metadata the run's target, id
    and feature columns, its ``multilabel_sep`` and a delimiter detection would not find (``|``) are the
    defaults, and the features are read and encoded as the run's
    (:func:`read_features`; the categories it had not seen are counted in ``extra["unseen_categories"]``).
    """
    if isinstance(fitted, DatasetMeta):
        delimiter = delimiter or fitted.extra.get("delimiter")
    table = read_csv_table(path, delimiter)
    if isinstance(fitted, DatasetMeta):
        target = target or ",".join(fitted.extra.get("target_names", [])) or None
        run_id = fitted.extra.get("id_column")  # new data to score needs no row names
        id_column = id_column or (run_id if run_id in table.header else None)
        multilabel_sep = multilabel_sep or fitted.extra.get("multilabel_sep")
    targets = [t.strip() for t in target.split(",")] if target else [table.header[-1]]
    missing = [t for t in [*targets, id_column] if t is not None and t not in table.header]
    if missing:
        columns = ", ".join(table.header)
        which = "id=" if missing[0] == id_column and missing[0] not in targets else "target="
        raise DataError(f"{path}: no column {missing[0]!r} for {which}; the columns are {columns}")
    if id_column in targets:
        raise DataError(f"{path}: column {id_column!r} cannot be both the id and a target")
    features = [name for name in table.header if name not in targets and name != id_column]
    if not features:
        raise DataError(f"{path}: no feature columns are left once the target and id column(s) are taken out")
    extra: dict[str, Any] = {"feature_names": features, "target_names": targets}
    schema = None
    if isinstance(fitted, DatasetMeta):
        x, unseen = read_features(table, fitted, features)
        extra["unseen_categories"] = {name: sum(counts.values()) for name, counts in unseen.items()}
    else:
        schema = TableSchema(features, [is_text_column(table, name) for name in features],
                             bool_option(impute, "impute", path), int_option(max_onehot, "max_onehot", path))
        if any(schema.text) or schema.impute:
            x = table_cells(table, features, schema.text, [schema.impute] * len(features))
        else:
            x, schema = np.stack([feature_column(table, name, False, False) for name in features], axis=1), None
    class_names = None
    if multilabel_sep is not None:
        if len(targets) != 1 or not multilabel_sep:
            raise DataError(f"{path}: multilabel_sep needs a non-empty separator and exactly one "
                            "target column")
        y, class_names = _multi_hot(table, targets[0], multilabel_sep)
        extra["multilabel_sep"] = multilabel_sep
    elif len(targets) == 1:
        y = _label_column(table, targets[0])
    else:
        y = np.stack([numeric_column(table, name, "target column") for name in targets], axis=1)
        class_names = targets
    if id_column is not None:
        extra["id_column"] = id_column
    if table.delimiter not in DELIMITERS:  # one detection cannot find again: new files of the run's are read so
        extra["delimiter"] = table.delimiter
    return RawData(Path(path).stem, x, y, class_names=class_names, source=str(path), extra=extra, table=schema)


@FORMATS.register("csv", summary="CSV with a header row; ?target=col[,col2] (default last), impute=true, id=col; "
                                 "text=col: one document per row, for language models")
def csv_format(path: str, target: str | None = None, multilabel_sep: str | None = None,
               delimiter: str | None = None, impute: bool | str = False, max_onehot: int | str = DEFAULT_MAX_ONEHOT,
               id: str | None = None, text: str | None = None, **options: Any) -> DataBundle:
    """A CSV table (see :func:`csv_raw`; ``id`` is its ``id_column``), split, encoded and normalised by
    :func:`build_bundle`; with ``text=COLUMN``, a corpus of one document per row instead, split and packed
    into token blocks by :func:`deepzoo.data.text.text_bundle` (which takes the options)."""
    if text is not None:
        from .text import csv_documents, text_bundle

        return text_bundle(path, csv_documents(path, text, delimiter), **options)
    check_bundle_options(options, path)
    raw = csv_raw(path, target, multilabel_sep, delimiter, impute, max_onehot, id, options.get("fitted"))
    return build_bundle(raw, **options)


# -- npz ------------------------------------------------------------------------------------------

NPZ_KEYS = ("x", "y", "x_test", "y_test")


def read_npz_arrays(path: str) -> dict[str, np.ndarray]:
    """The arrays of an .npz archive, loaded without pickle; ``x`` is required, unknown names refused."""
    p = existing_file(path)
    try:
        archive = np.load(p, allow_pickle=False)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as err:
        raise DataError(f"{path}: is not a readable .npz archive ({one_line(err)})") from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise DataError(f"{path}: holds a single array; an .npz archive with arrays x and y is needed")
    with archive:
        if "x" not in archive.files:
            found = ", ".join(map(repr, archive.files)) or "nothing"
            raise DataError(f"{path}: no array 'x' (the archive holds {found})")
        unknown = [k for k in archive.files if k not in NPZ_KEYS]
        if unknown:
            raise DataError(f"{path}: unexpected array(s) {', '.join(map(repr, unknown))}; "
                            f"the names are {', '.join(NPZ_KEYS)}")
        arrays = {}
        for key in archive.files:
            try:
                arrays[key] = archive[key]
            except (OSError, ValueError, EOFError, zipfile.BadZipFile) as err:
                raise DataError(f"{path}: array {key!r} cannot be read ({one_line(err)})") from None
    return arrays


def check_npz_array(path: str, key: str, a: np.ndarray, kinds: str) -> np.ndarray:
    """Check dtype, rank and finiteness of one array; 1-D inputs become one feature column."""
    if a.dtype.kind not in kinds:
        wanted = "numbers" if "U" not in kinds else "numbers or strings"
        raise DataError(f"{path}: array {key!r} has dtype {a.dtype}; it must hold {wanted}")
    if a.ndim == 0:
        raise DataError(f"{path}: array {key!r} is a scalar; its first axis must index the samples")
    if key.startswith("y") and a.ndim > 2:
        raise DataError(f"{path}: array {key!r} has shape {a.shape}; targets are (N,) or (N, K)")
    bad = first_nonfinite(a)
    if bad is not None:
        raise DataError(f"{path}: array {key!r} item {bad} holds NaN, inf or a value too large for float32")
    return a[:, None] if key.startswith("x") and a.ndim == 1 else a


def npz_raw(path: str) -> RawData:
    """Read ``x`` and optional ``y``, ``x_test``, ``y_test`` from an .npz archive into :class:`RawData`."""
    arrays = read_npz_arrays(path)
    has_y, has_test = "y" in arrays, "x_test" in arrays
    if "y_test" in arrays and not has_test:
        raise DataError(f"{path}: 'y_test' is given without 'x_test'")
    if has_y and has_test and "y_test" not in arrays:
        raise DataError(f"{path}: 'x_test' needs 'y_test' because the training data has targets 'y'")
    if "y_test" in arrays and not has_y:
        raise DataError(f"{path}: 'y_test' is given but the training data has no targets 'y'")
    checked = {key: check_npz_array(path, key, a, "biuf" if key.startswith("x") else "biufU")
               for key, a in arrays.items()}
    for inputs, targets in (("x", "y"), ("x_test", "y_test")):
        if targets in checked and len(checked[inputs]) != len(checked[targets]):
            raise DataError(f"{path}: {inputs!r} has {len(checked[inputs])} items but {targets!r} "
                            f"has {len(checked[targets])}")
    for key, reference in (("x_test", "x"), ("y_test", "y")):
        if key in checked and checked[key].shape[1:] != checked[reference].shape[1:]:
            raise DataError(f"{path}: {key!r} items have shape {checked[key].shape[1:]}, "
                            f"{reference!r} items {checked[reference].shape[1:]}")
    return RawData(Path(path).stem, checked["x"], checked.get("y"), x_test=checked.get("x_test"),
                   y_test=checked.get("y_test"), source=str(path))


@FORMATS.register("npz", summary="numpy .npz with arrays x, y and optional x_test, y_test (no pickles)")
def npz_format(path: str, **options: Any) -> DataBundle:
    """An .npz archive (see :func:`npz_raw`), split and normalised by :func:`build_bundle`."""
    check_bundle_options(options, path)
    return build_bundle(npz_raw(path), **options)
