"""A labelled part of the training set, and the rest as a transfer set (Hinton, Vinyals & Dean 2015, sec. 2).

``student.labelled_fraction = f < 1`` gives the students the labels of a stratified fraction ``f`` of the
training images (at least one per class, drawn with the student's seed); the teacher trains on all of
them. The student alone trains on the labelled part. The distilled student trains on the labelled part
too, or, with ``distill.transfer_set: all``, on every training image, those outside the labelled part
carrying the label :data:`~kd.common.losses.UNLABELLED`: the hard-label term skips them and the teacher's
soft targets are all the student learns from them.
"""
from __future__ import annotations

import torch
from torch import Tensor
from torch.utils.data import Dataset, Subset, TensorDataset

from kd.common.losses import UNLABELLED
from kd.common.utils.errors import ConfigError


def dataset_labels(dataset: Dataset) -> Tensor:
    """The ``(N,)`` labels of a training set without decoding its images (``targets`` of torchvision and
    ImageFolder sets, the second tensor of a TensorDataset, a Subset's share of either)."""
    if isinstance(dataset, Subset):
        return dataset_labels(dataset.dataset)[torch.as_tensor(dataset.indices)]
    if isinstance(dataset, TensorDataset):
        return dataset.tensors[1].long()
    targets = getattr(dataset, "targets", None)
    if targets is None:
        raise ConfigError(f"{type(dataset).__name__} does not expose its labels (no .targets); "
                          "student.labelled_fraction needs them")
    return torch.as_tensor(targets, dtype=torch.long)


def labelled_indices(labels: Tensor, fraction: float, seed: int) -> Tensor:
    """Sorted indices of a stratified ``fraction`` of the examples: round(fraction * n_c), at least 1, of
    each class c, drawn at random with ``seed``."""
    if not 0.0 < fraction <= 1.0:
        raise ConfigError(f"student.labelled_fraction must be in (0, 1], got {fraction}")
    generator = torch.Generator().manual_seed(seed)
    chosen = []
    for c in labels.unique():
        members = (labels == c).nonzero().flatten()
        keep = max(1, round(fraction * len(members)))
        chosen.append(members[torch.randperm(len(members), generator=generator)[:keep]])
    return torch.cat(chosen).sort().values


def masked_labels(labels: Tensor, labelled: Tensor) -> Tensor:
    """``labels`` with every example outside ``labelled`` set to :data:`UNLABELLED`."""
    masked = torch.full_like(labels, UNLABELLED)
    masked[labelled] = labels[labelled]
    return masked


class WithLabels(Dataset):
    """An ``(image, label[, ...])`` data set whose labels are replaced by ``labels[i]``."""

    def __init__(self, base: Dataset, labels: Tensor):
        if len(base) != len(labels):
            raise ValueError(f"{len(labels)} labels for {len(base)} examples")
        self.base, self.labels = base, labels

    def __len__(self) -> int:
        return len(self.base)

    def __getitem__(self, index: int):
        item = self.base[index]
        return (item[0], self.labels[index], *item[2:])
