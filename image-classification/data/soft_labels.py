"""Offline distillation: the teacher labels the training set once; the student trains on the cache.

The cache is a float32 tensor of teacher logits, shape ``(N, C)``, row ``i`` for training image ``i``,
saved at ``<cache_dir>/soft_labels/<data set>-<teacher fingerprint>.pt``, where the fingerprint is a
SHA-256 of the teacher checkpoint file: a retrained teacher never reuses stale labels.

The teacher labels the *un-augmented* images (the data set's test transform). With random augmentation
the student then sees an augmented image next to the label of its plain version; that is the classic
offline setting (cheap: no teacher forward per step), which online mode avoids by running the teacher
on each augmented batch.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

import torch
from torch import Tensor, nn
from torch.utils.data import Dataset

from kd.common.engine.evaluation import predict
from kd.common.utils.checkpoint import atomic_save_on_main, safe_load
from kd.vision.data.registry import make_loader


def file_fingerprint(path: str | Path, length: int = 16) -> str:
    """First ``length`` hex digits of the SHA-256 of a file (the teacher checkpoint)."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()[:length]


def label_dataset(teacher: nn.Module, dataset: Dataset, device: torch.device, batch_size: int = 256) -> Tensor:
    """The teacher's logits for every item of ``dataset`` in order, ``(N, C)`` float32 on the CPU."""
    logits, _ = predict(teacher, make_loader(dataset, batch_size, shuffle=False), device)
    return logits


def cached_soft_labels(teacher: nn.Module, dataset: Dataset, cache_file: str | Path, device: torch.device,
                       batch_size: int = 256) -> Tensor:
    """Load the cached logits if ``cache_file`` holds them for this many images, else label and save."""
    cache_file = Path(cache_file)
    if cache_file.is_file():
        logits = safe_load(cache_file)["logits"]
        if logits.shape[0] == len(dataset):
            return logits
    logits = label_dataset(teacher, dataset, device, batch_size)  # each rank labels its shard; all get all
    atomic_save_on_main({"logits": logits}, cache_file)
    return logits


class SoftLabelDataset(Dataset):
    """Wraps an (image, label) data set; yields ``(image, label, teacher_logits)``."""

    def __init__(self, base: Dataset, teacher_logits: Tensor):
        if len(base) != teacher_logits.shape[0]:
            raise ValueError(f"{teacher_logits.shape[0]} cached soft labels for {len(base)} images")
        self.base, self.teacher_logits = base, teacher_logits

    def __len__(self) -> int:
        return len(self.base)

    def __getitem__(self, index: int):
        image, label = self.base[index]
        return image, label, self.teacher_logits[index]
