"""Training on soft labels alone (Hinton et al. 2015, "Distilling the Knowledge in a Neural Network", sec. 2, with
alpha = 1: offline distillation without hard labels):

L = -T^2 * mean_i sum_c p_ic log softmax(z_s / T)_ic,   p = softmax(z_t / T)

Same gradient as the KD term of :mod:`kd` (the two differ by the teacher's entropy, a constant). With
``hard_weight > 0`` the hard-label cross-entropy is added as a second term.
"""
from __future__ import annotations

from torch import nn

from kd.common.engine.method import DistillationMethod
from kd.common.losses.logit import labelled_cross_entropy, soft_label_cross_entropy
from kd.vision.methods._teacher import teacher_logits_for
from kd.vision.methods.registry import METHODS


@METHODS.register("soft_label_ce")
class SoftLabelCE(DistillationMethod):
    learns_from_unlabelled = True

    def __init__(self, teacher: nn.Module | None = None, student: nn.Module | None = None, num_classes: int = 0,
                 image_shape=None, temperature: float = 4.0, hard_weight: float = 0.0):
        super().__init__(weights={"soft_ce": 1.0, "ce": hard_weight})
        self.temperature = temperature

    def forward(self, student, teacher, batch):
        images, labels = batch[0], batch[1]
        probs = (teacher_logits_for(teacher, batch, images).float() / self.temperature).softmax(-1)
        logits = student(images)
        return {"soft_ce": soft_label_cross_entropy(logits, probs, self.temperature),
                "ce": labelled_cross_entropy(logits, labels)}
