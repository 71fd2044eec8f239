"""Text-classification data sets by name: GLUE SST-2, TREC-6, AG News (hub or local files) and any local table.

Each data set is an entry of :data:`CLASSIFICATION_DATASETS` that returns a :class:`TextClassificationData`
(``build_checked(CLASSIFICATION_DATASETS, name, path=..., ...)``, :func:`kd.common.utils.registry.build_checked`);
each takes only its own keywords (an unknown one is a one-line ConfigError naming the one meant; a task picks them
from its config's data section with :func:`kd.common.utils.registry.section_options`). With
``path`` unset the hub copy is downloaded through ``datasets``; offline that fails with a one-line
error naming the local option. Local layouts:

- ``sst2``: ``PATH/train.tsv`` and ``PATH/validation.tsv`` with header ``sentence<TAB>label`` (GLUE).
- ``trec``: ``PATH/train.txt`` and ``PATH/test.txt``, one ``LABEL sentence`` a line.
- ``ag_news``: ``PATH/train.csv`` and ``PATH/test.csv`` with columns ``text,label``.
- ``local``: ``train_file`` and ``dev_file`` (.tsv/.csv/.jsonl, with or without a header row) with
  ``text_column`` and ``label_column`` given by name or 0-based position; labels as strings or integers
  (:func:`kd.nlp.data.local_files.read_table`).

:meth:`TextClassificationData.split_holdout` sets a stratified, seeded part of the training set aside (the task's
``data.holdout``): the model trains on the rest, and the held-out part is scored beside dev, for choosing a schedule
without looking at dev.
"""
from __future__ import annotations

import math
import random
from dataclasses import dataclass, field, replace
from pathlib import Path

from kd.common.utils.errors import ConfigError, MissingPathError
from kd.common.utils.registry import Registry
from kd.nlp.data.hub import load_hub_dataset
from kd.nlp.data.local_files import read_label_first_lines, read_table

CLASSIFICATION_DATASETS: Registry["TextClassificationData"] = Registry("text-classification data set")


@dataclass
class TextClassificationData:
    train_texts: list[str]
    train_labels: list[int]
    dev_texts: list[str]
    dev_labels: list[int]
    label_names: list[str]
    holdout_texts: list[str] = field(default_factory=list)  # set aside from training (split_holdout); empty: none
    holdout_labels: list[int] = field(default_factory=list)

    @property
    def num_labels(self) -> int:
        return len(self.label_names)

    def subset_train(self, n: int | None, seed: int = 0) -> "TextClassificationData":
        """The first ``n`` of a seeded shuffle of the training set (the whole set when ``n`` is None)."""
        texts, labels = _seeded_subset(self.train_texts, self.train_labels, n, seed)
        return replace(self, train_texts=texts, train_labels=labels)

    def subset_dev(self, n: int | None, seed: int = 0) -> "TextClassificationData":
        """The first ``n`` of a seeded shuffle of the dev (or test) set (the whole set when ``n`` is None)."""
        texts, labels = _seeded_subset(self.dev_texts, self.dev_labels, n, seed)
        return replace(self, dev_texts=texts, dev_labels=labels)

    def split_holdout(self, fraction: float, seed: int = 0) -> "TextClassificationData":
        """The training set split: ``holdout_*`` the held-out part, ``train_*`` the rest (both in the training set's
        order). Stratified: of each label's n examples, round(fraction * n) (halves up) are drawn, by
        ``random.Random(seed)`` (the same split for every model of a seed). A drawn example whose sentence the rest
        also holds (a training set with repeats: SST-2 has 371 sentences more than once, so 36-41 of the 3,367 of a
        5 % split) is left out of both parts, and a line says how many: scored, it would be a sentence the model
        trained on. ``fraction`` 0 returns the data as it is; a split that draws nothing or every example of a label,
        or whose every drawn sentence the rest also holds, is a ConfigError."""
        if not fraction:
            return self
        by_label: dict[int, list[int]] = {}
        for i, label in enumerate(self.train_labels):
            by_label.setdefault(label, []).append(i)
        rng = random.Random(seed)
        held: set[int] = set()
        for label in sorted(by_label):
            indices = by_label[label]
            k = math.floor(fraction * len(indices) + 0.5)
            if k == len(indices):
                raise ConfigError(f"data.holdout={fraction} leaves label '{self.label_names[label]}' no training "
                                  f"example (all {k} of its examples held out): lower data.holdout, or use more "
                                  "training data")
            held.update(rng.sample(indices, k))
        if not held:
            raise ConfigError(f"data.holdout={fraction} holds out no example of the {len(self.train_texts):,} training "
                              "examples: raise data.holdout, or set data.holdout=0")
        keep = [i for i in range(len(self.train_texts)) if i not in held]
        trained_on = {self.train_texts[i] for i in keep}
        out = [i for i in sorted(held) if self.train_texts[i] not in trained_on]
        if not out:
            raise ConfigError(f"data.holdout={fraction} holds out no sentence that the training part does not also "
                              "hold: raise data.holdout, or set data.holdout=0")
        if len(out) < len(held):
            print(f"data.holdout: {len(held) - len(out):,} of the {len(held):,} held-out examples are left out, their "
                  f"sentences also being in the training part; {len(out):,} held out")
        return replace(self, train_texts=[self.train_texts[i] for i in keep],
                       train_labels=[self.train_labels[i] for i in keep],
                       holdout_texts=[self.train_texts[i] for i in out],
                       holdout_labels=[self.train_labels[i] for i in out])


def _seeded_subset(texts: list[str], labels: list[int], n: int | None, seed: int) -> tuple[list[str], list[int]]:
    if n is None or n >= len(texts):
        return texts, labels
    order = list(range(len(texts)))
    random.Random(seed).shuffle(order)
    return [texts[i] for i in order[:n]], [labels[i] for i in order[:n]]


def encode_labels(train_raw: list[str], dev_raw: list[str], classes: int | None = None,
                  source: str = "the training set") -> tuple[list[int], list[int], list[str]]:
    """Map raw label strings to ids: integers stay as they are (0..C-1), names are sorted alphabetically. Integers
    and names mixed (a typo among integers would re-sort them all) are a ConfigError, and so, for a data set of
    ``classes`` labels 0 .. classes - 1 (SST-2's 2), is any other label (a stray ``2`` would add a class)."""
    integers = [s.isdecimal() for s in train_raw]
    if any(integers) and not all(integers):
        names = sorted({s for s, integer in zip(train_raw, integers) if not integer})
        raise ConfigError(f"{source} mixes integer labels with others ({', '.join(map(repr, names[:5]))}); "
                          "give every example an integer label or every one a name")
    if classes is not None:
        odd = sorted({s for s in train_raw if not s.isdecimal() or int(s) >= classes})
        if odd:
            raise ConfigError(f"{source} holds the labels {', '.join(map(repr, odd[:5]))}; this data set's are the "
                              f"integers 0 .. {classes - 1}")
        names = [str(i) for i in range(classes)]
    else:
        names = [str(i) for i in range(max(map(int, train_raw)) + 1)] if all(integers) else sorted(set(train_raw))
    index = {name: i for i, name in enumerate(names)}
    unseen = sorted(set(dev_raw) - set(index))
    if unseen:
        raise ConfigError(f"the dev set has labels the training set lacks: {unseen[:5]}")
    return [index[s] for s in train_raw], [index[s] for s in dev_raw], names


def _from_tables(train_file: Path, dev_file: Path, text_column: str | int, label_column: str | int,
                 reader=read_table, header: str | bool = "auto", classes: int | None = None) -> TextClassificationData:
    if reader is read_table:
        train_texts, train_raw = read_table(train_file, text_column, label_column, header)
        dev_texts, dev_raw = read_table(dev_file, text_column, label_column, header)
    else:
        train_texts, train_raw = reader(train_file)
        dev_texts, dev_raw = reader(dev_file)
    train_labels, dev_labels, names = encode_labels(train_raw, dev_raw, classes, source=f"'{train_file}'")
    return TextClassificationData(train_texts, train_labels, dev_texts, dev_labels, names)


def _from_hub(name: str, config: str | None, dev_split: str, text_column: str, label_column: str,
              hint: str) -> TextClassificationData:
    ds = load_hub_dataset(name, config, hint)
    names = ds["train"].features[label_column].names
    return TextClassificationData(list(ds["train"][text_column]), list(ds["train"][label_column]),
                                  list(ds[dev_split][text_column]), list(ds[dev_split][label_column]), names)


def _folder(path: str | Path) -> Path:
    folder = Path(path).expanduser()
    if not folder.is_dir():
        raise MissingPathError(f"data folder '{folder}' does not exist")
    return folder


@CLASSIFICATION_DATASETS.register("sst2")
def sst2(path: str | None = None) -> TextClassificationData:
    """GLUE SST-2 (Socher et al. 2013); dev = GLUE validation (872 sentences), what papers report."""
    if path is None:
        return _from_hub("glue", "sst2", "validation", "sentence", "label",
                         "pass data.path=FOLDER holding train.tsv and validation.tsv (GLUE layout), "
                         "e.g. data.path=/path/to/sst2")
    folder = _folder(path)
    return _from_tables(folder / "train.tsv", folder / "validation.tsv", "sentence", "label", classes=2)


@CLASSIFICATION_DATASETS.register("trec")
def trec(path: str | None = None) -> TextClassificationData:
    """TREC question classification (Li & Roth 2002), 6 coarse classes; dev = the 500-question test set."""
    if path is None:
        return _from_hub("trec", None, "test", "text", "coarse_label",
                         "pass data.path=FOLDER holding train.txt and test.txt ('LABEL sentence' lines)")
    folder = _folder(path)
    return _from_tables(folder / "train.txt", folder / "test.txt", "", "", reader=read_label_first_lines, classes=6)


@CLASSIFICATION_DATASETS.register("ag_news")
def ag_news(path: str | None = None) -> TextClassificationData:
    """AG News (Zhang et al. 2015), 4 topics; dev = the 7,600-article test set."""
    if path is None:
        return _from_hub("ag_news", None, "test", "text", "label",
                         "pass data.path=FOLDER holding train.csv and test.csv with columns text,label")
    folder = _folder(path)
    return _from_tables(folder / "train.csv", folder / "test.csv", "text", "label", classes=4)


@CLASSIFICATION_DATASETS.register("local")
def local(train_file: str | None = None, dev_file: str | None = None, text_column: str | int = "text",
          label_column: str | int = "label", header: str | bool = "auto") -> TextClassificationData:
    """Any pair of .tsv/.csv/.jsonl files with a text column and a label column (by name or 0-based position)."""
    if not train_file or not dev_file:
        raise ConfigError("data.name=local needs data.train_file and data.dev_file (.tsv, .csv or .jsonl)")
    return _from_tables(Path(train_file), Path(dev_file), text_column, label_column, header=header)
