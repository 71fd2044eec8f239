"""Cost metrics: parameters, FLOPs (torch.utils.flop_counter), latency/throughput, checkpoint size, compression."""
from __future__ import annotations

import statistics
import time
from typing import Any, Callable

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from kd.common.utils.device import autocast, move_to


def count_parameters(model: nn.Module, trainable_only: bool = False) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


@torch.no_grad()
def count_flops(model: nn.Module, example_input: Any, per_example: bool = True) -> float:
    """Forward FLOPs counted by ``torch.utils.flop_counter`` (a multiply-add counts as 2 FLOPs).

    ``example_input`` is a tensor (batch first) or a dict/tuple of keyword/positional inputs.
    With ``per_example`` the total is divided by the batch size.
    """
    was_training = model.training
    model.eval()
    counter = FlopCounterMode(display=False)
    with counter:
        _call(model, example_input)
    model.train(was_training)
    total = float(counter.get_total_flops())
    return total / _batch_size(example_input) if per_example else total


@torch.no_grad()
def measure_latency(model: nn.Module, example_input: Any, warmup: int = 3, repeats: int = 10,
                    forward: Callable[[nn.Module, Any], Any] | None = None,
                    precision: str = "auto") -> dict[str, float]:
    """Median wall-clock ms of one forward on ``example_input`` (moved to the model's device first) and the implied
    throughput (examples/s), under the autocast of ``precision`` (:func:`kd.common.utils.device.autocast`; pass the
    run's, so the speed is that of the numerics its accuracy was measured with, as
    :func:`kd.common.engine.evaluation.predict`'s).

    CUDA is synchronised around each timed call so the figure is real, not launch time.
    """
    forward = forward or _call
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    example_input = move_to(example_input, device)
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    with autocast(device, precision):
        for _ in range(warmup):
            forward(model, example_input)
        sync()
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            forward(model, example_input)
            sync()
            times.append(time.perf_counter() - start)
    model.train(was_training)
    median = statistics.median(times)
    return {"latency_ms": 1000.0 * median, "throughput": _batch_size(example_input) / median}


def checkpoint_size_bytes(model: nn.Module) -> int:
    """Bytes of the model's weights serialised as safetensors (what a deployed checkpoint costs on disk)."""
    from safetensors.torch import save

    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    return len(save(state))


def compression_ratio(teacher: nn.Module, student: nn.Module) -> float:
    """Teacher parameters / student parameters (10.0 means the student is 10x smaller)."""
    return count_parameters(teacher) / max(1, count_parameters(student))


def _call(model: nn.Module, example_input: Any) -> Any:
    if isinstance(example_input, dict):
        return model(**example_input)
    if isinstance(example_input, (tuple, list)):
        return model(*example_input)
    return model(example_input)


def _batch_size(example_input: Any) -> int:
    if isinstance(example_input, torch.Tensor):
        return example_input.shape[0]
    values = example_input.values() if isinstance(example_input, dict) else example_input
    return next(v.shape[0] for v in values if isinstance(v, torch.Tensor))
