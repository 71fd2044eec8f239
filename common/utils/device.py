"""Device choice and speed settings: CUDA when present, ``--device`` to override, the config's ``threads``
(:func:`set_threads`), bf16 autocast on GPUs and CPUs that compute bf16 natively, channels_last convnets there
too, optional ``torch.compile`` (:func:`prepare_model`)."""
from __future__ import annotations

import contextlib
import functools
from typing import Any

import torch
from torch import nn

from kd.common.utils.config import is_whole_number
from kd.common.utils.errors import ConfigError, KDError


def resolve_device(name: str | None = "auto") -> torch.device:
    """``auto`` picks CUDA when available, else CPU. An explicit ``cuda`` without a GPU is a user error. On CUDA,
    however chosen, TF32 matmuls and cuDNN's kernel autotuning are switched on."""
    if name in (None, "", "auto"):
        device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    else:
        device = torch.device(name)
        if device.type == "cuda" and not torch.cuda.is_available():
            raise KDError(f"--device {name} was asked for but CUDA is not available; use --device cpu")
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
        torch.backends.cudnn.benchmark = True
    return device


def set_threads(threads: int | None) -> None:
    """Run torch's CPU work on ``threads`` threads: the config key ``threads`` of every domain. None (``null``) keeps
    torch's default, one per core; 1 is faster when another job keeps a core busy, or for tiny networks that take
    many small steps. Anything but a whole number >= 1 or None is a one-line ConfigError."""
    if threads is None:
        return
    if not is_whole_number(threads) or threads < 1:
        raise ConfigError(f"threads must be a whole number >= 1, or null for torch's default (one per core); "
                          f"got {threads!r}")
    torch.set_num_threads(threads)


@functools.cache
def cpu_has_native_bf16() -> bool:
    """Whether this CPU computes bf16 dot products in hardware (AVX512-BF16 or AMX tiles), probed once.

    There oneDNN runs bf16 convolutions and matmuls several times faster than fp32 (2.4-3.7x for the CIFAR
    ResNets on this project's 2-core EPYC, benchmarks/README.md); elsewhere it emulates bf16 and fp32 is faster.
    """
    return bool(torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported())


def fast_bf16(device: torch.device) -> bool:
    """Whether bf16 autocast is the fast setting on ``device``: a GPU with native bf16 (compute capability 8.0,
    Ampere, or newer; a T4 or V100 emulates it, slower than fp32: pass fp16 there), or a CPU with native bf16."""
    if device.type == "cuda":
        return torch.cuda.get_device_capability(device) >= (8, 0)
    return device.type == "cpu" and cpu_has_native_bf16()


def resolve_precision(device: torch.device, precision: str = "auto") -> str:
    """``auto`` -> ``bf16`` where :func:`fast_bf16`, else ``fp32``; explicit settings pass through."""
    if precision == "auto":
        return "bf16" if fast_bf16(device) else "fp32"
    return precision


def autocast(device: torch.device, precision: str = "auto") -> contextlib.AbstractContextManager:
    """Autocast context for the forward pass.

    ``precision``: ``auto`` (bf16 on GPUs and CPUs with native bf16, else fp32), ``bf16``, ``fp16`` or
    ``fp32``. Weights, gradients and optimiser state stay fp32 (mixed precision); losses are computed in fp32.
    """
    precision = resolve_precision(device, precision)
    if precision == "fp32":
        return contextlib.nullcontext()
    dtypes = {"bf16": torch.bfloat16, "fp16": torch.float16}
    if precision not in dtypes:
        raise KDError(f"unknown precision '{precision}'; choose auto, bf16, fp16 or fp32")
    return torch.autocast(device_type=device.type, dtype=dtypes[precision])


def move_to(batch: Any, device: torch.device, non_blocking: bool = True) -> Any:
    """Move tensors inside nested tuples, lists and dicts to ``device`` (non-blocking from pinned memory)."""
    if isinstance(batch, torch.Tensor):
        return batch.to(device, non_blocking=non_blocking)
    if isinstance(batch, dict):
        return {k: move_to(v, device, non_blocking) for k, v in batch.items()}
    if isinstance(batch, (list, tuple)):
        moved = [move_to(v, device, non_blocking) for v in batch]
        return type(batch)(moved) if not hasattr(batch, "_fields") else type(batch)(*moved)
    return batch


def prepare_model(model: nn.Module, device: torch.device, channels_last: bool | str = "auto",
                  compile: bool = False) -> nn.Module:
    """Move ``model`` to ``device`` and apply the layout and compilation settings, in place.

    ``channels_last``: store 4-D (convolution) weights in NHWC order, the layout cuDNN's and oneDNN's fastest
    bf16 convolution kernels use; ``auto`` turns it on where bf16 is fast (:func:`fast_bf16`: an Ampere or newer
    GPU, or a CPU with native bf16; with fp32 on a CPU it is not faster).
    ``compile``: :meth:`nn.Module.compile` (``torch.compile`` of the module's call, done in place), so
    the model keeps its class, attributes and ``state_dict`` keys: checkpoints, feature hooks and
    ``isinstance`` checks are unaffected. Compilation happens on the first call and again for a new
    input shape or for evaluation mode, so it can pay only on long runs (on one H200, resnet32x4 -> resnet8x4 KD
    at batch 128 gained 1.06x online and lost offline: benchmarks/README.md).
    """
    if channels_last not in ("auto", True, False):
        raise KDError(f"channels_last must be auto, true or false, not {channels_last!r}")
    model = model.to(device)
    if channels_last is True or (channels_last == "auto" and fast_bf16(device)):
        model = model.to(memory_format=torch.channels_last)
    if compile:
        model.compile()
    return model
