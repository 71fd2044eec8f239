"""Device choice and speed settings: CUDA when present, ``--device`` to override, bf16 autocast on CUDA,
channels_last convnets and optional ``torch.compile`` (:func:`prepare_model`)."""
from __future__ import annotations

import contextlib
from typing import Any

import torch
from torch import nn

from kd.common.utils.errors import KDError


def resolve_device(name: str | None = "auto") -> torch.device:
    """``auto`` picks CUDA when available, else CPU. An explicit ``cuda`` without a GPU is a user error."""
    if name in (None, "", "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise KDError(f"--device {name} was asked for but CUDA is not available; use --device cpu")
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
        torch.backends.cudnn.benchmark = True
    return device


def autocast(device: torch.device, precision: str = "auto") -> contextlib.AbstractContextManager:
    """Autocast context for the forward pass.

    ``precision``: ``auto`` (bf16 on CUDA, fp32 on CPU), ``bf16``, ``fp16`` or ``fp32``.
    """
    if precision == "auto":
        precision = "bf16" if device.type == "cuda" else "fp32"
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

    ``channels_last``: store 4-D (convolution) weights in NHWC order, the layout cuDNN's fastest bf16
    convolution kernels use; ``auto`` turns it on for CUDA only (on a CPU it is not faster).
    ``compile``: :meth:`nn.Module.compile` (``torch.compile`` of the module's call, done in place), so
    the model keeps its class, attributes and ``state_dict`` keys: checkpoints, feature hooks and
    ``isinstance`` checks are unaffected. Compilation happens on the first call and again for a new
    input shape or for evaluation mode, so it pays on long runs, not on a quick one.
    """
    if channels_last not in ("auto", True, False):
        raise KDError(f"channels_last must be auto, true or false, not {channels_last!r}")
    model = model.to(device)
    if channels_last is True or (channels_last == "auto" and device.type == "cuda"):
        model = model.to(memory_format=torch.channels_last)
    if compile:
        model.compile()
    return model
