"""Image transforms: image sizes, normalisation statistics and the standard training augmentations (CIFAR's padded
crop + flip; ImageNet's RandomResizedCrop + flip with Resize + CenterCrop for evaluation).

A size is ``N`` (N x N) or ``[H, W]`` (``data.image_size=[28, 40]``: 28 rows, 40 columns).
"""
from __future__ import annotations

from typing import Sequence

from torchvision import transforms as T

from kd.common.utils.errors import ConfigError

CIFAR10_STATS = ((0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616))
CIFAR100_STATS = ((0.5071, 0.4865, 0.4409), (0.2673, 0.2564, 0.2762))
MNIST_STATS = ((0.1307,), (0.3081,))
FASHION_MNIST_STATS = ((0.2860,), (0.3530,))
IMAGENET_STATS = ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))

CROP_PADDING_MODES = {"zeros": "constant", "reflect": "reflect"}
"""``data.crop_padding_mode``: what the border a random crop may reach holds, as torchvision's ``RandomCrop``
``padding_mode`` names it. ``zeros``: black pixels (RepDistiller's CIFAR recipe); ``reflect``: the image mirrored
about its edge row/column, which is not repeated (airbench's ``F.pad(images, (pad,) * 4, 'reflect')``). Both act on
the pixels before normalisation; reflection commutes with the per-channel normalisation, a black pixel becomes
``-mean / std``."""


def check_crop_padding_mode(mode: str) -> None:
    """A one-line ConfigError unless ``mode`` (``data.crop_padding_mode``) is one of :data:`CROP_PADDING_MODES`."""
    if mode not in CROP_PADDING_MODES:
        raise ConfigError(f"data.crop_padding_mode must be one of {', '.join(CROP_PADDING_MODES)}, not {mode!r}")


def image_hw(size: int | Sequence[int], what: str = "data.image_size") -> tuple[int, int]:
    """``(height, width)`` of a size given as ``N`` or ``[H, W]``; anything else is a one-line ConfigError."""
    values = [size] if isinstance(size, int) else list(size) if isinstance(size, (list, tuple)) else None
    if values is None or len(values) not in (1, 2) or not all(isinstance(v, int) and not isinstance(v, bool)
                                                              and v > 0 for v in values):
        raise ConfigError(f"{what} must be a positive integer N (N x N) or [height, width], got {size!r}")
    return (values[0], values[-1])


def resize_steps(size: tuple[int, int]) -> list:
    """Resize the shorter side to max(H, W) (the aspect ratio kept), then centre-crop to ``size`` = (H, W)."""
    return [T.Resize(max(size)), T.CenterCrop(size)]


def eval_transform(stats: tuple[Sequence[float], Sequence[float]], resize: tuple[int, int] | None = None) -> T.Compose:
    """(resize + centre crop to ``resize`` = (H, W)) -> tensor in [0, 1] -> (x - mean) / std."""
    steps = resize_steps(resize) if resize else []
    return T.Compose(steps + [T.ToTensor(), T.Normalize(*stats)])


def train_transform(stats: tuple[Sequence[float], Sequence[float]], size: tuple[int, int], flip: bool = True,
                    resize: bool = False, padding: int | None = None, padding_mode: str = "zeros") -> T.Compose:
    """The CIFAR augmentation at ``size`` = (H, W): random crop after padding by ``padding`` pixels (default
    min(H, W)/8: 4 px at 32x32, RepDistiller's; airbench translates by 2) with zeros or the reflected image
    (``padding_mode``, :data:`CROP_PADDING_MODES`; airbench reflects) and, for natural images, a horizontal flip;
    then the same normalisation as :func:`eval_transform`."""
    if padding is None:
        padding = max(1, min(size) // 8)
    if not isinstance(padding, int) or isinstance(padding, bool) or padding < 0:
        raise ConfigError(f"data.crop_padding must be a whole number of pixels >= 0, got {padding!r}")
    check_crop_padding_mode(padding_mode)
    if padding_mode == "reflect" and padding >= min(size):
        raise ConfigError(f"data.crop_padding_mode=reflect mirrors at most {min(size) - 1} pixels of a "
                          f"{size[0]}x{size[1]} image, not data.crop_padding={padding}; pad less, or use zeros")
    steps = resize_steps(size) if resize else []
    steps.append(T.RandomCrop(size, padding=padding, padding_mode=CROP_PADDING_MODES[padding_mode]))
    if flip:
        steps.append(T.RandomHorizontalFlip())
    return T.Compose(steps + [T.ToTensor(), T.Normalize(*stats)])


IMAGENET_RESIZE = 256 / 224
"""Evaluation resizes the shorter side to this times the crop size (256 for 224, torchvision's reference)."""


def imagenet_eval_transform(size: tuple[int, int]) -> T.Compose:
    """Resize the shorter side to ``256/224 * max(size)`` (256 for 224), centre-crop ``size`` = (H, W), normalise
    with ImageNet statistics: the evaluation of torchvision's reference ImageNet recipe."""
    return T.Compose([T.Resize(round(max(size) * IMAGENET_RESIZE)), T.CenterCrop(size), T.ToTensor(),
                      T.Normalize(*IMAGENET_STATS)])


def imagenet_train_transform(size: tuple[int, int]) -> T.Compose:
    """``RandomResizedCrop(size)`` (8-100% of the area, aspect 3/4-4/3) + horizontal flip, ImageNet statistics: the
    training augmentation of torchvision's reference ImageNet recipe (and of the KD/DKD ImageNet tables)."""
    return T.Compose([T.RandomResizedCrop(size), T.RandomHorizontalFlip(), T.ToTensor(), T.Normalize(*IMAGENET_STATS)])
