"""Distillation losses: pure functions on tensors, each with its formula and its paper.

Domain code composes these; it never re-implements one. Modules:
- ``logit``: Hinton's soft-target KL (with T^2), the alpha mix with hard-label CE, soft-label CE, logit MSE.
"""
from kd.common.losses.logit import (
    hinton_kd_loss,
    logit_mse,
    soft_label_cross_entropy,
    soft_target_kl,
)

__all__ = ["hinton_kd_loss", "logit_mse", "soft_label_cross_entropy", "soft_target_kl"]
