"""Plain supervised training, no teacher: L = CE(y, softmax(z_s)). Used to train teachers and the
"student alone" baseline."""
from __future__ import annotations

from torch import nn

from kd.common.engine.method import DistillationMethod
from kd.common.losses.logit import labelled_cross_entropy
from kd.vision.methods.registry import METHODS


@METHODS.register("supervised")
class Supervised(DistillationMethod):
    needs_teacher = False
    learns_from_unlabelled = True

    def __init__(self, teacher: nn.Module | None = None, student: nn.Module | None = None, num_classes: int = 0,
                 image_shape=None, label_smoothing: float = 0.0):
        super().__init__()
        self.label_smoothing = label_smoothing

    def forward(self, student, teacher, batch):
        images, labels = batch[0], batch[1]
        return {"ce": labelled_cross_entropy(student(images), labels, self.label_smoothing)}
