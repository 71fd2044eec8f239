"""Time to accuracy on CIFAR-10: train a teacher, then a KD student, on the fast path; wall clock per epoch.

    python benchmarks/time_to_accuracy.py --cifar10 /path/to/cifar10_jpeg.py          # full run, on a GPU
    torchrun --nproc_per_node=8 benchmarks/time_to_accuracy.py --cifar10 ...           # the same on 8 GPUs
    python benchmarks/time_to_accuracy.py --cifar10 ... --device cpu --limit 1024 --teacher resnet8 \
        --teacher-epochs 1 --student-epochs 1 --batch-size 128                          # a CPU smoke run

The data come from ``cifar10_jpeg.load_arrays()`` of the given module file (``--cifar10`` or
``$KD_CIFAR10_JPEG``; it reads ``cifar10-jpeg.npz`` beside itself), imported from its path, decoded
once into uint8 arrays and put on the device by :class:`DeviceImageLoader`. Teacher (``supervised``) and
student (``kd`` online, or ``--offline``: the augmentation-aware logit cache, its labelling counted in
the student's time) train through the Distiller with SGD + Nesterov, a one-cycle learning rate and
bf16 on CUDA. Each epoch's test accuracy is logged with the wall-clock seconds since that network's
training started (data decoding excluded, reported apart); the table gives the seconds to reach
``--target-teacher`` / ``--target-student`` and the final accuracies. The run folder keeps metrics.json.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import time
from pathlib import Path

import numpy as np
import torch

from timing import device_name, print_table, synchronize
from kd.common.engine import Distiller, predict
from kd.common.metrics import classification_report
from kd.common.utils import distributed
from kd.common.utils.device import prepare_model
from kd.common.utils.errors import MissingPathError
from kd.common.utils.run_folder import RunFolder, run_name
from kd.vision.data.augmentation_cache import AugmentedLogitCache
from kd.vision.data.device_loader import DeviceImageLoader
from kd.vision.data.transforms import CIFAR10_STATS
from kd.vision.methods import METHODS
from kd.vision.model_registry import build_model

ENV_VAR = "KD_CIFAR10_JPEG"


def load_cifar10(module_path: str | None):
    """``load_arrays()`` of the cifar10_jpeg.py file at ``module_path`` (imported by path, not copied)."""
    path = Path(module_path or os.environ.get(ENV_VAR, ""))
    if not path.is_file():
        raise MissingPathError(f"cifar10_jpeg.py not found at '{path}'; pass --cifar10 PATH or set {ENV_VAR}")
    spec = importlib.util.spec_from_file_location("cifar10_jpeg", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.load_arrays()


def train(name, student, method, teacher, loaders, epochs, args, device, target):
    """Fit ``student``; per epoch: test accuracy and seconds since the start (``start`` may be earlier)."""
    train_loader, test_loader, start = loaders
    opt = torch.optim.SGD([*student.parameters(), *method.parameters()], lr=args.lr, momentum=0.9,
                          nesterov=True, weight_decay=5e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, total_steps=epochs * len(train_loader),
                                                pct_start=0.25, anneal_strategy="linear")
    distiller = Distiller(student, method, opt, device=device, teacher=teacher, scheduler=sched,
                          scheduler_interval="step", run=None, log_every=100)

    def evaluate(epoch):  # printed as each epoch ends, so a run stopped by a time limit still says how far it got
        logits, labels = predict(student, test_loader, device)
        synchronize(device)
        record = {"test_acc": classification_report(logits, labels, ks=(1,))["acc"],
                  "seconds": time.perf_counter() - start}
        print(f"{name} epoch {epoch}: test acc {record['test_acc']:.2f}% at {record['seconds']:.1f} s", flush=True)
        return record

    history = distiller.fit(train_loader, epochs, evaluate=evaluate)
    reached = next((r["seconds"] for r in history if r["test_acc"] >= target), None)
    return {"final_acc": history[-1]["test_acc"], "seconds": history[-1]["seconds"], "seconds_to_target": reached,
            "target": target, "history": history}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cifar10", help=f"path of cifar10_jpeg.py (default ${ENV_VAR})")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--teacher", default="resnet32x4")
    parser.add_argument("--student", default="resnet8x4")
    parser.add_argument("--teacher-epochs", type=int, default=30)
    parser.add_argument("--student-epochs", type=int, default=30)
    parser.add_argument("--batch-size", type=int, default=512, help="global batch (split over ranks)")
    parser.add_argument("--lr", type=float, default=0.4)
    parser.add_argument("--offline", action="store_true", help="student from the augmentation-aware logit cache")
    parser.add_argument("--views", type=int, default=16)
    parser.add_argument("--target-teacher", type=float, default=93.0)
    parser.add_argument("--target-student", type=float, default=90.0)
    parser.add_argument("--limit", type=int, help="use N random training and N/5 test images (smoke runs)")
    parser.add_argument("--compile", action="store_true")
    parser.add_argument("--runs-dir", default="runs")
    parser.add_argument("--json", help="also write the summary to this file")
    args = parser.parse_args(argv)

    ctx = distributed.init_distributed(args.device)
    device = ctx.device
    torch.backends.cudnn.benchmark = True
    start = time.perf_counter()
    x_train, y_train, x_test, y_test, _ = load_cifar10(args.cifar10)
    if args.limit:  # a random subset: the arrays are sorted by class
        keep = np.random.default_rng(0).permutation(len(x_train))[: args.limit]
        keep_test = np.random.default_rng(1).permutation(len(x_test))[: max(1, args.limit // 5)]
        x_train, y_train, x_test, y_test = x_train[keep], y_train[keep], x_test[keep_test], y_test[keep_test]
    decode_seconds = time.perf_counter() - start
    # rank 0 writes, others print nothing
    run = RunFolder.create(run_name("vision", "cifar10", "time_to_accuracy"), args.runs_dir, tensorboard=False)
    run.save_config(vars(args))
    print(f"run folder: {run.path}\ndevice: {device_name(device)} x {ctx.world_size}; "
          f"{len(x_train)} train / {len(x_test)} test images decoded in {decode_seconds:.1f} s")

    batch = distributed.per_rank_batch_size(args.batch_size)
    stats = dict(mean=CIFAR10_STATS[0], std=CIFAR10_STATS[1], device=device)
    train_loader = DeviceImageLoader(x_train, y_train, batch, augment=True, shuffle=True, drop_last=True, **stats)
    test_loader = DeviceImageLoader(x_test, y_test, 1024, **stats)

    def network(name):
        torch.manual_seed(0)
        return prepare_model(build_model(name, 10), device, channels_last="auto", compile=args.compile)

    teacher = network(args.teacher)
    synchronize(device)
    results = {"teacher": train("teacher", teacher, METHODS.build("supervised"), None,
                                (train_loader, test_loader, time.perf_counter()), args.teacher_epochs, args,
                                device, args.target_teacher)}

    student = network(args.student)
    synchronize(device)
    student_start = time.perf_counter()
    student_loader = train_loader
    if args.offline:
        cache = AugmentedLogitCache.build(teacher, x_train, num_views=args.views, batch_size=2048,
                                          mean=CIFAR10_STATS[0], std=CIFAR10_STATS[1], device=device)
        student_loader = DeviceImageLoader(x_train, y_train, batch, augment=True, shuffle=True, drop_last=True,
                                           views=cache, **stats)
    method = METHODS.build("kd", teacher=teacher, student=student, num_classes=10, image_shape=(3, 32, 32),
                           temperature=4.0, alpha=0.9)
    results["student"] = train("student", student, method, None if args.offline else teacher,
                               (student_loader, test_loader, student_start), args.student_epochs, args, device,
                               args.target_student)
    summary = {"device": device_name(device), "world_size": ctx.world_size, "decode_seconds": decode_seconds,
               "mode": "offline" if args.offline else "online", **results}
    rows = [[f"{role}: {getattr(args, role)} ({getattr(args, role + '_epochs')} epochs)", r["final_acc"],
             r["seconds"], r["target"],
             f"{r['seconds_to_target']:.1f}" if r["seconds_to_target"] is not None else "not reached"]
            for role, r in results.items()]
    print_table(["network", "final test acc %", "seconds", "target %", "seconds to target"], rows)
    run.log_final(summary)
    run.close()
    if args.json and ctx.is_main:
        Path(args.json).write_text(json.dumps(summary, indent=2))
    distributed.close_distributed()
    return summary


if __name__ == "__main__":
    from kd.common.utils.cli import main_entry

    main_entry(main)
