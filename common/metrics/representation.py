"""Representation similarity: how close a student's features are to its teacher's, whatever their widths.

Feature-distillation terms (FitNet hints, TinyBERT hidden states) pull the student's features towards
the teacher's through a learned projection, so their own loss cannot compare a distilled student with
one trained without them. Linear CKA needs no projection and is invariant to rotations and isotropic
scaling of either side, so it measures that pull directly.
"""
from __future__ import annotations

import torch
from torch import Tensor


@torch.no_grad()
def linear_cka(x: Tensor, y: Tensor) -> float:
    """Linear centred kernel alignment (Kornblith, Norouzi, Lee & Hinton 2019, "Similarity of Neural
    Network Representations Revisited", eq. for linear CKA):

        CKA(X, Y) = ||Y^T X||_F^2 / (||X^T X||_F ||Y^T Y||_F),  X, Y column-centred, rows = examples

    ``x`` (N, ...) and ``y`` (N, ...) are flattened per example; the widths may differ. 1 for features
    equal up to rotation and scale, near 0 for unrelated ones. Computed in float64.
    """
    if x.shape[0] != y.shape[0]:
        raise ValueError(f"linear_cka needs the same examples on both sides, got {x.shape[0]} and {y.shape[0]} rows")
    x = x.reshape(x.shape[0], -1).double()
    y = y.reshape(y.shape[0], -1).double()
    x = x - x.mean(0, keepdim=True)
    y = y - y.mean(0, keepdim=True)
    cross = (y.t() @ x).pow(2).sum()
    return (cross / ((x.t() @ x).norm() * (y.t() @ y).norm())).item()
