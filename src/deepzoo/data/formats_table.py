"""Tabular formats: ``csv:`` (a header row, one sample per line) and ``npz:`` (numpy arrays).

CSV rows are named by their line number in the file (the header is line 1), which is what an
editor shows; npz items by their 0-based index along the first axis, which is what numpy shows.
"""

from __future__ import annotations

import csv
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import DataError, one_line
from . import FORMATS
from .build import RawData, build_bundle
from .bundle import DataBundle
from .formats_common import existing_file, first_nonfinite, quote

# -- CSV ------------------------------------------------------------------------------------------


@dataclass
class CsvTable:
    """A CSV file as text: the header, the data rows, and the file line each row starts on."""

    source: str
    header: list[str]
    rows: list[list[str]]
    lines: list[int]

    def column(self, name: str) -> list[str]:
        """The cells of column ``name``, one per row."""
        index = self.header.index(name)
        return [row[index] for row in self.rows]


def _delimiter(value: str, source: str) -> str:
    char = "\t" if value in ("tab", "\\t") else value
    if len(char) != 1:
        raise DataError(f"{source}: option delimiter={value!r} must be one character (or 'tab')")
    return char


def read_csv_table(path: str | Path, delimiter: str = ",") -> CsvTable:
    """Read a CSV file with a header row; blank lines are skipped, every other row must be complete.

    Raises :class:`DataError` for a missing, empty or non-UTF-8 file, bad quoting, duplicate column
    names and ragged rows (naming the line and both field counts).
    """
    p = existing_file(path)
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
    return CsvTable(str(path), header, rows, lines)


def _floats(cells: list[str]) -> np.ndarray | None:
    """The cells as float64, or None when one of them is not a number."""
    try:
        return np.array([float(cell) for cell in cells], dtype=np.float64)
    except ValueError:
        return None


def numeric_column(table: CsvTable, name: str, what: str = "column") -> np.ndarray:
    """Column ``name`` as float64; a :class:`DataError` naming the line and column of the first cell
    that is empty, not a number, NaN, infinite or beyond float32."""
    cells = table.column(name)
    values = _floats(cells)
    if values is None:
        bad = next(row for row, cell in enumerate(cells) if _floats([cell]) is None)
        line, cell = table.lines[bad], cells[bad]
        problem = "is empty" if not cell.strip() else f"has {quote(cell)}, which is not a number"
        raise DataError(f"{table.source}: line {line}, {what} {name!r} {problem}")
    bad = first_nonfinite(values)
    if bad is not None:
        raise DataError(f"{table.source}: line {table.lines[bad]}, {what} {name!r} has {quote(cells[bad])}, "
                        "which is NaN, infinite or too large for float32")
    return values


def _label_column(table: CsvTable, name: str) -> np.ndarray:
    """One target column: integers or reals when every cell is a number, else string labels."""
    cells = [cell.strip() for cell in table.column(name)]
    if not all(cells):
        line = table.lines[cells.index("")]
        raise DataError(f"{table.source}: line {line}, target column {name!r} is empty")
    if _floats(cells) is None:
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
            delimiter: str = ",") -> RawData:
    """Read a CSV file into :class:`RawData`: every non-target column is a numeric feature.

    ``target`` names the label column (default: the last one) or several comma-separated columns
    (multi-target regression, or a 0/1 multilabel matrix). ``multilabel_sep`` reads one column of
    label lists such as ``cat;dog`` as a multi-hot matrix.
    """
    table = read_csv_table(path, _delimiter(delimiter, path))
    targets = [t.strip() for t in target.split(",")] if target else [table.header[-1]]
    missing = [t for t in targets if t not in table.header]
    if missing:
        columns = ", ".join(table.header)
        raise DataError(f"{path}: no column {missing[0]!r} for target=; the columns are {columns}")
    features = [name for name in table.header if name not in targets]
    if not features:
        raise DataError(f"{path}: no feature columns are left once the target column(s) are taken out")
    x = np.stack([numeric_column(table, name) for name in features], axis=1)
    class_names = None
    if multilabel_sep is not None:
        if len(targets) != 1 or not multilabel_sep:
            raise DataError(f"{path}: multilabel_sep needs a non-empty separator and exactly one "
                            "target column")
        y, class_names = _multi_hot(table, targets[0], multilabel_sep)
    elif len(targets) == 1:
        y = _label_column(table, targets[0])
    else:
        y = np.stack([numeric_column(table, name, "target column") for name in targets], axis=1)
        class_names = targets
    return RawData(Path(path).stem, x, y, class_names=class_names, source=str(path),
                   extra={"feature_names": features, "target_names": targets})


@FORMATS.register("csv", summary="CSV with a header row; ?target=col[,col2] (default last), multilabel_sep=;")
def csv_format(path: str, target: str | None = None, multilabel_sep: str | None = None, delimiter: str = ",",
               **options: Any) -> DataBundle:
    """A CSV table (see :func:`csv_raw`), split and normalised by :func:`build_bundle`."""
    return build_bundle(csv_raw(path, target, multilabel_sep, delimiter), **options)


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
    return build_bundle(npz_raw(path), **options)
