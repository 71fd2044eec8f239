"""Similarity-preserving KD (Tung & Mori, "Similarity-Preserving Knowledge Distillation", ICCV 2019).

The student does not copy the teacher's features, only how the teacher relates the images of a batch to one
another. With Q the (N, C * H * W) flattened activations of a stage, G = row_normalise(Q Q^T) is an N x N
similarity matrix, and for the paired stages j (no projector: G is N x N whatever the channels and sizes):

    L = w_ce * CE(y, z_s) + w_sp * sum_j ||G_s^j - G_t^j||_F^2 / N^2        (w_sp = gamma = 3000)

Stages are paired from the deepest one (``stages``: how many; default 1, the last stage's output, as Tung & Mori
and RepDistiller's ``feat[-2]``). Config: ``method.name: sp``, settings ``methods.sp: {stages, weights: {ce, sp}}``.
Under torchrun each rank compares the N = B / W images of its own batch: unlike a mean over images, the term then
differs from one process's at batch B (the sum over N^2 pairs scales with N), so keep W x batch as tuned, or
retune gamma.
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence

from torch import nn

from kd.common.engine import DistillationMethod
from kd.common.losses import labelled_cross_entropy, similarity_preserving_loss
from kd.vision.methods.registry import METHODS
from kd.vision.methods.feature_taps import paired_stages, stage_map_shapes, student_outputs, teacher_outputs


@METHODS.register("sp")
class SimilarityPreserving(DistillationMethod):
    learns_from_unlabelled = True
    uses_teacher_features = True

    def __init__(self, teacher: nn.Module, student: nn.Module, num_classes: int, image_shape: Sequence[int],
                 stages: int = 1, weights: Mapping[str, float] | None = None):
        super().__init__({"ce": 1.0, "sp": 3000.0, **(weights or {})})
        n_s, n_t = len(stage_map_shapes(student, image_shape)), len(stage_map_shapes(teacher, image_shape))
        self.pairs = paired_stages(n_s, n_t, stages)

    def forward(self, student: nn.Module, teacher: nn.Module, batch: Any):
        images, labels = batch[0], batch[1]
        _, t_maps = teacher_outputs(teacher, images)
        logits, s_maps = student_outputs(student, images)
        sp = sum(similarity_preserving_loss(s_maps[i], t_maps[j]) for i, j in self.pairs)
        return {"ce": labelled_cross_entropy(logits, labels), "sp": sp}
