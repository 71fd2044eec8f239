"""MNIST, Fashion-MNIST, CIFAR-10 and CIFAR-100, downloaded into the cache folder by torchvision.

Files go to ``data.root``, else ``$KD_DATA``, else ``~/.cache/kd`` (torchvision's layout:
``MNIST/raw``, ``FashionMNIST/raw``, ``cifar-10-batches-py``, ``cifar-100-python``). With
``download=true`` (default) torchvision fetches what is missing; on a machine without network this
is an :class:`OfflineError` saying how to point at local files instead. MNIST and Fashion-MNIST are read
from their IDX files wherever they are found (data/idx.py: gzipped or not, no checksum). CIFAR training
uses the standard augmentation (4-pixel-padded random crop + horizontal flip; ``data.crop_padding`` and
``data.crop_padding_mode`` change the padding); MNIST-like training images
are jittered by up to 2 pixels in each direction (Hinton et al. 2015, sec. 3), ``data.augment=false`` for none.
Their images keep their size: a ``data.image_size`` other than it is a one-line error. Their train/test split is
the published one: they take no ``data.test_fraction`` (set, a one-line error).
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable
from urllib.error import URLError

from torchvision import datasets as tvd

from kd.common.utils.errors import ConfigError, MissingPathError, OfflineError
from kd.vision.data import transforms as tf
from kd.vision.data.cache_dir import ENV_VAR, data_root
from kd.vision.data.idx import IdxImages, expected_layout, idx_transform, missing_files, read_idx_split
from kd.vision.data.registry import DATASETS, DataSplits


def _open(cls: Callable, name: str, root: Path, train: bool, transform, download: bool, files: str = "the files"):
    try:
        return cls(str(root), train=train, transform=transform, download=download)
    except (URLError, OSError, RuntimeError) as err:
        reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        if download:
            raise OfflineError(
                f"could not download {name} into {root} ({reason}); put {files} there yourself and pass "
                f"data.root=/path (or set {ENV_VAR}), or use data.name=imagefolder data.root=/path/to/folder"
            ) from None
        raise MissingPathError(
            f"{name} files not found or corrupted under {root} ({reason}); pass data.root=/path to a folder "
            "holding them in torchvision's layout, or set data.download=true"
        ) from None


def _native_size(name: str, image_size, image_shape) -> None:
    """These sets are not resized: ``image_size`` must be unset or their own size."""
    if image_size and tf.image_hw(image_size) != tuple(image_shape[1:]):
        raise ConfigError(f"{name} images are {image_shape[1]}x{image_shape[2]} and are not resized; drop "
                          f"data.image_size (it resizes imagefolder and digits images)")


def _torchvision_splits(cls: Callable, name: str, stats, num_classes: int, image_shape, root, augment: bool,
                        download: bool, augmentation=None, image_size=None) -> DataSplits:
    _native_size(name, image_size, image_shape)
    root = data_root(root)
    plain = tf.eval_transform(stats)
    train = _open(cls, name, root, True, augmentation if (augment and augmentation) else plain, download)
    train_plain = _open(cls, name, root, True, plain, False)
    test = _open(cls, name, root, False, plain, False)
    return DataSplits(train=train, train_plain=train_plain, test=test, num_classes=num_classes,
                      image_shape=image_shape, class_names=list(train.classes), normalisation=stats)


MNIST_JITTER = 2  # pixels of random shift for augmented MNIST-like training images


def _idx_splits(cls: Callable, name: str, stats, root, augment: bool, download: bool, image_size=None) -> DataSplits:
    """An MNIST-like set from its IDX files under ``root`` (data/idx.py), fetched by torchvision if missing."""
    _native_size(name, image_size, (1, 28, 28))
    root = data_root(root)
    folder = cls.__name__
    if missing_files(root, folder):
        if not download:
            raise MissingPathError(f"{name}: {', '.join(missing_files(root, folder))} not found; expected "
                                   f"{expected_layout(root, folder)}. Pass data.root=/path to that folder, "
                                   "or set data.download=true")
        _open(cls, name, root, True, None, True, files=expected_layout(root, folder))  # into root/<folder>/raw
    classes = list(cls.classes)
    plain = idx_transform(stats, 28)
    train_images, train_labels = read_idx_split(root, folder, "train")
    train = IdxImages(train_images, train_labels, idx_transform(stats, 28, MNIST_JITTER) if augment else plain, classes)
    train_plain = IdxImages(train_images, train_labels, plain, classes)
    test = IdxImages(*read_idx_split(root, folder, "test"), plain, classes)
    return DataSplits(train=train, train_plain=train_plain, test=test, num_classes=10, image_shape=(1, 28, 28),
                      class_names=classes, normalisation=stats)


@DATASETS.register("mnist")
def mnist(root=None, augment: bool = True, image_size=None, download: bool = True) -> DataSplits:
    """60k/10k 28x28 grey digits (LeCun et al. 1998)."""
    return _idx_splits(tvd.MNIST, "mnist", tf.MNIST_STATS, root, augment, download, image_size)


@DATASETS.register("fashion_mnist")
def fashion_mnist(root=None, augment: bool = True, image_size=None, download: bool = True) -> DataSplits:
    """60k/10k 28x28 grey clothing images (Xiao et al. 2017)."""
    return _idx_splits(tvd.FashionMNIST, "fashion_mnist", tf.FASHION_MNIST_STATS, root, augment, download, image_size)


@DATASETS.register("cifar10")
def cifar10(root=None, augment: bool = True, image_size=None, crop_padding: int | None = None,
            download: bool = True, crop_padding_mode: str = "zeros") -> DataSplits:
    """50k/10k 32x32 colour images, 10 classes (Krizhevsky 2009)."""
    return _torchvision_splits(tvd.CIFAR10, "cifar10", tf.CIFAR10_STATS, 10, (3, 32, 32), root, augment, download,
                               tf.train_transform(tf.CIFAR10_STATS, (32, 32), padding=crop_padding,
                                                  padding_mode=crop_padding_mode), image_size)


@DATASETS.register("cifar100")
def cifar100(root=None, augment: bool = True, image_size=None, crop_padding: int | None = None,
             download: bool = True, crop_padding_mode: str = "zeros") -> DataSplits:
    """50k/10k 32x32 colour images, 100 classes (Krizhevsky 2009)."""
    return _torchvision_splits(tvd.CIFAR100, "cifar100", tf.CIFAR100_STATS, 100, (3, 32, 32), root, augment, download,
                               tf.train_transform(tf.CIFAR100_STATS, (32, 32), padding=crop_padding,
                                                  padding_mode=crop_padding_mode), image_size)
