"""Images/s of KD training, resnet32x4 -> resnet8x4 at CIFAR size: the plain loop vs our fast path.

    python benchmarks/vision_throughput.py                          # on a GPU (see benchmarks/README.md)
    python benchmarks/vision_throughput.py --device cpu --batch-size 32 --warmup 1 --steps 4 --workers 2

Every loop runs in this one process, on the same device, on the same synthetic uint8 images (the
pixels' values do not change the work) and the same loss: 0.1 CE + 0.9 T^2 KL at T = 4 (Hinton 2015).

(a) ``reference``: the loop as RepDistiller / mdistiller write it: a torchvision data set of PIL images
    (``RandomCrop(32, padding=4)``, ``RandomHorizontalFlip``, ``ToTensor``, ``Normalize``) in a
    ``DataLoader`` with worker processes and pinned memory; fp32; the teacher under ``torch.no_grad()``
    every step; ``loss.item()`` every step (their ``AverageMeter``).
(b) ``fast online``: :class:`DeviceImageLoader` (the data set on the device as uint8, crop/flip/normalise
    per batch on the device), bf16 autocast and channels_last (CUDA, native-bf16 CPUs), the teacher under
    ``torch.inference_mode``, the ``kd`` method through ``Distiller.train_step`` (no host sync per step).
(c) ``fast offline``: (b) with :class:`AugmentedLogitCache`: the teacher labelled K views of every
    image beforehand (timed separately), so a step runs no teacher forward.
``--compile`` adds (b) and (c) with ``torch.compile`` on both networks (compilation happens in the
warm-up steps, outside the timed ones).
"""
from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch.utils.data import DataLoader, Dataset
from torchvision import transforms as T

from timing import device_name, forever, print_table, synchronize, timed_steps
from kd.common.engine import Distiller
from kd.common.losses import soft_target_kl
from kd.common.utils.device import fast_bf16, prepare_model, resolve_device
from kd.vision.data.augmentation_cache import AugmentedLogitCache
from kd.vision.data.device_loader import DeviceImageLoader
from kd.vision.data.transforms import CIFAR100_STATS
from kd.vision.methods import METHODS
from kd.vision.model_registry import build_model


class PILImages(Dataset):
    """torchvision's CIFAR ``__getitem__``: a PIL image per item, then the transform."""

    def __init__(self, images: np.ndarray, labels: np.ndarray, transform):
        self.images, self.labels, self.transform = images, labels, transform

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i):
        return self.transform(Image.fromarray(self.images[i])), int(self.labels[i])


def models(args, device, fast_path=False, compiled=False):
    """Teacher and student; on the fast path placed as the library places them (channels_last where bf16 is fast)."""
    torch.manual_seed(0)
    teacher = build_model(args.teacher, args.num_classes).to(device)
    student = build_model(args.student, args.num_classes).to(device)
    if fast_path:
        teacher, student = (prepare_model(m, device, channels_last="auto", compile=compiled)
                            for m in (teacher, student))
    return teacher.eval(), student


def sgd(student):
    return torch.optim.SGD(student.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4)


def reference(args, device, images, labels) -> tuple[float, int]:
    teacher, student = models(args, device)
    opt = sgd(student)
    transform = T.Compose([T.RandomCrop(32, padding=4), T.RandomHorizontalFlip(), T.ToTensor(),
                           T.Normalize(*CIFAR100_STATS)])
    loader = DataLoader(PILImages(images, labels, transform), batch_size=args.batch_size, shuffle=True,
                        num_workers=args.workers, pin_memory=device.type == "cuda", drop_last=True)

    def step(batch) -> int:
        x, y = batch[0].to(device), batch[1].to(device)
        with torch.no_grad():
            t = teacher(x)
        s = student(x)
        loss = 0.1 * F.cross_entropy(s, y) + 0.9 * soft_target_kl(s, t, 4.0)
        opt.zero_grad()
        loss.backward()
        opt.step()
        loss.item()
        return x.shape[0]

    return timed_steps(step, forever(lambda epoch: iter(loader)), args.warmup, args.steps, device)


def fast(args, device, images, labels, offline: bool, compiled: bool) -> tuple[float, int, float]:
    """(seconds, images, seconds spent labelling the cache)."""
    teacher, student = models(args, device, fast_path=True, compiled=compiled)
    method = METHODS.build("kd", teacher=teacher, student=student, num_classes=args.num_classes,
                           image_shape=(3, 32, 32), temperature=4.0, alpha=0.9)
    views, labelling = None, 0.0
    if offline:
        synchronize(device)
        start = time.perf_counter()
        views = AugmentedLogitCache.build(teacher, images, mean=CIFAR100_STATS[0], std=CIFAR100_STATS[1],
                                          num_views=args.views, device=device, batch_size=4 * args.batch_size,
                                          progress=False)
        synchronize(device)
        labelling = time.perf_counter() - start
    distiller = Distiller(student, method, sgd(student), device=device, teacher=None if offline else teacher,
                          progress=False)
    loader = DeviceImageLoader(images, labels, args.batch_size, device=device, mean=CIFAR100_STATS[0],
                               std=CIFAR100_STATS[1], augment=True, shuffle=True, drop_last=True, views=views)

    def epoch(e):
        loader.set_epoch(e)
        return iter(loader)

    def step(batch) -> int:
        distiller.train_step(batch)
        return batch[0].shape[0]

    seconds, n = timed_steps(step, forever(epoch), args.warmup, args.steps, device)
    return seconds, n, labelling


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--device", default="auto")
    parser.add_argument("--teacher", default="resnet32x4")
    parser.add_argument("--student", default="resnet8x4")
    parser.add_argument("--num-classes", type=int, default=100)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--workers", type=int, default=8, help="DataLoader workers of the reference loop")
    parser.add_argument("--views", type=int, default=16, help="K labelled views per image for the offline cache")
    parser.add_argument("--compile", action="store_true", help="also time the fast path under torch.compile")
    parser.add_argument("--json", help="write the figures to this file")
    args = parser.parse_args(argv)
    device = resolve_device(args.device)
    torch.backends.cudnn.benchmark = True
    rng = np.random.default_rng(0)
    n = (args.warmup + args.steps) * args.batch_size  # one epoch covers every step: no loader restart timed
    images = rng.integers(0, 256, (n, 32, 32, 3), dtype=np.uint8)
    labels = rng.integers(0, args.num_classes, n)
    print(f"device: {device_name(device)}; {args.teacher} -> {args.student}, batch {args.batch_size}, "
          f"{args.warmup} warm-up + {args.steps} timed steps")

    fast_label = "in-memory data, bf16, channels_last" if fast_bf16(device) else "in-memory data, fp32"
    results = {}

    def record(name, seconds, count, labelling=0.0):  # printed at once, so a run stopped early keeps its figures
        results[name] = (count / seconds, labelling)
        print(f"{name}: {count / seconds:,.1f} images/s", flush=True)

    record("reference (fp32, DataLoader+PIL, teacher each step)", *reference(args, device, images, labels))
    for compiled in (False, True) if args.compile else (False,):
        tag = ", compiled" if compiled else ""
        record(f"fast online ({fast_label}{tag})", *fast(args, device, images, labels, offline=False,
                                                          compiled=compiled))
        record(f"fast offline (cached logits of {args.views} views{tag})",
               *fast(args, device, images, labels, offline=True, compiled=compiled))

    base = next(iter(results.values()))[0]
    rows = [[name, ips, f"{ips / base:.2f}x", f"{lab:.1f} s for {n * args.views:,} views" if lab else ""]
            for name, (ips, lab) in results.items()]
    print_table(["loop", "images/s", "vs reference", "cache labelling (once)"], rows)
    out = {"device": device_name(device), "args": vars(args),
           "images_per_second": {k: v[0] for k, v in results.items()},
           "labelling_seconds": {k: v[1] for k, v in results.items() if v[1]}}
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=2)
    return out


if __name__ == "__main__":
    main()
