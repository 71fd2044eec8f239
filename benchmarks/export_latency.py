"""How much smaller and faster an exported student is than its teacher: parameters, weights on disk and
batch-1 latency of the PyTorch teacher, the PyTorch student and the student exported to ONNX (ONNX Runtime).

    python benchmarks/export_latency.py                                   # torchvision ResNet-34 -> ResNet-18, 224 px
    python benchmarks/export_latency.py --student torchvision:mobilenet_v3_small --threads 1

Every model runs in this one process, on the CPU, in fp32, with the same number of threads (torch's and ONNX
Runtime's intra-op pools), on the same input. The weights are random: neither the size nor the latency depends
on their values. The student is exported by the code ``python -m kd.vision.scripts.export`` runs
(kd.common.utils.export). Latency: median of ``--repeats`` timed calls after ``--warmup`` untimed ones.
"""
from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import torch

from timing import device_name, print_table
from kd.common.metrics import checkpoint_size_bytes, count_parameters, measure_latency
from kd.common.utils.export import export_onnx
from kd.vision.model_registry import build_model


def onnx_forward(path: Path, threads: int):
    """``forward(model, x)`` for :func:`measure_latency` that runs the exported graph in ONNX Runtime instead."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads, options.inter_op_num_threads = threads, 1
    session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    return lambda model, x: session.run(None, {name: x.numpy()})


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--teacher", default="torchvision:resnet34")
    parser.add_argument("--student", default="torchvision:resnet18")
    parser.add_argument("--num-classes", type=int, default=1000)
    parser.add_argument("--image-size", type=int, default=224)
    parser.add_argument("--threads", type=int, default=None, help="torch and ONNX Runtime threads (default: torch's)")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    threads = torch.get_num_threads()
    torch.manual_seed(0)
    teacher = build_model(args.teacher, args.num_classes, image_size=args.image_size).eval()
    student = build_model(args.student, args.num_classes, image_size=args.image_size).eval()
    x = torch.randn(1, 3, args.image_size, args.image_size)
    print(f"device: {device_name(torch.device('cpu'))}; batch 1 at {args.image_size} px, fp32, "
          f"{args.warmup} warm-up + {args.repeats} timed calls")
    with tempfile.TemporaryDirectory() as folder:
        onnx_path = export_onnx(student, x, Path(folder) / "student.onnx")
        runs = [(f"teacher {args.teacher} (PyTorch)", teacher, None, checkpoint_size_bytes(teacher)),
                (f"student {args.student} (PyTorch)", student, None, checkpoint_size_bytes(student)),
                (f"student {args.student} (ONNX Runtime)", student, onnx_forward(onnx_path, threads),
                 onnx_path.stat().st_size)]
        rows, teacher_ms = [], None
        for name, model, forward, size in runs:
            ms = measure_latency(model, x, args.warmup, args.repeats, forward=forward,
                                 precision="fp32")["latency_ms"]  # as ONNX Runtime runs the export
            teacher_ms = teacher_ms or ms
            rows.append([name, f"{count_parameters(model) / 1e6:.2f}", f"{size / 2**20:.1f}", f"{ms:.1f}",
                         f"{teacher_ms / ms:.2f}x"])
    print_table(["model", "params (M)", "file (MiB)", "ms / image", "speed-up vs teacher"], rows)


if __name__ == "__main__":
    main()
