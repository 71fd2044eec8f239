"""Decoupled Knowledge Distillation (Zhao, Cui, Song, Qiu & Liang, "Decoupled Knowledge Distillation", CVPR 2022).

Classic KD's KL splits into a target-class part and a non-target part:

    KD = TCKD + (1 - p_t^T) * NCKD

- TCKD = KL(b^T || b^S), b = [p_target, 1 - p_target], the binary "is it the target class" distribution;
- NCKD = KL(p_hat^T || p_hat^S), p_hat the distribution over the non-target classes only (renormalised).

DKD drops the (1 - p_t^T) coupling and weighs the two freely: L = alpha * TCKD + beta * NCKD, both at
temperature T and scaled by T^2 (as in the authors' mdistiller code: alpha = 1, beta = 8, T = 4 for
resnet32x4 -> resnet8x4 on CIFAR-100).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

_MASK_OFFSET = 1000.0  # subtracted from the target logit (at temperature T) to leave it out of a softmax


def tckd_loss(student_logits: Tensor, teacher_logits: Tensor, labels: Tensor, temperature: float = 4.0) -> Tensor:
    """Target-class KD: T^2 * mean_i KL([p_t, 1 - p_t]_teacher || [p_t, 1 - p_t]_student) at temperature T."""
    target = F.one_hot(labels, student_logits.shape[-1]).bool()
    log_b_s = _binary_log_probs(student_logits.float() / temperature, target)
    log_b_t = _binary_log_probs(teacher_logits.detach().float() / temperature, target)
    kl = F.kl_div(log_b_s, log_b_t, log_target=True, reduction="sum") / labels.shape[0]
    return temperature**2 * kl


def nckd_loss(student_logits: Tensor, teacher_logits: Tensor, labels: Tensor, temperature: float = 4.0) -> Tensor:
    """Non-target-class KD: T^2 * mean_i KL(p_hat_teacher || p_hat_student), softmax over the non-target classes."""
    target = F.one_hot(labels, student_logits.shape[-1]).float()
    log_s = F.log_softmax(student_logits.float() / temperature - _MASK_OFFSET * target, dim=-1)
    log_t = F.log_softmax(teacher_logits.detach().float() / temperature - _MASK_OFFSET * target, dim=-1)
    # The target column has probability ~e^-1000 = 0 in both, so it contributes nothing.
    kl = F.kl_div(log_s, log_t, log_target=True, reduction="sum") / labels.shape[0]
    return temperature**2 * kl


def dkd_loss(student_logits: Tensor, teacher_logits: Tensor, labels: Tensor, alpha: float = 1.0,
             beta: float = 8.0, temperature: float = 4.0) -> Tensor:
    """L_DKD = alpha * TCKD + beta * NCKD (see the module docstring)."""
    return (alpha * tckd_loss(student_logits, teacher_logits, labels, temperature)
            + beta * nckd_loss(student_logits, teacher_logits, labels, temperature))


def _binary_log_probs(scaled_logits: Tensor, target: Tensor) -> Tensor:
    """log [p_target, 1 - p_target] of softmax(scaled_logits), computed stably with logsumexp."""
    log_all = torch.logsumexp(scaled_logits, dim=-1)
    log_target = scaled_logits.masked_select(target) - log_all
    log_rest = torch.logsumexp(scaled_logits.masked_fill(target, float("-inf")), dim=-1) - log_all
    return torch.stack([log_target, log_rest], dim=-1)
