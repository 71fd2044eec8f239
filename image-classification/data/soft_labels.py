"""Offline distillation: the teacher labels the training set once; the student trains on the cache.

The cache is a float32 tensor of teacher logits, shape ``(N, C)``, row ``i`` for training image ``i``,
saved at ``<cache_dir>/soft_labels/<data set>-<teacher fingerprint>.pt``, where the fingerprint is a
SHA-256 of the teacher checkpoint file: a retrained teacher never reuses stale labels.

The teacher labels the *un-augmented* images (the data set's test transform). With random augmentation
the student then sees an augmented image next to the label of its plain version; that is the classic
offline setting (cheap: no teacher forward per step), which online mode avoids by running the teacher
on each augmented batch. Labelling runs at the fastest setting: inference mode, the device's fast
precision (bf16 where it is native), large batches, and the images already in memory when they are.
"""
from __future__ import annotations

import time
from pathlib import Path

import torch
from torch import Tensor, nn
from torch.utils.data import Dataset

from kd.common.engine.evaluation import predict
from kd.common.utils.checkpoint import atomic_save_on_main, safe_load
from kd.vision.data.registry import make_loader


LABEL_BATCH = 512  # images per teacher forward when labelling: large batches, no gradients


def labelling_loader(source):
    """``source`` as a loader over the images in order: a loader as it is, a Dataset in LABEL_BATCH batches."""
    return make_loader(source, LABEL_BATCH, shuffle=False) if isinstance(source, Dataset) else source


def num_images(source) -> int:
    """How many images a Dataset, a DataLoader or a device-resident loader holds."""
    if isinstance(source, Dataset):
        return len(source)
    return source.dataset_size if hasattr(source, "dataset_size") else len(source.dataset)


def label_images(teacher: nn.Module, source, device: torch.device, precision: str = "auto") -> tuple[Tensor, float]:
    """The teacher's logits ``(N, C)`` (float32, CPU) for every image of ``source`` (a Dataset, or a loader that
    yields the images un-augmented and in order), and the seconds the labelling took."""
    start = time.perf_counter()
    logits, _ = predict(teacher, labelling_loader(source), device, precision=precision)  # each rank: its shard
    return logits, time.perf_counter() - start


def cached_soft_labels(teacher: nn.Module, source, cache_file: str | Path, device: torch.device,
                       precision: str = "auto") -> tuple[Tensor, float | None]:
    """``(logits, seconds)``: the cached logits if ``cache_file`` holds them for as many images as ``source``
    has (seconds None), else the teacher's, labelled now and saved."""
    cache_file = Path(cache_file)
    if cache_file.is_file():
        logits = safe_load(cache_file)["logits"]
        if logits.shape[0] == num_images(source):
            return logits, None
    logits, seconds = label_images(teacher, source, device, precision)
    atomic_save_on_main({"logits": logits}, cache_file)
    return logits, seconds


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
