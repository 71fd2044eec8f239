"""Decoupled knowledge distillation (Zhao, Cui, Song, Qiu & Liang, CVPR 2022), as in the authors' mdistiller.

    L = w_ce * CE(y, z_s) + w_dkd * min(epoch / warmup, 1) * (alpha * TCKD + beta * NCKD)

TCKD/NCKD are in :mod:`kd.common.losses.dkd`. The DKD term is ramped up linearly over the first
``warmup`` epochs (epoch counted from 1, so the first epoch already has weight 1/warmup); the engine
tells the method the epoch through :meth:`set_epoch`. CIFAR-100 settings of the paper for
resnet32x4 -> resnet8x4: alpha = 1, beta = 8, T = 4, warmup = 20, w_ce = 1.
Works online and offline (cached teacher logits in the batch).
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence

from torch import nn

from kd.common.engine import DistillationMethod
from kd.common.losses import dkd_loss, labelled_cross_entropy
from kd.vision.methods._teacher import teacher_logits_for
from kd.vision.methods.registry import METHODS


@METHODS.register("dkd")
class DecoupledKD(DistillationMethod):
    def __init__(self, teacher: nn.Module | None, student: nn.Module, num_classes: int,
                 image_shape: Sequence[int], alpha: float = 1.0, beta: float = 8.0, temperature: float = 4.0,
                 warmup: int = 20, weights: Mapping[str, float] | None = None):
        super().__init__({"ce": 1.0, "dkd": 1.0, **(weights or {})})
        self.alpha, self.beta, self.temperature, self.warmup = alpha, beta, temperature, warmup
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """0-based index of the epoch about to be trained (called by the Distiller)."""
        self.epoch = epoch

    @property
    def ramp(self) -> float:
        return min((self.epoch + 1) / self.warmup, 1.0) if self.warmup > 0 else 1.0

    def forward(self, student: nn.Module, teacher: nn.Module | None, batch: Any):
        images, labels = batch[0], batch[1]
        teacher_logits = teacher_logits_for(teacher, batch, images)
        logits = student(images)
        dkd = dkd_loss(logits, teacher_logits, labels, self.alpha, self.beta, self.temperature)
        return {"ce": labelled_cross_entropy(logits, labels), "dkd": self.ramp * dkd}
