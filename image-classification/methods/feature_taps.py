"""Reading the intermediate features of vision models, for the feature-based methods (FitNet, AT, SP, SimKD).

Every vision model answers ``model(x, return_features=True) -> (logits, feats)``: ``feats`` holds one
tensor per stage and ``feats[-1]`` is the pooled embedding. The *stage maps* are the 4-D entries
``(N, C, H, W)`` before the embedding. Methods never hard-code their shapes: they ask
:func:`stage_map_shapes`, which runs one dummy forward.
"""
from __future__ import annotations

from typing import Sequence

import torch
from torch import Tensor, nn

from kd.common.engine import teacher_forward


def stage_maps(feats: Sequence[Tensor]) -> list[Tensor]:
    """The 4-D stage outputs among ``feats`` (the pooled embedding ``feats[-1]`` excluded)."""
    return [f for f in feats[:-1] if f.dim() == 4]


def student_outputs(student: nn.Module, images: Tensor) -> tuple[Tensor, list[Tensor]]:
    """``(logits, stage maps)`` of the student, with gradients."""
    logits, feats = student(images, return_features=True)
    return logits, stage_maps(feats)


def teacher_outputs(teacher: nn.Module, images: Tensor) -> tuple[Tensor, list[Tensor]]:
    """``(logits, stage maps)`` of the frozen teacher, computed in inference mode."""
    logits, feats = teacher_forward(teacher, images, return_features=True)
    return logits, stage_maps(feats)


@torch.no_grad()
def stage_map_shapes(model: nn.Module, image_shape: Sequence[int]) -> list[torch.Size]:
    """Shapes ``(C, H, W)`` of the model's stage maps, from one forward of a zero batch of 2 (eval mode)."""
    was_training = model.training
    model.eval()
    try:
        param = next(model.parameters())
        dummy = torch.zeros(2, *image_shape, device=param.device, dtype=param.dtype)
        _, feats = model(dummy, return_features=True)
    finally:
        model.train(was_training)
    shapes = [f.shape[1:] for f in stage_maps(feats)]
    if not shapes:
        raise ValueError(f"{type(model).__name__} returns no (N, C, H, W) stage maps; feature methods "
                         "need a convolutional model")
    return shapes


def stem_maps(model: nn.Module) -> int:
    """1 where the model's stage maps start with its stem's output (``feats_start_with_stem``: ResNet, WRN), else 0
    (airbench's and ConvNet's have no stem map): subtracted from :func:`stage_map_shapes`' count, the stage outputs."""
    return int(getattr(model, "feats_start_with_stem", False))


def paired_stages(n_student: int, n_teacher: int, count: int | None = None) -> list[tuple[int, int]]:
    """Pair the last ``count`` stage maps of student and teacher, aligned from the deepest stage.

    ``count=None`` pairs as many as the shallower model has.
    """
    available = min(n_student, n_teacher)
    count = available if count is None else count
    if not 1 <= count <= available:
        raise ValueError(f"cannot pair {count} stages: the student has {n_student}, the teacher {n_teacher}")
    return [(n_student - count + i, n_teacher - count + i) for i in range(count)]
