"""Distillation losses: pure functions on tensors, each with its formula and its paper.

Domain code composes these; it never re-implements one. Modules:
- ``logit``: Hinton's soft-target KL (with T^2), the alpha mix with hard-label CE, soft-label CE, logit MSE.
- ``dkd``: decoupled KD (TCKD + NCKD, Zhao et al. 2022).
- ``feature``: FitNet hints, attention transfer, similarity-preserving KD.
"""
from kd.common.losses.dkd import dkd_loss, nckd_loss, tckd_loss
from kd.common.losses.feature import attention_map, attention_transfer_loss, hint_loss, similarity_preserving_loss
from kd.common.losses.logit import (
    hinton_kd_loss,
    logit_mse,
    soft_label_cross_entropy,
    soft_target_kl,
)

__all__ = ["hinton_kd_loss", "logit_mse", "soft_label_cross_entropy", "soft_target_kl",
           "dkd_loss", "nckd_loss", "tckd_loss",
           "attention_map", "attention_transfer_loss", "hint_loss", "similarity_preserving_loss"]
