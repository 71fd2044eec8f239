"""MNIST-style data sets from their four IDX files, read as they come, decoded once into uint8 tensors.

The files (LeCun et al. 1998): ``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``,
``t10k-images-idx3-ubyte``, ``t10k-labels-idx1-ubyte``, each optionally gzipped (``.gz``). They are
looked for in ``ROOT/<Folder>/raw`` (torchvision's layout) and then in ``ROOT`` itself, so a folder
holding the four downloads works as it is. No checksum is checked: a copy whose gzip bytes differ from
the official downloads (recompressed, or unpacked) reads the same. Only when a file is missing and
downloads are allowed does torchvision fetch them (into ``ROOT/<Folder>/raw``).

IDX format: a big-endian header (magic number ``0x00000803`` for images / ``0x00000801`` for labels,
then one int32 per dimension) followed by the uint8 values in C order.
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Dataset
from torchvision import transforms as T

from kd.common.utils.compressed import read_maybe_gzipped
from kd.common.utils.errors import UnreadableFileError

SPLIT_FILES = {"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
               "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}


def read_idx(path: Path) -> np.ndarray:
    """The uint8 array an IDX file (gzipped or not) holds; a wrong header or a broken gzip file (a download cut
    short, an error page saved under the file's name) is a one-line error."""
    raw = read_maybe_gzipped(path)
    if len(raw) < 4:
        raise UnreadableFileError(f"'{path}' is not an IDX file (only {len(raw)} bytes)")
    magic = int.from_bytes(raw[:4], "big")
    dims = magic & 0xFF
    if magic >> 8 != 0x08 or dims not in (1, 3):
        raise UnreadableFileError(f"'{path}' is not a uint8 IDX file (magic number {magic:#010x})")
    if len(raw) < 4 + 4 * dims:
        raise UnreadableFileError(f"'{path}' is truncated: it ends inside its header; download it again")
    shape = tuple(int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(dims))
    body, announced = raw[4 + 4 * dims:], int(np.prod(shape))
    if len(body) != announced:
        how = "is truncated" if len(body) < announced else f"has {len(body) - announced:,} bytes past its data"
        raise UnreadableFileError(f"'{path}' {how}: its header announces {shape}, {announced:,} values, the file "
                                  f"holds {len(body):,}; download it again")
    return np.frombuffer(body, dtype=np.uint8).reshape(shape)


def find_idx_file(root: Path, folder: str, name: str) -> Path | None:
    """``name`` or ``name.gz`` in ``root/<folder>/raw`` or ``root``, else None."""
    for directory in (root / folder / "raw", root):
        for candidate in (directory / name, directory / f"{name}.gz"):
            if candidate.is_file():
                return candidate
    return None


def missing_files(root: Path, folder: str) -> list[str]:
    return [name for pair in SPLIT_FILES.values() for name in pair if find_idx_file(root, folder, name) is None]


def expected_layout(root: Path, folder: str) -> str:
    """What the error messages say the loader looks for."""
    names = ", ".join(name for pair in SPLIT_FILES.values() for name in pair)
    return f"the four IDX files ({names}; gzipped or not) in {root / folder / 'raw'} or in {root}"


class IdxImages(Dataset):
    """One split of an IDX data set, decoded once: ``data`` (N, H, W) uint8, ``targets`` (N,) long.

    ``dataset[i]`` is ``(transform(data[i] / 255), y)``, the image of shape (1, H, W); ``transform`` ends in
    ``Normalize`` (and starts with ``RandomCrop(H, padding=p)``, a random shift of up to p pixels, when the
    training images are jittered). The device-resident loader (data/device_loader.py) reads ``data``,
    ``targets`` and these transform steps directly, so an epoch there decodes nothing.
    """

    def __init__(self, images: Tensor, labels: Tensor, transform: T.Compose, classes: Sequence[str]):
        self.data, self.targets, self.transform = images, labels, transform
        self.classes = list(classes)

    def __len__(self) -> int:
        return len(self.targets)

    def __getitem__(self, index: int) -> tuple[Tensor, Tensor]:
        return self.transform(self.data[index].unsqueeze(0).float() / 255.0), self.targets[index]


def idx_transform(stats: tuple[Sequence[float], Sequence[float]], size: int, jitter: int = 0) -> T.Compose:
    """``[RandomCrop(size, padding=jitter)] + Normalize(stats)`` on a float image in [0, 1]."""
    return T.Compose(([T.RandomCrop(size, padding=jitter)] if jitter else []) + [T.Normalize(*stats)])


def read_idx_split(root: Path, folder: str, split: str, num_classes: int = 10) -> tuple[Tensor, Tensor]:
    """``(images (N, H, W) uint8, labels (N,) long)`` of the ``train`` or ``test`` split; a label outside
    ``0 .. num_classes - 1`` is a one-line error (it would stop training mid-epoch)."""
    images_file, labels_file = (find_idx_file(root, folder, name) for name in SPLIT_FILES[split])
    images, labels = read_idx(images_file), read_idx(labels_file)
    if len(images) != len(labels):
        raise UnreadableFileError(f"'{images_file}' holds {len(images):,} images but '{labels_file}' "
                                  f"{len(labels):,} labels: the two files do not belong together")
    if labels.ndim != 1:
        raise UnreadableFileError(f"'{labels_file}' holds an array of shape {labels.shape}, not labels; check that "
                                  "the images and labels files are not swapped")
    if len(labels) and labels.max() >= num_classes:
        raise UnreadableFileError(f"'{labels_file}' holds the label {labels.max()}, outside the {num_classes} classes "
                                  f"0 .. {num_classes - 1}")
    return torch.from_numpy(images.copy()), torch.from_numpy(labels.astype(np.int64))
