"""Distillation losses: pure functions on tensors, each with its formula and its paper.

Domain code composes these; it never re-implements one. Modules:
- ``logit``: Hinton's soft-target KL (with T^2), the alpha mix with hard-label CE, soft-label CE, logit MSE,
  and the hard-label CE that skips the unlabelled images of a transfer set.
- ``dkd``: decoupled KD (TCKD + NCKD, Zhao et al. 2022).
- ``feature``: FitNet hints, attention transfer, similarity-preserving KD.
- ``transformer``: hidden-state MSE with a projection (TinyBERT), attention maps, cosine embedding (DistilBERT).
- ``policy``: policy distillation (Rusu et al. 2015): tempered KL, teacher-action NLL, Gaussian KL.
- ``reduction``: the masked mean they all use.
"""
from kd.common.losses.dkd import dkd_loss, nckd_loss, tckd_loss
from kd.common.losses.feature import attention_map, attention_transfer_loss, hint_loss, similarity_preserving_loss
from kd.common.losses.policy import gaussian_kl, policy_kl, teacher_action_nll
from kd.common.losses.reduction import masked_mean
from kd.common.losses.transformer import attention_map_loss, cosine_embedding_loss, hidden_state_mse
from kd.common.losses.logit import (
    UNLABELLED,
    hinton_kd_loss,
    labelled_cross_entropy,
    logit_mse,
    soft_label_cross_entropy,
    soft_target_kl,
)

__all__ = ["UNLABELLED", "hinton_kd_loss", "labelled_cross_entropy", "logit_mse", "soft_label_cross_entropy",
           "soft_target_kl",
           "dkd_loss", "nckd_loss", "tckd_loss",
           "attention_map", "attention_transfer_loss", "hint_loss", "similarity_preserving_loss",
           "gaussian_kl", "policy_kl", "teacher_action_nll", "masked_mean",
           "attention_map_loss", "cosine_embedding_loss", "hidden_state_mse"]
