"""scikit-learn's 8x8 handwritten digits (1797 images, 10 classes): the offline, embedded default.

The images ship inside scikit-learn, so nothing is downloaded or read from disk: ``data.root`` and
``data.download`` are not taken, nor ``data.augment`` (below): set off their defaults, a one-line error. Split: a fixed stratified split, 80/20 by default
(``data.test_fraction``; ``random_state=0``: 1437 train / 360 test images). Pixels (0..16) are scaled to
[0, 1] and standardised with the training set's mean and standard deviation. The images stay 8x8 by
default (fast on a CPU: the quickstart trains three models in well under a minute); ``image_size=N``
upsamples them bilinearly to NxN, e.g. 32 to try the CIFAR ResNets (``[H, W]`` to H x W). No augmentation
(one pixel of shift is an eighth of the image), so no ``augment`` option.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch.utils.data import TensorDataset

from kd.vision.data.registry import DATASETS, DataSplits, check_test_fraction
from kd.vision.data.transforms import image_hw


@DATASETS.register("digits")
def digits(image_size: int | None = None, test_fraction: float = 0.2) -> DataSplits:
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    bunch = load_digits()
    images = torch.tensor(bunch.images, dtype=torch.float32).unsqueeze(1) / 16.0  # (N, 1, 8, 8)
    labels = torch.tensor(bunch.target, dtype=torch.long)
    train_idx, test_idx = train_test_split(torch.arange(len(labels)).numpy(),
                                           test_size=check_test_fraction(test_fraction), stratify=labels.numpy(),
                                           random_state=0)
    size = image_hw(image_size) if image_size else (8, 8)
    if size != (8, 8):
        images = F.interpolate(images, size=size, mode="bilinear", align_corners=False)
    train_x = images[train_idx]
    mean, std = train_x.mean(), train_x.std()
    train = TensorDataset((train_x - mean) / std, labels[train_idx])
    test = TensorDataset((images[test_idx] - mean) / std, labels[test_idx])
    return DataSplits(train=train, train_plain=train, test=test, num_classes=10,
                      image_shape=tuple(images.shape[1:]), class_names=[str(i) for i in range(10)],
                      normalisation=((mean.item(),), (std.item(),)))
