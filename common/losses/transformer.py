"""Feature-level losses for transformer (and other sequence) students: hidden states, attention maps, embeddings.

Token-level KL on output distributions is :func:`kd.common.losses.soft_target_kl` with its ``mask``
argument; it is not repeated here. Every loss below compares the two models position by position, so
teacher and student must see the SAME token sequence (same tokenizer / vocabulary and padding); a
shape mismatch is a :class:`~kd.common.utils.errors.KDError`, not a broadcast.

- :func:`hidden_state_mse` with :class:`HiddenProjection` -- TinyBERT's hidden-state loss
  (Jiao et al. 2020, "TinyBERT: Distilling BERT for Natural Language Understanding", eq. 8).
- :func:`attention_map_loss` -- TinyBERT's attention-based loss (eq. 7).
- :func:`cosine_embedding_loss` -- DistilBERT's cosine loss (Sanh et al. 2019, "DistilBERT, a distilled
  version of BERT", sec. 2).
"""
from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn

from kd.common.losses.reduction import masked_mean
from kd.common.utils.errors import KDError


class HiddenProjection(nn.Module):
    """The learned map W_h of TinyBERT: h_s (..., d_s) -> h_s W_h + b (..., d_t), trained with the student."""

    def __init__(self, student_dim: int, teacher_dim: int):
        super().__init__()
        self.linear = nn.Linear(student_dim, teacher_dim)

    def forward(self, hidden: Tensor) -> Tensor:
        return self.linear(hidden)


def hidden_state_mse(student_hidden: Tensor, teacher_hidden: Tensor, projection: nn.Module | None = None,
                     mask: Tensor | None = None) -> Tensor:
    """TinyBERT hidden-state loss: L = sum_{i in mask} ||h_s,i W_h - h_t,i||^2 / (|mask| * d_t).

    ``student_hidden`` (B, L, d_s), ``teacher_hidden`` (B, L, d_t), ``mask`` (B, L) bool (True = real token).
    ``projection`` (e.g. :class:`HiddenProjection`) is required when d_s != d_t.
    """
    if projection is not None:
        student_hidden = projection(student_hidden)
    _check_same_shape("hidden_state_mse", student_hidden, teacher_hidden,
                      "pass a HiddenProjection(d_s, d_t) when the hidden sizes differ")
    per_token = (student_hidden.float() - teacher_hidden.detach().float()).pow(2).mean(-1)
    return masked_mean(per_token, mask)


def attention_map_loss(student_attention: Tensor, teacher_attention: Tensor, mask: Tensor | None = None,
                       head_reduction: str = "none") -> Tensor:
    """TinyBERT attention loss: L = 1/h sum_heads MSE(A_s, A_t) over the query rows and key columns of real tokens.

    Attentions are (B, heads, L, L) maps as returned by ``output_attentions=True``, taken before attention dropout
    (a dropped map's MSE is biased: :mod:`kd.nlp.teacher_model.attention_maps`). TinyBERT regresses the pre-softmax
    scores; Hugging Face returns the post-softmax probabilities, whose MSE is what this computes. ``mask`` (B, L),
    True = real token: a row's mean runs over its sentence's real keys only, so a sentence's term does not shrink
    with the batch's padding.
    ``head_reduction="mean"`` averages the heads first, for a student with fewer heads than the teacher.
    """
    if head_reduction == "mean":
        student_attention = student_attention.mean(1, keepdim=True)
        teacher_attention = teacher_attention.mean(1, keepdim=True)
    elif head_reduction != "none":
        raise KDError(f"unknown head_reduction '{head_reduction}'; choose none or mean")
    _check_same_shape("attention_map_loss", student_attention, teacher_attention,
                      "TinyBERT's attention loss needs the same number of heads and the same tokenizer; "
                      "use head_reduction='mean' when only the head counts differ")
    squared = (student_attention.float() - teacher_attention.detach().float()).pow(2)  # (B, h, L, L)
    if mask is None:
        per_row = squared.mean(-1)  # (B, h, L)
    else:
        keys = mask[:, None, None, :].float()
        per_row = (squared * keys).sum(-1) / keys.sum(-1).clamp_min(1.0)
    per_query = per_row.mean(1)  # (B, L)
    return masked_mean(per_query, mask)


def cosine_embedding_loss(student_hidden: Tensor, teacher_hidden: Tensor, mask: Tensor | None = None) -> Tensor:
    """DistilBERT's cosine loss: L = mean_{i in mask} (1 - cos(h_s,i, h_t,i)), aligning the hidden directions.

    The student's and the teacher's hidden sizes must be equal (DistilBERT keeps BERT's 768).
    """
    _check_same_shape("cosine_embedding_loss", student_hidden, teacher_hidden,
                      "DistilBERT's cosine loss needs equal hidden sizes and the same tokenizer")
    cos = F.cosine_similarity(student_hidden.float(), teacher_hidden.detach().float(), dim=-1)
    return masked_mean(1.0 - cos, mask)


def _check_same_shape(name: str, student: Tensor, teacher: Tensor, hint: str) -> None:
    if student.shape != teacher.shape:
        raise KDError(f"{name}: student shape {tuple(student.shape)} differs from teacher shape "
                      f"{tuple(teacher.shape)}; {hint}")

