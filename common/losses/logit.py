"""Logit-level distillation losses (Hinton, Vinyals & Dean 2015, "Distilling the Knowledge in a Neural Network").

All functions take raw logits of shape ``(N, C)`` (or ``(..., C)``, flattened over the leading dims),
average over examples, and keep the teacher out of the graph (``teacher_logits`` is detached).
"""
from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor

from kd.common.losses.reduction import masked_mean

UNLABELLED = -1
"""The label of a training image nobody labelled: only the teacher's soft targets speak about it (a transfer set)."""


def labelled_cross_entropy(student_logits: Tensor, labels: Tensor, label_smoothing: float = 0.0) -> Tensor:
    """Hard-label cross-entropy over the labelled rows of a batch:

    L = sum_{i: y_i != UNLABELLED} CE(y_i, softmax(z_i)) / max(1, #{i: y_i != UNLABELLED})

    Rows labelled :data:`UNLABELLED` are images of a transfer set (Hinton et al. 2015, sec. 2): the
    distillation terms use them, this term skips them. With every row labelled this is
    ``F.cross_entropy``; a batch without any label gives 0 (no NaN).
    """
    labelled = labels != UNLABELLED
    per_row = F.cross_entropy(student_logits.float(), labels.clamp(min=0), reduction="none",
                              label_smoothing=label_smoothing)
    return (per_row * labelled).sum() / labelled.sum().clamp(min=1)


def soft_target_kl(student_logits: Tensor, teacher_logits: Tensor, temperature: float = 4.0,
                   mask: Tensor | None = None) -> Tensor:
    """Hinton's soft-target loss with the explicit T^2 factor.

    L = T^2 * mean_i KL(p_i^T || q_i^T),  p^T = softmax(z_teacher / T),  q^T = softmax(z_student / T)

    The T^2 keeps the gradient magnitude of the soft term independent of T (its gradient w.r.t. the
    logits scales as 1/T^2 otherwise). ``mask`` (shape ``(...)``, bool) selects which rows count,
    e.g. the non-padding tokens of a sequence.
    """
    s = student_logits.float().reshape(-1, student_logits.shape[-1]) / temperature
    t = teacher_logits.detach().float().reshape(-1, teacher_logits.shape[-1]) / temperature
    per_row = F.kl_div(F.log_softmax(s, dim=-1), F.log_softmax(t, dim=-1), log_target=True,
                       reduction="none").sum(-1)
    return temperature**2 * masked_mean(per_row, mask)


def soft_label_cross_entropy(student_logits: Tensor, teacher_probs: Tensor, temperature: float = 1.0,
                             mask: Tensor | None = None) -> Tensor:
    """Cross-entropy against soft labels given as probabilities (the caches hold logits: soften them first at T).

    L = -T^2 * mean_i sum_c p_ic log q_ic^T,  q^T = softmax(z_student / T)

    ``teacher_probs`` must already be softened at the same T. It differs from :func:`soft_target_kl` only
    by the teacher's entropy, a constant, so the gradients are the same.
    """
    s = student_logits.float().reshape(-1, student_logits.shape[-1]) / temperature
    p = teacher_probs.detach().float().reshape(-1, teacher_probs.shape[-1])
    per_row = -(p * F.log_softmax(s, dim=-1)).sum(-1)
    return temperature**2 * masked_mean(per_row, mask)


def hinton_kd_loss(student_logits: Tensor, teacher_logits: Tensor, labels: Tensor,
                   temperature: float = 4.0, alpha: float = 0.9) -> Tensor:
    """The classic mix (Hinton et al. 2015): L = alpha * T^2 KL(p^T || q^T) + (1 - alpha) * CE(labels, q).

    ``alpha=1`` is pure distillation (no labels), ``alpha=0`` plain supervised training. Rows labelled
    :data:`UNLABELLED` (a transfer set) take the KL term only (:func:`labelled_cross_entropy`).
    """
    soft = soft_target_kl(student_logits, teacher_logits, temperature)
    hard = labelled_cross_entropy(student_logits, labels)
    return alpha * soft + (1.0 - alpha) * hard


def logit_mse(student_logits: Tensor, teacher_logits: Tensor, mask: Tensor | None = None) -> Tensor:
    """Logit matching: L = mean_i ||z_s,i - z_t,i||^2 / C (Ba & Caruana 2014, "Do Deep Nets Really Need to be Deep?").

    For zero-mean logits it is twice the high-temperature limit of :func:`soft_target_kl`: T^2 KL ->
    ||z_s - z_t||^2 / (2C) as T grows (Hinton et al. 2015, sec. 2.1), so the same weight on either term is not the
    same strength.
    """
    diff = (student_logits.float() - teacher_logits.detach().float()).reshape(-1, student_logits.shape[-1])
    return masked_mean(diff.pow(2).mean(-1), mask)

