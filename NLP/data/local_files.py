"""Readers for local text files: TSV/CSV/JSONL tables, TREC's ``LABEL sentence`` lines, gzipped parallel text.

Every reader raises a one-line error for a missing file (:class:`MissingPathError`), a column it cannot find
(:class:`ConfigError`, saying which setting to change), or bytes it cannot read as text (:class:`UnreadableFileError`:
not UTF-8, or a broken gzip file). A UTF-8 byte-order mark (Excel's "CSV UTF-8", Notepad) is dropped.
"""
from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Callable, TextIO, TypeVar

from kd.common.utils.compressed import read_maybe_gzipped
from kd.common.utils.errors import ConfigError, MissingPathError, UnreadableFileError

TABLE_SUFFIXES = (".tsv", ".csv", ".jsonl")


def require_file(path: str | Path, what: str) -> Path:
    path = Path(path).expanduser()
    if not path.is_file():
        raise MissingPathError(f"{what} '{path}' does not exist")
    return path


T = TypeVar("T")


def _read_text(path: Path, read: Callable[[TextIO], T], newline: str | None = None, errors: str = "strict") -> T:
    """``read(f)`` on ``path`` read as UTF-8 text, its byte-order mark dropped, gunzipped when the name ends in
    ``.gz`` (:func:`~kd.common.utils.compressed.read_maybe_gzipped`: a broken gzip file is one line naming it);
    text that is not UTF-8 is one line naming the file. ``newline`` as :func:`open` takes it."""
    text = io.TextIOWrapper(io.BytesIO(read_maybe_gzipped(path)), encoding="utf-8-sig", errors=errors,
                            newline=newline)  # decoded as it is read: a large file is not held twice more as text
    try:
        return read(text)
    except UnicodeDecodeError as error:
        bad = error.object[error.start:error.end]
        raise UnreadableFileError(f"'{path}' is not UTF-8 text (it holds the bytes {bad!r}); save it as UTF-8") \
            from None


Column = str | int  # a name (from the header row or the JSON keys) or a 0-based position
HEADER_SETTINGS = ("auto", True, False)


def read_table(path: str | Path, text_column: Column = "sentence", label_column: Column = "label",
               header: str | bool = "auto") -> tuple[list[str], list[str]]:
    """(texts, raw labels as strings) from a .tsv/.csv/.jsonl file, as people keep them.

    Columns are given by name or by 0-based position. A TSV/CSV file may have a header row or not
    (``header``: ``True``, ``False`` or ``"auto"``). With ``"auto"`` a file read by column names must start with
    a header naming them; one read by positions is taken to start with a header when the first row's label
    cell is not a label of any other row (a header's ``label`` is never a class; a data row's class recurs),
    and a line says so. A JSONL line is an object (names, or positions in its key order) or an array
    (positions). Every mistake is one line that says which setting to change.
    """
    path = require_file(path, "data file")
    suffix = path.suffix.lower()
    if suffix not in TABLE_SUFFIXES:
        raise ConfigError(f"data file '{path}' must end in one of {', '.join(TABLE_SUFFIXES)}")
    if header not in HEADER_SETTINGS:
        raise ConfigError(f"data.header must be auto, true or false, not {header!r}")
    for setting, column in (("data.text_column", text_column), ("data.label_column", label_column)):
        if isinstance(column, bool) or not isinstance(column, (str, int)) or (isinstance(column, int) and column < 0):
            raise ConfigError(f"{setting} must be a column name or a 0-based position, not {column!r}")
    if suffix == ".jsonl":
        rows = _read_text(path, lambda f: [_json_row(line, path, i) for i, line in enumerate(f, 1) if line.strip()],
                          newline="")
    else:
        tsv = suffix == ".tsv"
        rows = _read_text(path, lambda f: [r for r in csv.reader(f, delimiter="\t" if tsv else ",",
                                                                 quoting=csv.QUOTE_NONE if tsv else csv.QUOTE_MINIMAL)
                                           if r], newline="")
    if not rows:
        raise MissingPathError(f"data file '{path}' holds no rows")
    columns = (text_column, label_column)
    if suffix == ".jsonl":
        names, first_line = None, 1
    else:
        names, rows = _split_header(path, rows, columns, header)
        first_line = 2 if names is not None else 1
    picked = [_cells(row, columns, names, path, first_line + i) for i, row in enumerate(rows)]
    if not picked:
        raise MissingPathError(f"data file '{path}' holds a header row and no data")
    return [str(text).strip() for text, _ in picked], [str(label).strip() for _, label in picked]


def _json_row(line: str, path: Path, number: int) -> dict | list:
    try:
        row = json.loads(line)
    except json.JSONDecodeError as err:
        raise ConfigError(f"data file '{path}' line {number} is not JSON ({err.msg}); a .jsonl file holds one "
                          "object or array a line") from None
    if not isinstance(row, (dict, list)):
        raise ConfigError(f"data file '{path}' line {number} is a JSON {type(row).__name__}; a .jsonl line must be an "
                          "object (columns by name) or an array (columns by position)")
    return row


def _split_header(path: Path, rows: list[list[str]], columns: tuple[Column, Column],
                  header: str | bool) -> tuple[list[str] | None, list[list[str]]]:
    """``(column names or None, data rows)`` of a TSV/CSV file's rows (see :func:`read_table`)."""
    by_name = any(isinstance(c, str) for c in columns)
    if header == "auto":
        header = by_name or _first_row_is_header(rows, columns[1])
        if header and not by_name:
            print(f"data file '{path}': its first row {_show(rows[0])} is read as a header (its label is no label "
                  "of another row); set data.header=false if it is data")
    if not header:
        if by_name:
            raise ConfigError(f"data file '{path}' has no header row (data.header=false), so its columns have no "
                              f"names: give them by 0-based position, e.g. data.text_column=0 data.label_column=1")
        return None, rows
    names = [n.strip() for n in rows[0]]
    for setting, column in (("data.text_column", columns[0]), ("data.label_column", columns[1])):
        if isinstance(column, str) and column not in names:
            raise ConfigError(
                f"data file '{path}' has no column '{column}': its first row is {_show(rows[0])}; if that is its "
                f"header, set {setting} to one of those names; if the file has no header, give the columns by "
                "0-based position, e.g. data.text_column=0 data.label_column=1")
    return names, rows[1:]


def _first_row_is_header(rows: list[list[str]], label_column: int) -> bool:
    if len(rows) < 2 or label_column >= len(rows[0]):
        return False
    others = {row[label_column].strip() for row in rows[1:] if label_column < len(row)}
    return rows[0][label_column].strip() not in others


def _cells(row: dict | list, columns: tuple[Column, Column], names: list[str] | None, path: Path,
           line: int) -> tuple:
    """The (text, label) cells of one row."""
    if isinstance(row, dict):
        values = list(row.values())
        out = []
        for column in columns:
            if isinstance(column, str) and column not in row:
                raise ConfigError(f"data file '{path}' line {line} has no key '{column}' (keys: "
                                  f"{', '.join(row)}); set data.text_column / data.label_column to a key or a "
                                  "0-based position")
            out.append(row[column] if isinstance(column, str) else values[column] if column < len(values) else None)
        if None in out:
            raise ConfigError(f"data file '{path}' line {line} has {len(values)} values, too few for columns "
                              f"{columns[0]!r} and {columns[1]!r}")
        return tuple(out)
    if names is None and any(isinstance(c, str) for c in columns):  # a JSON array (a TSV/CSV was checked before)
        raise ConfigError(f"data file '{path}' line {line} is a JSON array: give its columns by 0-based position, "
                          "e.g. data.text_column=0 data.label_column=1")
    if names is not None and len(row) != len(names):  # else a stray separator would shift the label to another cell
        raise ConfigError(f"data file '{path}' line {line} has {len(row)} columns where its header has {len(names)}: "
                          f"{_show(row)}; a tab (.tsv) or an unquoted comma (.csv) inside a text splits it")
    positions = [names.index(c) if isinstance(c, str) else c for c in columns] if names is not None else list(columns)
    if max(positions) >= len(row):
        raise ConfigError(f"data file '{path}' line {line} has {len(row)} column(s): {_show(row)}; column "
                          f"{max(positions)} (0-based) is not there: check data.text_column / data.label_column and "
                          "the delimiter (.tsv: tabs, .csv: commas)")
    return row[positions[0]], row[positions[1]]


def _show(row: list) -> str:
    """A row as the user would recognise it, cut short."""
    cells = [repr(str(c)[:40]) for c in row[:4]]
    return "[" + ", ".join(cells) + (", ..." if len(row) > 4 else "") + "]"


def read_label_first_lines(path: str | Path) -> tuple[list[str], list[str]]:
    """(texts, labels) from lines ``LABEL sentence`` (the TREC layout of harvardnlp/sent-conv-torch)."""
    path = require_file(path, "data file")
    texts, labels = [], []
    # errors="replace": the copy of TREC's training set that circulates holds one byte that is not UTF-8
    for line in _read_text(path, list, errors="replace"):
        line = line.strip()
        if line:
            label, _, text = line.partition(" ")
            labels.append(label)
            texts.append(text)
    if not texts:
        raise MissingPathError(f"data file '{path}' holds no lines")
    return texts, labels


def read_lines(path: str | Path) -> list[str]:
    """Lines of a text file, gzipped when the name ends in ``.gz``, without their newlines."""
    path = require_file(path, "text file")
    return _read_text(path, lambda f: [line.rstrip("\n") for line in f])


def read_parallel(source_path: str | Path, target_path: str | Path) -> list[tuple[str, str]]:
    """Aligned (source, target) sentence pairs from two line-aligned files (plain or .gz)."""
    source, target = read_lines(source_path), read_lines(target_path)
    if len(source) != len(target):
        raise ConfigError(f"'{source_path}' has {len(source)} lines but '{target_path}' has {len(target)}; "
                          "parallel files must be line-aligned")
    return list(zip(source, target))
