"""Any folder of images, one sub-folder per class (torchvision's ImageFolder layout).

``data.name=imagefolder data.root=DIR`` accepts either
- ``DIR/train/<class>/*.png`` and ``DIR/test/<class>/*`` (or ``val/``, ``valid/``, ``validation/``): the given
  split (a ``train/`` without one of those beside it is a one-line error, not a folder of two classes); or
- ``DIR/<class>/*``: a single folder, split into train/test with a fixed ``test_fraction`` (stratified by
  class when every class has enough images).
Hidden files and folders (``.ipynb_checkpoints``, macOS's ``._`` files and ``__MACOSX``) are neither classes nor
images. Images are converted to RGB, resized and centre-cropped to ``image_size`` (default 32; ``[H, W]`` for
H x W) and normalised with ImageNet statistics; training adds a padded random crop and a horizontal flip.
A missing or empty folder, or one without class sub-folders or images, is a one-line MissingPathError.
Every image is checked once before training (PIL opens and verifies it; a JPEG must end in its end-of-image
marker, which a file cut short lacks): a file that does not decode is
a one-line UnreadableFileError naming it, or, with ``skip_bad_images=True``, is left out and counted.
The folder is local: nothing is downloaded, and ``data.download`` is not taken (set, a one-line error).
"""
from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
from PIL import Image
from torch.utils.data import Subset
from torchvision.datasets import ImageFolder
from torchvision.datasets.folder import IMG_EXTENSIONS, has_file_allowed_extension

from kd.common.utils.errors import ConfigError, MissingPathError, UnreadableFileError
from kd.vision.data import transforms as tf
from kd.vision.data.registry import DATASETS, DataSplits, check_test_fraction

TEST_SPLIT_NAMES = ("test", "val", "valid", "validation")


def load_image(path: str):
    """The image at ``path`` as PIL RGB; one that does not decode is a one-line error naming the file. A 16-bit grey
    image keeps its top 8 bits (PIL's ``convert("RGB")`` would clip every value above 255 to white)."""
    try:
        with Image.open(path) as image:
            if image.mode.startswith("I;16"):
                image = Image.fromarray((np.asarray(image, dtype=np.uint16) >> 8).astype(np.uint8), mode="L")
            return image.convert("RGB")
    except Exception as err:  # noqa: BLE001 - PIL raises many kinds (UnidentifiedImageError, OSError, SyntaxError)
        raise UnreadableFileError(f"image '{path}' cannot be decoded ({_reason(err, path)}); delete or replace it, or "
                                  "set data.skip_bad_images=true to leave such files out") from None


def _reason(err: Exception, path: str) -> str:
    """PIL's complaint in a few words (without the path, which the message names already)."""
    text = str(err).splitlines()[0].replace(f" '{path}'", "") if str(err) else ""
    return text or type(err).__name__


def _decode_failure(path: str) -> str | None:
    """None when PIL opens and verifies the image file at ``path``, else why it cannot. PIL's ``verify`` reads no
    JPEG data, so a JPEG is also checked for its end-of-image marker (FF D9), which a file cut short lacks (in the
    entropy-coded data an FF byte is followed by 00 or a restart marker, never D9; the last kilobyte is searched,
    so bytes some writers append after the marker pass; a file without it there is decoded whole before it is
    called bad, for the writers that append more); decoding every image would cost ImageNet hours."""
    try:
        with Image.open(path) as image:
            kind = image.format
            image.verify()
    except Exception as err:  # noqa: BLE001 - as in load_image
        return _reason(err, path)
    if kind == "JPEG":
        with open(path, "rb") as f:
            f.seek(max(0, f.seek(0, 2) - 1024))
            if b"\xff\xd9" not in f.read():
                try:
                    with Image.open(path) as image:
                        image.load()
                except Exception:  # noqa: BLE001 - as in load_image
                    return "image file is truncated: no JPEG end-of-image marker"
    return None


def drop_undecodable(folders: list[ImageFolder], skip: bool) -> int:
    """Check every image of ``folders`` once; return how many were left out.

    A file that does not decode is an :class:`UnreadableFileError` naming it, unless ``skip``: then it is
    removed from every folder's samples (and a line says how many were).
    """
    paths = sorted({path for folder in folders for path, _ in folder.samples})
    bad = {path: reason for path in paths if (reason := _decode_failure(path)) is not None}
    if not bad:
        return 0
    first, reason = next(iter(bad.items()))
    if not skip:
        more = f" (and {len(bad) - 1} more)" if len(bad) > 1 else ""
        raise UnreadableFileError(f"image '{first}' cannot be decoded ({reason}){more}; delete or replace it, or set "
                                  "data.skip_bad_images=true to leave such files out")
    for folder in folders:
        folder.samples = folder.imgs = [s for s in folder.samples if s[0] not in bad]
        folder.targets = [label for _, label in folder.samples]
    print(f"skipped {len(bad)} of {len(paths)} images that do not decode (data.skip_bad_images=true), e.g. '{first}' "
          f"({reason})")
    return len(bad)


def is_hidden(name: str) -> bool:
    """A file or folder name no class or image has: hidden ones (``.ipynb_checkpoints``, ``.git``, the ``._x.jpg``
    resource forks macOS writes beside each file on other disks) and ``__MACOSX``, the folder of those a zip made on
    macOS carries."""
    return name.startswith(".") or name == "__MACOSX"


class VisibleImageFolder(ImageFolder):
    """torchvision's ImageFolder that skips hidden entries (:func:`is_hidden`): such a folder would become a class
    (an empty one stops the run; one holding copies of images adds a class that is not in the data), and a ``._``
    file an image that does not decode."""

    def __init__(self, root: str, **kwargs):
        super().__init__(root, is_valid_file=lambda path: self.is_visible_image(root, path), **kwargs)

    @staticmethod
    def is_visible_image(root: str, path: str) -> bool:
        """An image file below ``root`` (torchvision joins each ``path`` to it) with no hidden part on the way."""
        return (has_file_allowed_extension(path, IMG_EXTENSIONS)
                and not any(is_hidden(part) for part in path[len(root):].split(os.sep)))

    def find_classes(self, directory: str) -> tuple[list[str], dict[str, int]]:
        classes = sorted(entry.name for entry in os.scandir(directory) if entry.is_dir() and not is_hidden(entry.name))
        if not classes:
            raise FileNotFoundError(f"Couldn't find any class folder in {directory}.")
        return classes, {name: i for i, name in enumerate(classes)}


def image_folder_of(path: Path, transform) -> ImageFolder:
    """The ImageFolder over ``path`` (one sub-folder per class, hidden entries skipped: :class:`VisibleImageFolder`);
    none there is a one-line MissingPathError."""
    try:
        return VisibleImageFolder(str(path), transform=transform, loader=load_image)
    except FileNotFoundError as err:
        raise MissingPathError(
            f"image folder '{path}' has no usable images ({str(err).splitlines()[0]}); it needs one sub-folder "
            "per class holding .png/.jpg files, e.g. DIR/cat/1.png, or DIR/train/<class>/ and DIR/test/<class>/"
        ) from None


def train_test_folders(train_dir: Path, test_dir: Path, augmented, plain,
                       skip_bad_images: bool) -> tuple[ImageFolder, ImageFolder, ImageFolder]:
    """``(train, train_plain, test)`` folders of a ``train/`` + ``test/`` layout, their images checked once
    (:func:`drop_undecodable`); class sub-folders that differ between the two are a one-line ConfigError."""
    train, train_plain = image_folder_of(train_dir, augmented), image_folder_of(train_dir, plain)
    test = image_folder_of(test_dir, plain)
    drop_undecodable([train, train_plain, test], skip_bad_images)
    if test.classes != train.classes:
        raise ConfigError(f"'{train_dir}' and '{test_dir}' have different class sub-folders: "
                          f"{train.classes} vs {test.classes}")
    return train, train_plain, test


def _stratified_split(targets: list[int], test_fraction: float) -> tuple[list[int], list[int]]:
    from sklearn.model_selection import train_test_split

    indices = list(range(len(targets)))
    if len(indices) < 2:
        raise MissingPathError("an image folder needs at least 2 images to split into train and test, "
                               f"got {len(indices)}")
    n_classes, n_test = len(set(targets)), max(1, math.ceil(check_test_fraction(test_fraction) * len(indices)))
    if n_test >= len(indices):
        raise ConfigError(f"data.test_fraction={test_fraction} of {len(indices)} images leaves none to train on; "
                          "lower it")
    smallest = min(targets.count(t) for t in set(targets))
    can_stratify = smallest >= 2 and n_classes <= n_test <= len(indices) - n_classes
    return train_test_split(indices, test_size=n_test, stratify=targets if can_stratify else None, random_state=0)


@DATASETS.register("imagefolder")
def imagefolder(root=None, augment: bool = True, image_size: int | list[int] | None = None, test_fraction: float = 0.2,
                skip_bad_images: bool = False, crop_padding: int | None = None,
                crop_padding_mode: str = "zeros") -> DataSplits:
    if not root:
        raise MissingPathError("data set 'imagefolder' needs data.root=/path/to/folder (class sub-folders of images)")
    root = Path(root).expanduser()
    if not root.is_dir():
        raise MissingPathError(f"image folder '{root}' does not exist; pass data.root=/path/to/folder")
    if not any(root.iterdir()):
        raise MissingPathError(f"image folder '{root}' is empty; put one sub-folder of images per class in it")
    size = tf.image_hw(image_size or 32)
    plain = tf.eval_transform(tf.IMAGENET_STATS, resize=size)
    augmented = tf.train_transform(tf.IMAGENET_STATS, size, resize=True, padding=crop_padding,
                                   padding_mode=crop_padding_mode) if augment else plain
    test_dir = next((root / n for n in TEST_SPLIT_NAMES if (root / n).is_dir()), None)
    if (root / "train").is_dir() and test_dir is None:
        raise MissingPathError(f"image folder '{root}' has train/ but none of {', '.join(TEST_SPLIT_NAMES)} beside it: "
                               "add the test split's class folders there, or put the class folders directly in "
                               f"'{root}' to split them by data.test_fraction")
    if test_dir is not None:
        train, train_plain, test = train_test_folders(root / "train", test_dir, augmented, plain, skip_bad_images)
        classes = train.classes
    else:
        full_aug, full_plain = image_folder_of(root, augmented), image_folder_of(root, plain)
        drop_undecodable([full_aug, full_plain], skip_bad_images)
        train_idx, test_idx = _stratified_split(full_plain.targets, test_fraction)
        train, train_plain = Subset(full_aug, train_idx), Subset(full_plain, train_idx)
        test = Subset(full_plain, test_idx)
        classes = full_plain.classes
    return DataSplits(train=train, train_plain=train_plain, test=test, num_classes=len(classes),
                      image_shape=(3, *size), class_names=list(classes), normalisation=tf.IMAGENET_STATS)
