"""Hinton knowledge distillation (Hinton, Vinyals & Dean 2015, "Distilling the Knowledge in a Neural Network").

L = (1 - alpha) * CE(y, softmax(z_s)) + alpha * T^2 * KL(softmax(z_t / T) || softmax(z_s / T))

Terms are reported separately (``ce``, ``kd``) with weights ``1 - alpha`` and ``alpha``. The teacher's
logits come from the batch in offline mode (cached soft labels) or from the frozen teacher online.
"""
from __future__ import annotations

from torch import nn

from kd.common.engine.method import DistillationMethod
from kd.common.losses.logit import labelled_cross_entropy, soft_target_kl
from kd.vision.methods._teacher import teacher_logits_for
from kd.vision.methods.registry import METHODS


@METHODS.register("kd")
class HintonKD(DistillationMethod):
    learns_from_unlabelled = True

    def __init__(self, teacher: nn.Module | None = None, student: nn.Module | None = None, num_classes: int = 0,
                 image_shape=None, temperature: float = 4.0, alpha: float = 0.9):
        super().__init__(weights={"ce": 1.0 - alpha, "kd": alpha})
        self.temperature = temperature

    def forward(self, student, teacher, batch):
        images, labels = batch[0], batch[1]
        teacher_logits = teacher_logits_for(teacher, batch, images)
        logits = student(images)
        return {"ce": labelled_cross_entropy(logits, labels),
                "kd": soft_target_kl(logits, teacher_logits, self.temperature)}
