"""Offline KD with augmentation: the teacher labels K fixed augmented views of every image, once.

Classic offline KD (``soft_labels.py``) stores the teacher's logits of the *plain* image, so a student
trained with crops and flips learns from labels of an image it is not looking at. Online KD fixes that
by running the teacher on every augmented batch, which is most of the cost of a KD epoch (the teacher is
the larger network). This cache keeps both properties: each image ``i`` gets a pool of ``K`` views
(crop offsets ``dy, dx`` in ``0..2*pad`` of the image padded as the loader pads it, with zeros or reflected
(``pad_mode``, ``data.crop_padding_mode``), and a flip; the K views of one image are distinct, drawn
without replacement from the ``(2*pad+1)^2 * 2`` possible ones, 162 for pad 4), the teacher labels every
``(image, view)`` pair once, and in student epoch ``e`` image ``i`` is shown as view

    v(i, e) = (phase_i + e) mod K

(``phase_i`` random per image), with exactly the logits the teacher gave that view. A student epoch
runs no teacher forward and still learns from the teacher's view of the pixels it sees.

The trade-off:

- cost: labelling costs ``K`` teacher passes over the data, once; online KD costs one per student epoch,
  so the cache pays off for every run longer than K epochs, and every further run (another student,
  another method on logits, another seed) reuses it for free;
- augmentation diversity: the student sees at most K distinct views of an image instead of a fresh
  random one every epoch; with K = 162 (``num_views=None``) the pool is every crop and flip, which is
  exactly torchvision's augmentation distribution, only visited in a stratified order;
- memory: ``N * K * C`` logits (float16: 50k CIFAR-100 images x 16 views x 100 classes = 160 MB), held
  on the device next to the images;
- only losses on logits can be cached: feature methods (FitNet, AT, SP, SimKD) still need the teacher online.

Under torch.distributed each rank labels every W-th image and the shards are gathered, so labelling
takes 1/W of the time; every rank then holds the whole cache (epochs reshuffle which rank sees what).
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Sequence

import torch
from torch import Tensor, nn
from tqdm.auto import tqdm

from kd.common.utils import distributed
from kd.common.utils.checkpoint import atomic_save, safe_load
from kd.common.utils.device import autocast, fast_bf16
from kd.common.utils.errors import ConfigError
from kd.vision.data.device_loader import DeviceImageLoader, as_uint8_nhwc, crop_flip, normalizer, pad_pixels


EARLIER_META = {"pad_mode": "zeros"}
"""What a cache saved before a meta key existed was made with (its views are reused, not relabelled)."""


class AugmentedLogitCache:
    """Teacher logits per (image, view) and the crop/flip of each view; see the module docstring.

    Attributes: ``dy``, ``dx``, ``flip`` of shape (N, K); ``phase`` (N,); ``logits`` (N, K, C), float16; ``pad`` and
    ``pad_mode``: the padding the crops were cut from (a loader with another one refuses the cache).
    """

    def __init__(self, dy: Tensor, dx: Tensor, flip: Tensor, phase: Tensor, logits: Tensor, pad: int,
                 pad_mode: str = "zeros"):
        self.dy, self.dx, self.flip, self.phase, self.logits, self.pad = dy, dx, flip, phase, logits, pad
        self.pad_mode = pad_mode

    num_images = property(lambda self: self.dy.shape[0])
    num_views = property(lambda self: self.dy.shape[1])

    # ------------------------------------------------------------------------------------ the pool
    @staticmethod
    def draw_views(num_images: int, num_views: int | None, pad: int = 4, flip: bool = True,
                   seed: int = 0) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """``(dy, dx, flip, phase)``: K distinct views per image (``num_views=None``: all of them)."""
        side = 2 * pad + 1
        total = side * side * (2 if flip else 1)
        k = total if num_views is None else num_views
        if not 1 <= k <= total:
            raise ConfigError(f"num_views must be between 1 and {total} (every crop and flip), got {k}")
        g = torch.Generator().manual_seed(seed)
        if k == total:
            code = torch.arange(total).expand(num_images, total)
        else:
            code = torch.rand(num_images, total, generator=g).argsort(dim=1)[:, :k]
        phase = torch.randint(0, k, (num_images,), generator=g)
        if flip:  # code = (dy * side + dx) * 2 + flip
            flips, code = (code % 2).bool(), code // 2
        else:
            flips = torch.zeros_like(code, dtype=torch.bool)
        return code // side, code % side, flips, phase

    def view_for(self, index: Tensor, epoch: int) -> Tensor:
        """The view image ``index`` shows in ``epoch``: ``(phase + epoch) mod K``."""
        return (self.phase[index] + epoch) % self.num_views

    def crop_flip_of(self, index: Tensor, view: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        return self.dy[index, view], self.dx[index, view], self.flip[index, view]

    def logits_of(self, index: Tensor, view: Tensor) -> Tensor:
        return self.logits[index, view].float()

    def to(self, device: torch.device | str) -> "AugmentedLogitCache":
        move = lambda t: t.to(device)  # noqa: E731
        return AugmentedLogitCache(move(self.dy), move(self.dx), move(self.flip), move(self.phase),
                                   move(self.logits), self.pad, self.pad_mode)

    # ------------------------------------------------------------------------------------ labelling
    @classmethod
    @torch.inference_mode()
    def build(cls, teacher: nn.Module, images, *, mean: Sequence[float], std: Sequence[float],
              num_views: int | None = 16, pad: int = 4, pad_mode: str = "zeros", flip: bool = True, seed: int = 0,
              device: torch.device | str = "cpu", batch_size: int = 1024, precision: str = "auto",
              progress: bool = True) -> "AugmentedLogitCache":
        """Label every (image, view) with ``teacher`` once (each rank labels its shard under DDP); the crops are cut
        from the images padded by ``pad`` pixels of ``pad_mode`` (``zeros`` or ``reflect``), as the loader's."""
        device = torch.device(device)
        pixels = as_uint8_nhwc(images)
        n, height, width, _ = pixels.shape
        dy, dx, fl, phase = cls.draw_views(n, num_views, pad, flip, seed)
        padded = pad_pixels(pixels.to(device), pad, pad_mode)
        scale, shift = normalizer(mean, std, device)
        mine = torch.arange(distributed.get_rank(), n, distributed.get_world_size(), device=device)
        dy_d, dx_d, fl_d = dy.to(device), dx.to(device), fl.to(device)
        was_training = teacher.training
        teacher.eval()
        per_view = []
        for v in tqdm(range(dy.shape[1]), desc="labelling views", leave=False,
                      disable=not (progress and distributed.is_main())):
            chunks = []
            for index in mine.split(batch_size):
                x = crop_flip(padded, index, dy_d[index, v], dx_d[index, v], fl_d[index, v], height, width)
                x = (x.float() * scale + shift).contiguous(
                    memory_format=torch.channels_last if fast_bf16(device) else torch.contiguous_format)
                with autocast(device, precision):
                    chunks.append(teacher(x).to(torch.float16))
            per_view.append(torch.cat(chunks))
        teacher.train(was_training)
        local = torch.stack(per_view, dim=1)  # (n_mine, K, C)
        # Pad every rank to the same length so the strided shards interleave back into image order.
        per_rank = -(-n // distributed.get_world_size())
        local = torch.cat([local, local[: per_rank - local.shape[0]]]) if local.shape[0] < per_rank else local
        logits = distributed.gather_sharded(local, n)
        return cls(dy, dx, fl, phase, logits.cpu(), pad, pad_mode)

    # ------------------------------------------------------------------------------------ on disk
    def save(self, path: str | Path, **meta) -> None:
        """Write the cache (rank 0 only) with ``meta`` (e.g. the teacher fingerprint) for :meth:`load`."""
        if distributed.is_main():
            atomic_save({"dy": self.dy.cpu(), "dx": self.dx.cpu(), "flip": self.flip.cpu(),
                         "phase": self.phase.cpu(), "logits": self.logits.cpu(), "pad": self.pad,
                         "pad_mode": self.pad_mode, "meta": dict(meta)}, path)
        distributed.barrier()

    @classmethod
    def load(cls, path: str | Path, **expected_meta) -> "AugmentedLogitCache | None":
        """The cache at ``path`` if it exists and was saved with ``expected_meta``; else ``None``. A cache saved
        before ``pad_mode`` existed was padded with zeros."""
        path = Path(path)
        if not path.is_file():
            return None
        state = safe_load(path)
        if any(state["meta"].get(k, EARLIER_META.get(k)) != v for k, v in expected_meta.items()):
            return None
        return cls(state["dy"], state["dx"], state["flip"], state["phase"], state["logits"], state["pad"],
                   state.get("pad_mode", "zeros"))

    @classmethod
    def load_or_build(cls, path: str | Path, teacher: nn.Module, images, *, fingerprint: str,
                      **build_kwargs) -> "AugmentedLogitCache":
        """Reuse the cache at ``path`` when it matches this teacher (``fingerprint``), the image count
        and the view settings; otherwise label the views and save them there."""
        n = len(images)
        meta = {"fingerprint": fingerprint, "num_images": n, "num_views": build_kwargs.get("num_views", 16),
                "pad": build_kwargs.get("pad", 4), "pad_mode": build_kwargs.get("pad_mode", "zeros"),
                "flip": build_kwargs.get("flip", True),
                "seed": build_kwargs.get("seed", 0)}
        cache = cls.load(path, **meta)
        if cache is None:
            start = time.perf_counter()
            cache = cls.build(teacher, images, **build_kwargs)
            seconds = time.perf_counter() - start
            views = cache.logits.shape[0] * cache.logits.shape[1]
            if distributed.is_main():
                print(f"teacher labelled {n:,} images x {cache.logits.shape[1]} views in {seconds:.1f} s "
                      f"({views / seconds:,.0f} views/s)")
            cache.save(path, **meta)
        return cache


def labelled_views_loader(loader, teacher: nn.Module, cache_file: str | Path, fingerprint: str,
                          num_views: int | None = 16, seed: int = 0) -> DeviceImageLoader:
    """``loader`` (a training :class:`DeviceImageLoader`) drawing from the labelled views of its images,
    cached in ``cache_file`` for this teacher (``fingerprint``: e.g. the checkpoint's hash)."""
    cache = AugmentedLogitCache.load_or_build(
        cache_file, teacher, loader.pixels, fingerprint=fingerprint, mean=loader.mean, std=loader.std,
        num_views=num_views, pad=loader.pad, pad_mode=loader.pad_mode, flip=loader.flip, seed=seed,
        device=loader.device)
    return loader.with_views(cache)
