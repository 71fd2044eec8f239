"""Feature-level distillation losses: hints, attention maps, batch similarities.

All functions take feature tensors, average over the batch and keep the teacher out of the graph
(teacher tensors are detached). Projectors (the learned maps that give the student's features the
teacher's shape) are not losses: they live with the method that trains them.

- :func:`hint_loss` -- FitNets (Romero et al., ICLR 2015): regress the teacher's "guided" layer from
  the student's "hint" layer, L = mean (r(F_s) - F_t)^2. SimKD (Chen et al., CVPR 2022) uses the same
  L2 between its projected student feature and the teacher's penultimate feature.
- :func:`attention_map` / :func:`attention_transfer_loss` -- Attention Transfer (Zagoruyko &
  Komodakis, ICLR 2017).
- :func:`similarity_preserving_loss` -- projector-free: Similarity-Preserving KD (Tung & Mori, ICCV 2019).
"""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor


def hint_loss(student_feature: Tensor, teacher_feature: Tensor) -> Tensor:
    """FitNet hint loss: L = 1/(N*C*H*W) * sum (F_s - F_t)^2, the element-wise mean squared error.

    ``student_feature`` must already have the teacher's shape (pass it through a regressor /
    projector first). Zero for identical features.
    """
    if student_feature.shape != teacher_feature.shape:
        raise ValueError(f"hint_loss needs equal shapes, got student {tuple(student_feature.shape)} "
                         f"and teacher {tuple(teacher_feature.shape)}; project the student feature first")
    return F.mse_loss(student_feature.float(), teacher_feature.detach().float())


def attention_map(feature: Tensor, p: float = 2.0) -> Tensor:
    """Spatial attention map of a (N, C, H, W) activation, flattened and L2-normalised per example.

    Q = vec(F(A)) / ||vec(F(A))||_2,  F(A)_{hw} = 1/C * sum_c |A_{c,h,w}|^p

    (Zagoruyko & Komodakis 2017, eq. 2 with p = 2; the 1/C of the reference implementation in
    RepDistiller cancels in the normalisation.) Returns shape (N, H*W).
    """
    pooled = feature.float().abs().pow(p).mean(dim=1)
    return F.normalize(pooled.flatten(1), dim=1)


def attention_transfer_loss(student_features: Sequence[Tensor], teacher_features: Sequence[Tensor],
                            p: float = 2.0) -> Tensor:
    """Attention transfer summed over stage pairs: L = sum_j mean_{n,hw} (Q_s^j - Q_t^j)^2.

    This is the form of the reference code (RepDistiller's ``Attention``): the squared L2 distance of
    the normalised maps, divided by the number of positions H*W and averaged over the batch; the paper's
    beta (1000 on CIFAR) is the method's weight on this term. When a student and a teacher map have
    different spatial sizes the larger one is average-pooled to the smaller one (the maps themselves are
    channel-free, so no projector is needed).
    """
    if len(student_features) != len(teacher_features):
        raise ValueError(f"attention transfer pairs stages one to one, got {len(student_features)} "
                         f"student and {len(teacher_features)} teacher maps")
    total = 0.0
    for fs, ft in zip(student_features, teacher_features):
        fs, ft = match_spatial(fs, ft.detach())
        total = total + (attention_map(fs, p) - attention_map(ft, p)).pow(2).mean()
    return total


def similarity_preserving_loss(student_feature: Tensor, teacher_feature: Tensor) -> Tensor:
    """Similarity-preserving KD (Tung & Mori 2019): match the batch's pairwise similarity matrices.

    G = row_normalise(Q Q^T), Q = the (N, -1) flattened features;  L = 1/N^2 * ||G_s - G_t||_F^2.
    Works across any feature shapes (no projector): only the N x N similarities are compared. Q Q^T is taken in
    fp32 even under autocast (bf16 would round each similarity by about 0.4 %, on differences that end small).
    """
    def gram(feature: Tensor) -> Tensor:
        flat = feature.float().flatten(1)
        with torch.autocast(flat.device.type, enabled=False):
            return F.normalize(flat @ flat.t(), dim=1)

    n = student_feature.shape[0]
    return (gram(student_feature) - gram(teacher_feature.detach())).pow(2).sum() / (n * n)


def match_spatial(a: Tensor, b: Tensor) -> tuple[Tensor, Tensor]:
    """Average-pool whichever of two (N, C, H, W) maps is larger so both have the smaller H, W."""
    if a.shape[-2:] == b.shape[-2:]:
        return a, b
    if a.shape[-2] * a.shape[-1] > b.shape[-2] * b.shape[-1]:
        return F.adaptive_avg_pool2d(a, b.shape[-2:]), b
    return a, F.adaptive_avg_pool2d(b, a.shape[-2:])
