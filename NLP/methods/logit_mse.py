"""Logit regression (Ba & Caruana 2014, "Do Deep Nets Really Need to be Deep?"; the loss Tang et al. 2019 distil
BERT into a BiLSTM with):

L = (1 - alpha) CE(y, softmax(z_s)) + alpha ||z_s - z_t||^2 / C

Terms ``ce`` and ``mse`` (:func:`kd.common.losses.logit_mse`) with weights ``1 - alpha`` and ``alpha``. Logits only:
offline from the cached logits, and any student (its own vocabulary too).
"""
from __future__ import annotations

from kd.common.losses import logit_mse
from kd.nlp.methods.classification import CLASSIFICATION_METHODS, ClassificationMethod


@CLASSIFICATION_METHODS.register("logit_mse")
class LogitMSE(ClassificationMethod):
    teacher_outputs = ("logits",)
    works_offline = True
    needs_same_tokenizer = False

    def __init__(self, teacher=None, student=None, alpha: float = 0.5):
        super().__init__({"ce": 1.0 - alpha, "mse": alpha})

    def forward(self, student, teacher, batch) -> dict:
        logits = self.student_forward(student, batch).logits
        t_logits = self.teacher_forward(teacher, batch)["logits"]
        self.same_classes(logits, t_logits)
        return {"ce": self.cross_entropy(logits, batch), "mse": logit_mse(logits, t_logits)}
