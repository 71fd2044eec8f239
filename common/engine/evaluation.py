"""Collecting a model's outputs over a loader, for metrics computed on the whole data set at once."""
from __future__ import annotations

from typing import Any, Callable

import torch
from torch import Tensor, nn

from kd.common.utils.device import autocast, move_to


def _default_forward(model: nn.Module, batch: Any) -> Tensor:
    return model(batch[0])


def _default_target(batch: Any) -> Tensor:
    return batch[1]


@torch.inference_mode()
def predict(model: nn.Module, loader, device: torch.device,
            forward: Callable[[nn.Module, Any], Tensor] = _default_forward,
            target: Callable[[Any], Tensor] = _default_target,
            precision: str = "auto") -> tuple[Tensor, Tensor]:
    """Return ``(logits, labels)`` over the whole loader, on the CPU, logits in float32.

    ``forward(model, batch)`` gives the logits of a batch (default ``model(batch[0])``) and
    ``target(batch)`` its labels (default ``batch[1]``).
    """
    was_training = model.training
    model.eval()
    all_logits, all_labels = [], []
    for batch in loader:
        batch = move_to(batch, device)
        with autocast(device, precision):
            logits = forward(model, batch)
        all_logits.append(logits.float())
        all_labels.append(target(batch))
    model.train(was_training)
    return torch.cat(all_logits).cpu(), torch.cat(all_labels).cpu()
