"""Learned connectors that give a student feature map the teacher's shape (FitNet regressor, SimKD projector).

Spatial sizes are matched first (average pooling when the student map is larger, nearest upsampling
when it is smaller), then the channels by convolutions. Both end in BN + ReLU, as RepDistiller's ConvReg and
SimKD's projector do: most teachers' stage outputs come after a ReLU. Where they can be negative (WRN's
pre-activation groups 1-2, MobileNet's linear bottlenecks, airbench's GELU outputs) that part stays out of the
connector's reach, so the hint loss does not go to zero.
"""
from __future__ import annotations

from typing import Sequence

import torch.nn.functional as F
from torch import Tensor, nn


def resize_to(x: Tensor, size: Sequence[int]) -> Tensor:
    """Average-pool (shrinking) or nearest-upsample (growing) ``x`` to spatial ``size``."""
    size = tuple(size)
    if tuple(x.shape[-2:]) == size:
        return x
    if x.shape[-2] >= size[0] and x.shape[-1] >= size[1]:
        return F.adaptive_avg_pool2d(x, size)
    return F.interpolate(x, size=size, mode="nearest")


class HintRegressor(nn.Module):
    """FitNet's regressor r(.): 3x3 conv (C_s -> C_t) + BN + ReLU on the student's hint map, resized to the
    teacher's."""

    def __init__(self, student_shape: Sequence[int], teacher_shape: Sequence[int]):
        super().__init__()
        self.size = tuple(teacher_shape[1:])
        self.body = nn.Sequential(
            nn.Conv2d(student_shape[0], teacher_shape[0], 3, padding=1, bias=False),
            nn.BatchNorm2d(teacher_shape[0]),
            nn.ReLU(inplace=True),
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.body(resize_to(x, self.size))


class SimKDProjector(nn.Module):
    """SimKD's projector (Chen et al., CVPR 2022): 1x1 conv -> 3x3 conv -> 1x1 conv, each with BN + ReLU.

    C_s -> C_t/r -> C_t/r -> C_t, with reduction factor r (2 in the paper). The student map is first
    average-pooled to the teacher's spatial size when it is larger (as in the authors' code).
    """

    def __init__(self, student_shape: Sequence[int], teacher_shape: Sequence[int], factor: int = 2):
        super().__init__()
        c_s, c_t = student_shape[0], teacher_shape[0]
        hidden = max(1, c_t // factor)
        self.size = tuple(min(s, t) for s, t in zip(student_shape[1:], teacher_shape[1:]))
        self.body = nn.Sequential(
            nn.Conv2d(c_s, hidden, 1, bias=False), nn.BatchNorm2d(hidden), nn.ReLU(inplace=True),
            nn.Conv2d(hidden, hidden, 3, padding=1, bias=False), nn.BatchNorm2d(hidden), nn.ReLU(inplace=True),
            nn.Conv2d(hidden, c_t, 1, bias=False), nn.BatchNorm2d(c_t), nn.ReLU(inplace=True),
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.body(resize_to(x, self.size))
