"""A data set decoded once and held on the training device as uint8, augmented there per batch (the airbench
idea, Jordan 2024), on a GPU or a CPU alike.

A per-image Python pipeline (PIL -> RandomCrop -> RandomHorizontalFlip -> ToTensor -> Normalize in
DataLoader workers) costs tens of microseconds of CPU per image and, on a GPU, a host-to-device copy per
batch; for CIFAR-sized images that, not the network, bounds the throughput, and on a 2-core CPU the worker
processes take the cores the network needs. Here the whole training set (50,000 x 32 x 32 x 3 bytes = 150 MB
for CIFAR) is decoded and copied to the device once, padded by ``pad`` pixels once (zeros, or with
``pad_mode="reflect"`` the image mirrored about its edges, airbench's), and every batch is one gather:

    out[b, i, j, c] = padded[idx[b], dy[b] + i, dx[b] + (W - 1 - j if flip[b] else j), c]

with ``dy, dx ~ U{0..2*pad}`` and ``flip ~ Bernoulli(1/2)`` per image, which is torchvision's
``RandomCrop(H, padding=pad, padding_mode=...)`` (``constant`` with fill 0, or ``reflect``) +
``RandomHorizontalFlip()`` exactly, then ``x = out / 255 * (1 / std) - mean / std`` as one multiply-add. The
padding is of the uint8 pixels, before that normalisation, as torchvision pads the PIL image before ``ToTensor``:
a zero is a black pixel (``-mean / std`` once normalised, not 0); a reflection is the same either side of it
(the normalisation is per pixel). Gathering in (N, H, W, C) order and permuting to (N, C, H, W) gives
channels_last strides for free, which is what cuDNN's fastest convolution kernels want under bf16 (kept on CUDA;
on the CPU the batch is made contiguous NCHW).

Flips: ``flip_mode="random"`` draws each image's flip afresh every epoch. ``"alternate"`` is airbench's
alternating flip: epoch 0 draws them as above, and in epoch ``e > 0`` image i is mirrored iff its epoch-0 flip
XOR ``e`` is odd, so every image is seen mirrored exactly every other epoch (the marginal of each epoch is still
Bernoulli(1/2); what changes is that two consecutive epochs never repeat an image's orientation).

Order and augmentation are pure functions of ``(seed, epoch)``: the permutation is
``EpochShuffleSampler``'s (``torch.randperm(N)`` from ``seed + epoch``) and the crop/flip of image i
depends on i, not on where it falls, so a resumed run and a run on any number of ranks see the same
augmented images. Under torch.distributed each rank takes every W-th index of that order (padded with
repeats to a multiple of W, as ``DistributedSampler`` does); ``predict`` gathers the shards back.

Offline mode: ``teacher_logits`` (N, C) yields ``(images, labels, teacher_logits)`` with the logits of
the un-augmented image; ``views`` (an :class:`~kd.vision.data.augmentation_cache.AugmentedLogitCache`)
draws each image's crop/flip from its fixed pool of labelled views and yields that view's logits.
"""
from __future__ import annotations

import copy
import dataclasses
import math
from typing import Iterator, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor
from torch.utils.data import Subset
from torchvision import transforms as T

from kd.common.utils import distributed
from kd.common.utils.errors import ConfigError
from kd.vision.data.transforms import CROP_PADDING_MODES, check_crop_padding_mode

FLIP_MODES = ("random", "alternate")
"""``data.flip``: each epoch's flips drawn afresh, or airbench's alternating flip (see the module docstring)."""


def check_flip_mode(mode: str) -> None:
    """A one-line ConfigError unless ``mode`` (``data.flip``) is one of :data:`FLIP_MODES`."""
    if mode not in FLIP_MODES:
        raise ConfigError(f"data.flip must be one of {', '.join(FLIP_MODES)}, not {mode!r}")


def as_uint8_nhwc(images: Tensor | np.ndarray) -> Tensor:
    """``(N, H, W, C)`` or ``(N, H, W)`` uint8 pixels (numpy or torch) as a ``(N, H, W, C)`` uint8 tensor."""
    images = torch.as_tensor(images)
    if images.dtype != torch.uint8:
        raise ConfigError(f"the device loader keeps images as uint8 pixels, got {images.dtype}")
    if images.dim() == 3:
        images = images.unsqueeze(-1)
    if images.dim() != 4:
        raise ConfigError(f"expected images of shape (N, H, W, C), got {tuple(images.shape)}")
    return images


def epoch_generator(seed: int, epoch: int) -> torch.Generator:
    """The CPU generator of one epoch's order and augmentation (the same on every rank and device)."""
    return torch.Generator().manual_seed(seed + epoch)


def normalizer(mean: Sequence[float], std: Sequence[float], device: torch.device) -> tuple[Tensor, Tensor]:
    """``(scale, shift)`` of shape (1, C, 1, 1) with ``pixels * scale + shift == (pixels / 255 - mean) / std``."""
    std_t = torch.tensor(std, dtype=torch.float32, device=device)
    scale = 1.0 / (255.0 * std_t)
    shift = -torch.tensor(mean, dtype=torch.float32, device=device) / std_t
    return scale.view(1, -1, 1, 1), shift.view(1, -1, 1, 1)


def pad_pixels(pixels: Tensor, pad: int, mode: str = "zeros") -> Tensor:
    """Pad ``(N, H, W, C)`` pixels by ``pad`` on each side of H and W: with zeros (torchvision's RandomCrop fill),
    or (``mode="reflect"``) with the image mirrored about its edge rows and columns, which are not repeated
    (torchvision's ``padding_mode="reflect"``, airbench's ``F.pad(images, (pad,) * 4, 'reflect')``)."""
    check_crop_padding_mode(mode)
    if not pad:
        return pixels
    if mode == "zeros":
        return F.pad(pixels, (0, 0, pad, pad, pad, pad))
    height, width = pixels.shape[1:3]
    if pad >= min(height, width):
        raise ConfigError(f"data.crop_padding_mode=reflect mirrors at most {min(height, width) - 1} pixels of a "
                          f"{height}x{width} image, not data.crop_padding={pad}; pad less, or use zeros")
    nchw = F.pad(pixels.permute(0, 3, 1, 2), (pad, pad, pad, pad), mode="reflect")
    return nchw.permute(0, 2, 3, 1).contiguous()


def crop_flip(padded: Tensor, index: Tensor, dy: Tensor, dx: Tensor, flip: Tensor, height: int, width: int) -> Tensor:
    """Crop ``(height, width)`` windows at ``(dy, dx)`` of ``padded[index]`` (N, H', W', C), mirrored where
    ``flip``; one gather, returned as ``(B, C, height, width)`` with channels_last strides."""
    rows = dy[:, None] + torch.arange(height, device=padded.device)[None, :]
    cols = torch.arange(width, device=padded.device)[None, :]
    cols = dx[:, None] + torch.where(flip[:, None], width - 1 - cols, cols)
    out = padded[index[:, None, None], rows[:, :, None], cols[:, None, :]]  # (B, H, W, C)
    return out.permute(0, 3, 1, 2)


class DeviceImageLoader:
    """Batches ``(images, labels[, teacher_logits])`` from a uint8 data set resident on ``device``.

    Args:
        images: ``(N, H, W, C)`` (or ``(N, H, W)``) uint8 pixels, e.g. torchvision CIFAR's ``.data``.
        labels: ``(N,)`` integer labels.
        batch_size: images per batch on this rank.
        mean, std: per-channel normalisation statistics (on the [0, 1] scale).
        augment: random crop after padding by ``pad`` pixels, plus horizontal flip if ``flip``.
        pad_mode: what the padding holds (``data.crop_padding_mode``): ``zeros`` (black pixels) or ``reflect``.
        flip_mode: ``random`` (a fresh flip per image and epoch) or ``alternate`` (airbench's alternating flip).
        shuffle: a new order each epoch (``set_epoch``); ``False`` keeps 0..N-1.
        teacher_logits: ``(N, C)`` offline logits of the plain images, yielded as the batch's third item.
        views: an augmentation-aware logit cache; replaces random augmentation by its labelled views.
        num_replicas, rank: the shard this process reads (default: from torch.distributed).
        channels_last: default on CUDA only.
    """

    def __init__(self, images: Tensor | np.ndarray, labels: Tensor | np.ndarray | Sequence[int], batch_size: int, *,
                 device: torch.device | str = "cpu", mean: Sequence[float], std: Sequence[float],
                 augment: bool = False, pad: int = 4, pad_mode: str = "zeros", flip: bool = True,
                 flip_mode: str = "random",
                 shuffle: bool = False, drop_last: bool = False, seed: int = 0, teacher_logits: Tensor | None = None,
                 views=None, num_replicas: int | None = None, rank: int | None = None,
                 channels_last: bool | None = None):
        self.device = torch.device(device)
        pixels = as_uint8_nhwc(images)
        self.dataset_size, self.height, self.width, channels = pixels.shape
        if len(mean) != channels or len(std) != channels:
            raise ConfigError(f"{channels}-channel images need {channels} mean/std values, got {len(mean)}/{len(std)}")
        self.labels = torch.as_tensor(np.asarray(labels), dtype=torch.long).to(self.device)
        if self.labels.shape[0] != self.dataset_size:
            raise ConfigError(f"{self.labels.shape[0]} labels for {self.dataset_size} images")
        self.pad = pad if (augment or views is not None) else 0
        self.pad_mode = pad_mode
        self.padded = pad_pixels(pixels.to(self.device), self.pad, pad_mode)
        self.scale, self.shift = normalizer(mean, std, self.device)
        check_flip_mode(flip_mode)
        self.batch_size, self.augment, self.flip, self.flip_mode = batch_size, augment, flip, flip_mode
        self.shuffle, self.drop_last, self.seed = shuffle, drop_last, seed
        self.teacher_logits = teacher_logits.to(self.device) if teacher_logits is not None else None
        self.mean, self.std = tuple(mean), tuple(std)
        self.views = self._checked(views).to(self.device) if views is not None else None
        shard = distributed.shard_kwargs()
        self.num_replicas = shard["num_replicas"] if num_replicas is None else num_replicas
        self.rank = shard["rank"] if rank is None else rank
        self.channels_last = self.device.type == "cuda" if channels_last is None else channels_last
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    @property
    def per_rank(self) -> int:
        return math.ceil(self.dataset_size / self.num_replicas)

    def __len__(self) -> int:
        return self.per_rank // self.batch_size if self.drop_last else math.ceil(self.per_rank / self.batch_size)

    def epoch_plan(self) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:
        """This rank's ``(index, dy, dx, flip, view)`` for the epoch, on the device (view is -1 without a cache)."""
        n = self.dataset_size
        order, dy, dx, flip = self._draws(self.epoch)
        if self.flip_mode == "alternate" and self.epoch > 0 and self.augment and self.flip and self.views is None:
            flip = self._draws(0)[3] ^ (self.epoch % 2 == 1)
        if self.num_replicas > 1:
            order = torch.cat([order, order[: self.per_rank * self.num_replicas - n]])[self.rank :: self.num_replicas]
        order = order.to(self.device)
        view = torch.full_like(order, -1)
        if self.views is not None:
            view = self.views.view_for(order, self.epoch)
            dy, dx, flip = self.views.crop_flip_of(order, view)
            return order, dy, dx, flip, view
        return order, dy.to(self.device)[order], dx.to(self.device)[order], flip.to(self.device)[order], view

    def _draws(self, epoch: int) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """``(order, dy, dx, flip)`` over all N images (before sharding) drawn from ``epoch``'s generator; each
        image's crop and fresh flip, indexed by the image."""
        g = epoch_generator(self.seed, epoch)
        n = self.dataset_size
        order = torch.randperm(n, generator=g) if self.shuffle else torch.arange(n)
        if self.augment and self.views is None:
            dy, dx = torch.randint(0, 2 * self.pad + 1, (2, n), generator=g)
            flip = torch.randint(0, 2, (n,), generator=g).bool() if self.flip else torch.zeros(n, dtype=torch.bool)
        else:
            dy = dx = torch.full((n,), self.pad)
            flip = torch.zeros(n, dtype=torch.bool)
        return order, dy, dx, flip

    def __iter__(self) -> Iterator[tuple[Tensor, ...]]:
        order, dy, dx, flip, view = self.epoch_plan()
        for start in range(0, len(self) * self.batch_size, self.batch_size):
            sl = slice(start, start + self.batch_size)
            index = order[sl]
            pixels = crop_flip(self.padded, index, dy[sl], dx[sl], flip[sl], self.height, self.width)
            images = pixels.float() * self.scale + self.shift
            layout = torch.channels_last if self.channels_last else torch.contiguous_format
            images = images.contiguous(memory_format=layout)
            batch = (images, self.labels[index])
            if self.views is not None:
                batch += (self.views.logits_of(index, view[sl]),)
            elif self.teacher_logits is not None:
                batch += (self.teacher_logits[index],)
            yield batch

    @property
    def pixels(self) -> Tensor:
        """The un-padded ``(N, H, W, C)`` uint8 images on the device (a view, no copy)."""
        p = self.pad
        return self.padded[:, p:p + self.height, p:p + self.width]

    def with_seed(self, seed: int) -> "DeviceImageLoader":
        """The same loader (sharing the device copy of the images) with the order and augmentation of ``seed``."""
        other = copy.copy(self)
        other.seed, other.epoch = seed, 0
        return other

    def with_teacher_logits(self, teacher_logits: Tensor) -> "DeviceImageLoader":
        """The same loader (sharing the device copy of the images) that also yields ``teacher_logits[i]``."""
        other = copy.copy(self)
        other.teacher_logits, other.views = teacher_logits.to(self.device), None
        return other

    def with_batch_size(self, batch_size: int) -> "DeviceImageLoader":
        """The same loader (sharing the device copy of the images) with ``batch_size`` images per batch."""
        other = copy.copy(self)
        other.batch_size = batch_size
        return other

    def unaugmented(self, batch_size: int) -> "DeviceImageLoader":
        """The same images in order, without augmentation, logits or views, ``batch_size`` at a time: what an
        offline teacher labels (sharing the device copy of the images)."""
        other = copy.copy(self)
        other.batch_size, other.augment, other.shuffle, other.drop_last = batch_size, False, False, False
        other.teacher_logits = other.views = None
        return other

    def with_labels(self, labels: Tensor) -> "DeviceImageLoader":
        """The same loader yielding ``labels[i]`` as image i's label (e.g. ``UNLABELLED`` outside a labelled part)."""
        if len(labels) != self.dataset_size:
            raise ConfigError(f"{len(labels)} labels for {self.dataset_size} images")
        other = copy.copy(self)
        other.labels = torch.as_tensor(labels, dtype=torch.long).to(self.device)
        return other

    def subset(self, indices: Tensor) -> "DeviceImageLoader":
        """A loader over images ``indices`` only (with their labels and offline logits; a copy of their pixels)."""
        if self.views is not None:
            raise ConfigError("a loader of labelled augmented views cannot be cut to a subset; take the subset first")
        other = copy.copy(self)
        index = torch.as_tensor(indices, dtype=torch.long, device=self.device)
        other.padded, other.labels, other.dataset_size = self.padded[index], self.labels[index], len(index)
        if self.teacher_logits is not None:
            other.teacher_logits = self.teacher_logits[index]
        return other

    def with_views(self, views) -> "DeviceImageLoader":
        """The same loader drawing each image's crop/flip and teacher logits from a labelled-view cache."""
        other = copy.copy(self)
        other.teacher_logits, other.views = None, self._checked(views).to(self.device)
        return other

    def _checked(self, views):
        if (views.num_images, views.pad, views.pad_mode) != (self.dataset_size, self.pad, self.pad_mode):
            raise ConfigError(f"the logit cache holds {views.num_images} images padded by {views.pad} "
                              f"({views.pad_mode}), the loader {self.dataset_size} padded by {self.pad} "
                              f"({self.pad_mode}); rebuild the cache")
        return views


# ------------------------------------------------------------------------ from the vision data sets
def _transforms(dataset) -> list:
    transform = getattr(dataset, "transform", None)
    return list(getattr(transform, "transforms", [transform] if transform is not None else []))


def uint8_arrays(dataset) -> tuple[np.ndarray, np.ndarray]:
    """``(images (N, H, W[, C]) uint8, labels (N,))`` of a data set, decoded once.

    torchvision's CIFAR / MNIST sets give their ``.data`` / ``.targets``; an ``ImageFolder`` is decoded
    image by image through the PIL steps of its transform (resize, centre crop) up to ``ToTensor``;
    a ``Subset`` takes its indices of either.
    """
    if isinstance(dataset, Subset):
        images, labels = uint8_arrays(dataset.dataset)
        return images[dataset.indices], labels[dataset.indices]
    data, targets = getattr(dataset, "data", None), getattr(dataset, "targets", None)
    if data is not None and targets is not None and not hasattr(dataset, "samples"):
        return np.asarray(data), np.asarray(targets)
    if hasattr(dataset, "samples") and hasattr(dataset, "loader"):
        steps = []
        for step in _transforms(dataset):
            if isinstance(step, T.ToTensor):
                break
            steps.append(step)
        prepare = T.Compose(steps)
        images = [np.asarray(prepare(dataset.loader(path))) for path, _ in dataset.samples]
        if len({im.shape for im in images}) != 1:
            raise ConfigError("the device loader needs images of one size; set data.image_size to resize them")
        return np.stack(images), np.asarray([label for _, label in dataset.samples])
    raise ConfigError(f"{type(dataset).__name__} has no uint8 images to put on the device; "
                      "use data.in_memory=false for it")


def normalisation_of(dataset) -> tuple[Sequence[float], Sequence[float]]:
    """The ``Normalize(mean, std)`` of a data set's transform."""
    base = dataset.dataset if isinstance(dataset, Subset) else dataset
    for step in _transforms(base):
        if isinstance(step, T.Normalize):
            return tuple(step.mean), tuple(step.std)
    raise ConfigError(f"{type(base).__name__}'s transform has no Normalize step to copy onto the device")


def augmentation_of(dataset) -> tuple[int, bool]:
    """``(pad, flip)`` of a training transform's ``RandomCrop(padding=pad)`` and ``RandomHorizontalFlip``."""
    base = dataset.dataset if isinstance(dataset, Subset) else dataset
    steps = _transforms(base)
    pad = next((int(s.padding) if isinstance(s.padding, int) else int(s.padding[0])
                for s in steps if isinstance(s, T.RandomCrop) and s.padding), 0)
    return pad, any(isinstance(s, T.RandomHorizontalFlip) for s in steps)


def crop_padding_mode_of(dataset) -> str:
    """The ``data.crop_padding_mode`` (``zeros`` or ``reflect``) of a training transform's padded ``RandomCrop``
    (``zeros`` without one)."""
    base = dataset.dataset if isinstance(dataset, Subset) else dataset
    crop = next((s for s in _transforms(base) if isinstance(s, T.RandomCrop) and s.padding), None)
    if crop is None:
        return "zeros"
    modes = {torchvision: ours for ours, torchvision in CROP_PADDING_MODES.items()}
    if crop.padding_mode not in modes or (crop.padding_mode == "constant" and crop.fill != 0):
        raise ConfigError(f"the in-memory loader pads crops with zeros or reflections, not RandomCrop's "
                          f"padding_mode={crop.padding_mode!r} (fill {crop.fill!r}); use data.in_memory=false")
    return modes[crop.padding_mode]


IN_MEMORY_BUDGET = 4 * 2**30
"""Bytes of decoded uint8 pixels (training + test images) up to which ``data.in_memory: auto`` holds them."""


def decoded_bytes(dataset) -> int | None:
    """What a data set's images take as uint8 pixels, known without decoding them: the size of the arrays a
    torchvision CIFAR / MNIST set holds, or for an ImageFolder its image count x 3 x the ``CenterCrop`` size of
    its transform. None for anything else (e.g. already-float tensors)."""
    if isinstance(dataset, Subset):
        whole = decoded_bytes(dataset.dataset)
        return None if whole is None else whole * len(dataset.indices) // max(1, len(dataset.dataset))
    data, targets = getattr(dataset, "data", None), getattr(dataset, "targets", None)
    if data is not None and targets is not None and not hasattr(dataset, "samples"):
        return int(np.asarray(data).nbytes)
    if hasattr(dataset, "samples"):
        crops = [s.size for s in _transforms(dataset) if isinstance(s, T.CenterCrop)]
        if crops:
            height, width = crops[-1]
            return len(dataset.samples) * 3 * height * width
    return None


def wants_in_memory(setting: bool | str, splits) -> bool:
    """Whether ``data.in_memory`` (``true``, ``false`` or ``auto``) puts these splits in memory; ``auto``:
    when both the training and the test images have a known decoded size, together at most IN_MEMORY_BUDGET,
    and the training transform is one the in-memory loader reproduces (:func:`resizes_crops`: not ImageNet's)."""
    if setting is True and resizes_crops(splits.train):
        raise ConfigError("data.in_memory=true: the in-memory loader pads, crops and flips, but this data set trains "
                          "on RandomResizedCrop (ImageNet's augmentation); set data.in_memory=auto or false")
    if setting is True or setting is False:
        return setting
    if setting != "auto":
        raise ConfigError(f"data.in_memory must be auto, true or false, not {setting!r}")
    sizes = [decoded_bytes(splits.train_plain), decoded_bytes(splits.test)]
    return not resizes_crops(splits.train) and None not in sizes and sum(sizes) <= IN_MEMORY_BUDGET


def resizes_crops(dataset) -> bool:
    """Whether a training transform takes a ``RandomResizedCrop``, which the in-memory loader does not do (it
    decodes each image once at one size; a resized crop is cut from the full-size image each epoch)."""
    base = dataset.dataset if isinstance(dataset, Subset) else dataset
    return any(isinstance(step, T.RandomResizedCrop) for step in _transforms(base))


def device_resident(data, device: torch.device, seed: int = 0, flip_mode: str = "random"):
    """A :class:`~kd.vision.data.VisionData` whose loaders are DeviceImageLoaders over the same images.

    Same images, labels, normalisation, crop padding (its size and mode) and flip as the DataLoader path (read
    from the data sets' transforms), same batch sizes, same sharding; only where the work happens changes.
    ``flip_mode`` (``data.flip``): ``random`` as the DataLoader path, or ``alternate``, which only this loader does.
    """
    train_x, train_y = uint8_arrays(data.splits.train_plain)
    test_x, test_y = uint8_arrays(data.splits.test)
    mean, std = normalisation_of(data.splits.test)
    pad, flip = augmentation_of(data.splits.train)
    train = DeviceImageLoader(train_x, train_y, data.train_loader.batch_size, device=device, mean=mean, std=std,
                              augment=bool(pad or flip), pad=pad, pad_mode=crop_padding_mode_of(data.splits.train),
                              flip=flip, flip_mode=flip_mode, shuffle=True, seed=seed)
    test = DeviceImageLoader(test_x, test_y, data.test_loader.batch_size, device=device, mean=mean, std=std)
    return dataclasses.replace(data, train_loader=train, test_loader=test)
