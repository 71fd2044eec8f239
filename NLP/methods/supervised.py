"""The student trained alone: hard-label cross-entropy, no teacher (the baseline every distilled student is
compared with, and how ``train_teacher`` fine-tunes the teacher).

L = CE(y, softmax(z_s))
"""
from __future__ import annotations

from kd.nlp.methods.classification import CLASSIFICATION_METHODS, ClassificationMethod


@CLASSIFICATION_METHODS.register("supervised")
class Supervised(ClassificationMethod):
    teacher_outputs = ()          # no teacher
    works_offline = True          # nothing to cache
    needs_same_tokenizer = False

    def __init__(self, teacher=None, student=None):
        super().__init__({"ce": 1.0})

    def forward(self, student, teacher, batch) -> dict:
        return {"ce": self.cross_entropy(self.student_forward(student, batch).logits, batch)}
