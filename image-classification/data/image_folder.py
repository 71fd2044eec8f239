"""Any folder of images, one sub-folder per class (torchvision's ImageFolder layout).

``data.name=imagefolder data.root=DIR`` accepts either
- ``DIR/train/<class>/*.png`` and ``DIR/test/<class>/*`` (or ``DIR/val/<class>/*``): the given split; or
- ``DIR/<class>/*``: a single folder, split into train/test with a fixed ``test_fraction`` (stratified by
  class when every class has enough images).
Images are converted to RGB, resized and centre-cropped to ``image_size`` (default 32) and normalised
with ImageNet statistics; training adds a padded random crop and a horizontal flip.
A missing or empty folder, or one without class sub-folders or images, is a one-line MissingPathError.
"""
from __future__ import annotations

import math
from pathlib import Path

from torch.utils.data import Subset
from torchvision.datasets import ImageFolder

from kd.common.utils.errors import ConfigError, MissingPathError
from kd.vision.data import transforms as tf
from kd.vision.data.registry import DATASETS, DataSplits

TEST_SPLIT_NAMES = ("test", "val")


def _image_folder(path: Path, transform) -> ImageFolder:
    try:
        return ImageFolder(str(path), transform=transform)
    except FileNotFoundError as err:
        raise MissingPathError(
            f"image folder '{path}' has no usable images ({str(err).splitlines()[0]}); it needs one sub-folder "
            "per class holding .png/.jpg files, e.g. DIR/cat/1.png, or DIR/train/<class>/ and DIR/test/<class>/"
        ) from None


def _stratified_split(targets: list[int], test_fraction: float) -> tuple[list[int], list[int]]:
    from sklearn.model_selection import train_test_split

    indices = list(range(len(targets)))
    if len(indices) < 2:
        raise MissingPathError(f"an image folder needs at least 2 images to split into train and test, got {len(indices)}")
    n_classes, n_test = len(set(targets)), max(1, math.ceil(test_fraction * len(indices)))
    smallest = min(targets.count(t) for t in set(targets))
    can_stratify = smallest >= 2 and n_classes <= n_test <= len(indices) - n_classes
    return train_test_split(indices, test_size=n_test, stratify=targets if can_stratify else None, random_state=0)


@DATASETS.register("imagefolder")
def imagefolder(root=None, augment: bool = True, image_size: int | None = None, test_fraction: float = 0.2,
                download: bool = True) -> DataSplits:
    if not root:
        raise MissingPathError("data set 'imagefolder' needs data.root=/path/to/folder (class sub-folders of images)")
    root = Path(root).expanduser()
    if not root.is_dir():
        raise MissingPathError(f"image folder '{root}' does not exist; pass data.root=/path/to/folder")
    if not any(root.iterdir()):
        raise MissingPathError(f"image folder '{root}' is empty; put one sub-folder of images per class in it")
    size = image_size or 32
    plain = tf.eval_transform(tf.IMAGENET_STATS, resize=size)
    augmented = tf.train_transform(tf.IMAGENET_STATS, size, resize=True) if augment else plain
    test_dir = next((root / n for n in TEST_SPLIT_NAMES if (root / n).is_dir()), None)
    if (root / "train").is_dir() and test_dir is not None:
        train, train_plain = _image_folder(root / "train", augmented), _image_folder(root / "train", plain)
        test = _image_folder(test_dir, plain)
        if test.classes != train.classes:
            raise ConfigError(f"'{root / 'train'}' and '{test_dir}' have different class sub-folders: "
                              f"{train.classes} vs {test.classes}")
        classes = train.classes
    else:
        full_aug, full_plain = _image_folder(root, augmented), _image_folder(root, plain)
        train_idx, test_idx = _stratified_split(full_plain.targets, test_fraction)
        train, train_plain, test = Subset(full_aug, train_idx), Subset(full_plain, train_idx), Subset(full_plain, test_idx)
        classes = full_plain.classes
    return DataSplits(train=train, train_plain=train_plain, test=test, num_classes=len(classes),
                      image_shape=(3, size, size), class_names=list(classes))
