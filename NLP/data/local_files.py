"""Readers for local text files: TSV/CSV/JSONL tables, TREC's ``LABEL sentence`` lines, gzipped parallel text.

Every reader raises :class:`MissingPathError` (one line) for a missing file or a missing column.
"""
from __future__ import annotations

import csv
import gzip
import json
from pathlib import Path

from kd.common.utils.errors import ConfigError, MissingPathError

TABLE_SUFFIXES = (".tsv", ".csv", ".jsonl")


def require_file(path: str | Path, what: str) -> Path:
    path = Path(path).expanduser()
    if not path.is_file():
        raise MissingPathError(f"{what} '{path}' does not exist")
    return path


def read_table(path: str | Path, text_column: str = "sentence", label_column: str = "label") -> tuple[list[str], list[str]]:
    """(texts, raw labels as strings) from a .tsv/.csv file with a header row or a .jsonl file (one object a line)."""
    path = require_file(path, "data file")
    suffix = path.suffix.lower()
    if suffix not in TABLE_SUFFIXES:
        raise ConfigError(f"data file '{path}' must end in one of {', '.join(TABLE_SUFFIXES)}")
    with open(path, newline="", encoding="utf-8") as f:
        if suffix == ".jsonl":
            rows = [json.loads(line) for line in f if line.strip()]
        else:
            rows = list(csv.DictReader(f, delimiter="\t" if suffix == ".tsv" else ",", quoting=csv.QUOTE_NONE
                                       if suffix == ".tsv" else csv.QUOTE_MINIMAL))
    if not rows:
        raise MissingPathError(f"data file '{path}' holds no rows")
    for column in (text_column, label_column):
        if column not in rows[0]:
            raise ConfigError(f"data file '{path}' has no column '{column}' (columns: {', '.join(rows[0])}); "
                              "set data.text_column / data.label_column")
    return [str(r[text_column]).strip() for r in rows], [str(r[label_column]).strip() for r in rows]


def read_label_first_lines(path: str | Path) -> tuple[list[str], list[str]]:
    """(texts, labels) from lines ``LABEL sentence`` (the TREC layout of harvardnlp/sent-conv-torch)."""
    path = require_file(path, "data file")
    texts, labels = [], []
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
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
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as f:
        return [line.rstrip("\n") for line in f]


def read_parallel(source_path: str | Path, target_path: str | Path) -> list[tuple[str, str]]:
    """Aligned (source, target) sentence pairs from two line-aligned files (plain or .gz)."""
    source, target = read_lines(source_path), read_lines(target_path)
    if len(source) != len(target):
        raise ConfigError(f"'{source_path}' has {len(source)} lines but '{target_path}' has {len(target)}; "
                          "parallel files must be line-aligned")
    return list(zip(source, target))
