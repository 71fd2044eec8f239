"""The data-set registry and the loaders built from it.

A data-set factory (``@DATASETS.register("name")``) takes the options of the ``data`` config section that it reads
(``root``, ``augment``, ``image_size``, ``test_fraction``, ``download``, ``skip_bad_images``, ``crop_padding``,
``crop_padding_mode``: its signature lists them) and returns :class:`DataSplits`: the augmented training set, the same
training images with the test transform (what an offline teacher labels), the test set and the label metadata.
A key that the chosen data set does not read is a one-line error when it is set off the default of the data sets that
do (``data.name=digits data.root=/x``, ``data.name=cifar10 data.test_fraction=0.5``), as NLP's data sections are
checked (:func:`kd.common.utils.registry.section_options`).
:func:`build_data` takes a fixed subset of them where the section asks (``train_subset``, ``test_subset``) and
wraps them into loaders whose training order is a pure function of (seed, epoch), so an interrupted run resumes
on the same batches.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Sequence

import torch
from torch.utils.data import DataLoader, Dataset, Subset

from kd.common.engine.sampler import EpochShuffleSampler
from kd.common.utils.config import subset_size
from kd.common.utils.errors import ConfigError
from kd.common.utils.distributed import per_rank_batch_size, shard_kwargs
from kd.common.utils.registry import Registry, build_checked, keyword_parameters, section_options

DATASETS: Registry["DataSplits"] = Registry("data set")


@dataclass
class DataSplits:
    train: Dataset            # training images with the training augmentation, yielding (image, label)
    train_plain: Dataset      # the same images in the same order with the test transform (no augmentation)
    test: Dataset
    num_classes: int
    image_shape: tuple[int, int, int]  # (C, H, W) after the transform
    class_names: Sequence[str]
    # (mean, std) per channel the images are standardised with; checkpoints record it (None: not known)
    normalisation: tuple[Sequence[float], Sequence[float]] | None = None


@dataclass
class VisionData:
    name: str
    splits: DataSplits
    train_loader: DataLoader
    test_loader: DataLoader

    num_classes = property(lambda self: self.splits.num_classes)
    image_shape = property(lambda self: self.splits.image_shape)
    class_names = property(lambda self: self.splits.class_names)


def augments(section: dict) -> bool:
    """Whether the data set of a ``data`` section draws random augmentations of its training images: it takes
    ``augment`` (digits does not: it has none) and the section leaves it on."""
    return "augment" in keyword_parameters(DATASETS.get(section["name"])) and bool(section.get("augment", True))


def make_loader(dataset: Dataset, batch_size: int, shuffle: bool, seed: int = 0, num_workers: int = 0) -> DataLoader:
    """A DataLoader with :class:`EpochShuffleSampler` (training) or sequential order (evaluation).

    Under torchrun each rank reads its shard, and a training (shuffled) loader's ``batch_size`` is the
    global batch, split over the ranks (see kd.common.utils.distributed)."""
    if shuffle:
        batch_size = per_rank_batch_size(batch_size)
    sampler = EpochShuffleSampler(len(dataset), seed, shuffle, **shard_kwargs())
    # Workers start again each epoch, seeded from the main process's generator, which last.pt restores: persistent
    # workers would carry their augmentations' random streams over from epoch to epoch, and a resumed run's would
    # start afresh.
    return DataLoader(dataset, batch_size=batch_size, sampler=sampler,
                      num_workers=num_workers, pin_memory=torch.cuda.is_available())


def check_test_fraction(value) -> float:
    """``data.test_fraction``, the part of a data set without a test split held out for testing: a number strictly
    between 0 and 1, else a ConfigError (0 and 1 leave a split empty)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < 1:
        raise ConfigError(f"data.test_fraction must be a fraction strictly between 0 and 1 (e.g. 0.2), not {value!r}")
    return float(value)


def fixed_subset(dataset: Dataset, size: int | None, seed: int = 0) -> Dataset:
    """The same ``size`` random images of ``dataset`` in every run, whatever the run's seed (None: all of it)."""
    if not size or size >= len(dataset):
        return dataset
    order = torch.randperm(len(dataset), generator=torch.Generator().manual_seed(seed))
    return Subset(dataset, order[:size].tolist())


def build_data(cfg: dict, seed: int = 0) -> VisionData:
    """Build the data set named ``cfg["name"]`` and its train/test loaders.

    ``cfg`` keys: ``name``, the data set's own options (``root``, ``augment``, ``image_size``, ``test_fraction``,
    ``download``, ``skip_bad_images``, ``crop_padding``, ``crop_padding_mode``: each one it takes, a missing one at
    its default; one it does not take, set off its default, is a one-line ConfigError), ``batch_size``,
    ``eval_batch_size``, ``num_workers``, ``train_subset`` and ``test_subset`` (:func:`fixed_subset`) (missing keys
    take the defaults below).
    """
    splits = build_checked(DATASETS, cfg["name"], **section_options(DATASETS, cfg, "data"))
    train_subset, test_subset = subset_size(cfg, "train_subset"), subset_size(cfg, "test_subset")
    splits = dataclasses.replace(splits, train=fixed_subset(splits.train, train_subset),
                                 train_plain=fixed_subset(splits.train_plain, train_subset),
                                 test=fixed_subset(splits.test, test_subset))
    batch_size = cfg.get("batch_size", 64)
    eval_batch_size = cfg.get("eval_batch_size") or 2 * batch_size
    workers = cfg.get("num_workers", 0)
    return VisionData(
        name=cfg["name"],
        splits=splits,
        train_loader=make_loader(splits.train, batch_size, True, seed, workers),
        test_loader=make_loader(splits.test, eval_batch_size, False, seed, workers),
    )
