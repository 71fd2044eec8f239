"""Attention transfer (Zagoruyko & Komodakis, "Paying More Attention to Attention", ICLR 2017).

Each stage's activation A (N, C, H, W) becomes a spatial attention map Q = normalise(mean_c |A_c|^2);
the student matches the teacher's maps at several stages (no projector: the maps have no channels):

    L = w_ce * CE(y, z_s) + w_at * sum_j mean_{n,hw} (Q_s^j - Q_t^j)^2        (w_at = beta = 1000)

Stages are paired from the deepest one (``stages``: how many; default every stage output after the stem that
both models have, as RepDistiller's ``feat[1:-1]``: :func:`~kd.vision.methods.feature_taps.stem_maps`, so
a model without a stem map, airbench's or ConvNet's, gives all of its stages).
Config: ``method.name: at``, settings ``methods.at: {stages, p, weights: {ce, at}}``.
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence

from torch import nn

from kd.common.engine import DistillationMethod
from kd.common.losses import attention_transfer_loss, labelled_cross_entropy
from kd.vision.methods.registry import METHODS
from kd.vision.methods.feature_taps import (paired_stages, stage_map_shapes, stem_maps, student_outputs,
                                           teacher_outputs)


@METHODS.register("at")
class AttentionTransfer(DistillationMethod):
    learns_from_unlabelled = True
    uses_teacher_features = True

    def __init__(self, teacher: nn.Module, student: nn.Module, num_classes: int, image_shape: Sequence[int],
                 stages: int | None = None, p: float = 2.0, weights: Mapping[str, float] | None = None):
        super().__init__({"ce": 1.0, "at": 1000.0, **(weights or {})})
        n_s, n_t = len(stage_map_shapes(student, image_shape)), len(stage_map_shapes(teacher, image_shape))
        after_stem = min(n_s - stem_maps(student), n_t - stem_maps(teacher))
        self.pairs = paired_stages(n_s, n_t, stages if stages is not None else max(1, after_stem))
        self.p = p

    def forward(self, student: nn.Module, teacher: nn.Module, batch: Any):
        images, labels = batch[0], batch[1]
        _, t_maps = teacher_outputs(teacher, images)
        logits, s_maps = student_outputs(student, images)
        at = attention_transfer_loss([s_maps[i] for i, _ in self.pairs], [t_maps[j] for _, j in self.pairs], self.p)
        return {"ce": labelled_cross_entropy(logits, labels), "at": at}
