"""Policy distillation losses (Rusu et al. 2015, "Policy Distillation"; Czarnecki et al. 2019,
"Distilling Policy Distillation").

Every function averages over the states of a batch (rows), keeps the teacher out of the graph and
takes an optional boolean ``mask`` over rows. The MSE on Q-values/logits of Rusu et al. is
:func:`kd.common.losses.logit.logit_mse` (re-exported by ``kd.common.losses``).
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from kd.common.losses.reduction import masked_mean


def policy_kl(student_logits: Tensor, teacher_logits: Tensor, temperature: float = 1.0,
              mask: Tensor | None = None) -> Tensor:
    """KL from the teacher's tempered distribution to the student's policy (Rusu et al. 2015, eq. 3).

    L = mean_i KL(softmax(q_T,i / T) || softmax(z_S,i))
      = mean_i sum_a p_a (log p_a - log softmax(z_S,i)_a),  p = softmax(q_T,i / T),  T = ``temperature``

    Only the teacher is tempered: a DQN teacher's Q-values differ by little between actions, so a
    small T (tau = 0.01 in the paper) sharpens them into a usable target; for a policy-gradient
    teacher whose outputs already are logits, T = 1 matches its policy. Unlike Hinton's
    :func:`~kd.common.losses.logit.soft_target_kl`, the student is not tempered and there is no T^2.
    """
    s = F.log_softmax(student_logits.float().reshape(-1, student_logits.shape[-1]), dim=-1)
    t = F.log_softmax(teacher_logits.detach().float().reshape(-1, teacher_logits.shape[-1]) / temperature, dim=-1)
    per_row = F.kl_div(s, t, log_target=True, reduction="none").sum(-1)
    return masked_mean(per_row, mask)


def teacher_action_nll(student_logits: Tensor, teacher_logits: Tensor, mask: Tensor | None = None) -> Tensor:
    """Negative log-likelihood of the teacher's greedy action (Rusu et al. 2015, eq. 1).

    L = -mean_i log softmax(z_S,i)_{a*_i},  a*_i = argmax_a q_T,i,a
    """
    logits = student_logits.float().reshape(-1, student_logits.shape[-1])
    target = teacher_logits.detach().reshape(-1, teacher_logits.shape[-1]).argmax(-1)
    return masked_mean(F.cross_entropy(logits, target, reduction="none"), mask)


def gaussian_kl(student_mean: Tensor, student_log_std: Tensor, teacher_mean: Tensor, teacher_log_std: Tensor,
                mask: Tensor | None = None) -> Tensor:
    """Closed-form KL between diagonal Gaussian policies, teacher to student, summed over action dims.

    KL(N(mu_T, s_T^2) || N(mu_S, s_S^2)) = sum_d [ log(s_S/s_T) + (s_T^2 + (mu_T - mu_S)^2) / (2 s_S^2) - 1/2 ]

    The teacher-to-student direction is the one Czarnecki et al. (2019) analyse for policy
    distillation: the student must cover every action the teacher might take.
    """
    d = student_mean.shape[-1]
    mu_s = student_mean.float().reshape(-1, d)
    mu_t = teacher_mean.detach().float().reshape(-1, d)
    log_s = student_log_std.float().expand_as(student_mean).reshape(-1, d)
    log_t = teacher_log_std.detach().float().expand_as(teacher_mean).reshape(-1, d)
    var_ratio = torch.exp(2 * (log_t - log_s))
    mean_term = (mu_t - mu_s).pow(2) * torch.exp(-2 * log_s)
    per_row = (log_s - log_t + 0.5 * (var_ratio + mean_term) - 0.5).sum(-1)
    return masked_mean(per_row, mask)


def gaussian_log_likelihood_of_mean(student_mean: Tensor, student_log_std: Tensor, teacher_mean: Tensor,
                                    mask: Tensor | None = None) -> Tensor:
    """Continuous analogue of :func:`teacher_action_nll`: -log N(mu_T; mu_S, s_S^2), summed over dims.

    L = mean_i sum_d [ (mu_T - mu_S)^2 / (2 s_S^2) + log s_S + log(2 pi) / 2 ]
    """
    d = student_mean.shape[-1]
    mu_s = student_mean.float().reshape(-1, d)
    mu_t = teacher_mean.detach().float().reshape(-1, d)
    log_s = student_log_std.float().expand_as(student_mean).reshape(-1, d)
    per_row = ((mu_t - mu_s).pow(2) * torch.exp(-2 * log_s) / 2 + log_s + 0.5 * math.log(2 * math.pi)).sum(-1)
    return masked_mean(per_row, mask)
