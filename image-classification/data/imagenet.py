"""ImageNet (ILSVRC-2012, Russakovsky et al. 2015), or any ``train/`` + ``val/`` image folder, at 224 px:
``data.name=imagenet``.

``data.root`` (default ``$KD_DATA/imagenet``, else ``~/.cache/kd/imagenet``) holds either

- torchvision's ImageNet layout: ``train/<wnid>/*.JPEG`` and ``val/<wnid>/*.JPEG`` with ``meta.bin``, or the
  archives it is made from (``ILSVRC2012_img_train.tar``, ``ILSVRC2012_img_val.tar``,
  ``ILSVRC2012_devkit_t12.tar.gz``, from image-net.org after registering: they cannot be downloaded here),
  which ``torchvision.datasets.ImageNet`` unpacks into that layout once (in a single process: under torchrun
  that is a one-line error saying so); or
- any image folder with ``train/<class>/`` and ``val/<class>/`` (or ``test/<class>/``).

The transforms are torchvision's reference ImageNet recipe, the one the KD/DKD ImageNet tables use:
training ``RandomResizedCrop(224)`` + horizontal flip, evaluation ``Resize(256)`` + ``CenterCrop(224)``,
ImageNet normalisation (``data.image_size`` changes 224, and the resize with it, as 256/224 of it).
Class names are the first WordNet name of each class ('tench') when ``meta.bin`` is there, else the folder
names. Every image is checked once before training, as for image folders (``data.skip_bad_images``).

The images stay on disk and are decoded per batch (set ``data.num_workers``): ``data.in_memory: auto``
never holds them (1.28M images are ~190 GB of 224 px pixels, and the in-memory loader does not do
resized crops; data/device_loader.py).
"""
from __future__ import annotations

from pathlib import Path

from torchvision.datasets import ImageNet
from torchvision.datasets.imagenet import META_FILE, load_meta_file

from kd.common.utils import distributed
from kd.common.utils.errors import MissingPathError
from kd.vision.data import transforms as tf
from kd.vision.data.cache_dir import data_root
from kd.vision.data.image_folder import TEST_SPLIT_NAMES, train_test_folders
from kd.vision.data.registry import DATASETS, DataSplits

ARCHIVES = ("ILSVRC2012_img_train.tar", "ILSVRC2012_img_val.tar", "ILSVRC2012_devkit_t12.tar.gz")
IMAGENET_SIZE = 224


def unpacked_root(root: Path) -> tuple[Path, Path]:
    """``(train_dir, test_dir)`` under ``root``, unpacking torchvision's archives first when only they are there."""
    test_dir = next((root / n for n in TEST_SPLIT_NAMES if (root / n).is_dir()), None)
    if (root / "train").is_dir() and test_dir is not None:
        return root / "train", test_dir
    if all((root / name).is_file() for name in ARCHIVES):
        if distributed.get_world_size() > 1:  # hours of unpacking: not in 8 processes at once, nor behind a barrier
            raise MissingPathError(f"imagenet: '{root}' holds the archives, not yet unpacked; unpack them once with a "
                                   "single process (the same command with python instead of torchrun and --dry-run), "
                                   "then launch torchrun")
        print(f"imagenet: unpacking {', '.join(ARCHIVES)} in {root} (once; it takes a while)")
        for split in ("train", "val"):
            ImageNet(str(root), split=split)
        return root / "train", root / "val"
    raise MissingPathError(f"imagenet: '{root}' holds neither train/ and val/ class folders nor the archives "
                           f"{', '.join(ARCHIVES)} (from image-net.org); pass data.root=/path/to/imagenet")


@DATASETS.register("imagenet")
def imagenet(root=None, augment: bool = True, image_size: int | list[int] | None = None,
             skip_bad_images: bool = False) -> DataSplits:
    """ILSVRC-2012 (1.28M training, 50k validation images, 1000 classes) or a ``train/`` + ``val/`` folder at 224 px.
    It takes no ``test_fraction`` or ``download`` (set, a one-line error): the split is the folders', and ImageNet is
    not downloadable."""
    root = Path(root).expanduser() if root else data_root() / "imagenet"
    train_dir, test_dir = unpacked_root(root)
    size = tf.image_hw(image_size or IMAGENET_SIZE)
    plain = tf.imagenet_eval_transform(size)
    augmented = tf.imagenet_train_transform(size) if augment else plain
    train, train_plain, test = train_test_folders(train_dir, test_dir, augmented, plain, skip_bad_images)
    names = list(train.classes)
    if (root / META_FILE).is_file():
        wnid_names = load_meta_file(str(root))[0]
        names = [wnid_names[wnid][0] if wnid in wnid_names else wnid for wnid in names]
    return DataSplits(train=train, train_plain=train_plain, test=test, num_classes=len(names),
                      image_shape=(3, *size), class_names=names, normalisation=tf.IMAGENET_STATS)
