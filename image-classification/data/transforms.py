"""Image transforms: normalisation statistics and the standard training augmentation."""
from __future__ import annotations

from typing import Sequence

from torchvision import transforms as T

CIFAR10_STATS = ((0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616))
CIFAR100_STATS = ((0.5071, 0.4865, 0.4409), (0.2673, 0.2564, 0.2762))
MNIST_STATS = ((0.1307,), (0.3081,))
FASHION_MNIST_STATS = ((0.2860,), (0.3530,))
IMAGENET_STATS = ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))


def eval_transform(stats: tuple[Sequence[float], Sequence[float]], resize: int | None = None) -> T.Compose:
    """(resize + centre crop) -> tensor in [0, 1] -> (x - mean) / std."""
    steps = [T.Resize(resize), T.CenterCrop(resize)] if resize else []
    return T.Compose(steps + [T.ToTensor(), T.Normalize(*stats)])


def train_transform(stats: tuple[Sequence[float], Sequence[float]], size: int, flip: bool = True,
                    resize: bool = False) -> T.Compose:
    """The CIFAR augmentation: random crop after zero-padding by size/8 (4 px at 32x32) and, for natural
    images, a horizontal flip; then the same normalisation as :func:`eval_transform`."""
    steps = [T.Resize(size), T.CenterCrop(size)] if resize else []
    steps.append(T.RandomCrop(size, padding=max(1, size // 8)))
    if flip:
        steps.append(T.RandomHorizontalFlip())
    return T.Compose(steps + [T.ToTensor(), T.Normalize(*stats)])
