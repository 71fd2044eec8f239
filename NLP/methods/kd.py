"""Knowledge distillation with soft targets (Hinton, Vinyals & Dean 2015, "Distilling the Knowledge in a Neural
Network"):

L = (1 - alpha) CE(y, softmax(z_s)) + alpha T^2 KL(softmax(z_t / T) || softmax(z_s / T))

Terms ``ce`` and ``kd`` (:func:`kd.common.losses.soft_target_kl`, the T^2 included) with weights ``1 - alpha`` and
``alpha``: ``alpha=0.5`` is 0.5 CE + 0.5 T^2 KL (the README's runs), ``alpha=1`` distils without labels. It reads
the teacher's logits only, so offline it learns from the cached logits with no teacher forward, and a student
with its own vocabulary (the BiLSTM) can take it.
"""
from __future__ import annotations

from kd.common.losses import soft_target_kl
from kd.nlp.methods.classification import CLASSIFICATION_METHODS, ClassificationMethod


@CLASSIFICATION_METHODS.register("kd")
class HintonKD(ClassificationMethod):
    teacher_outputs = ("logits",)
    works_offline = True
    needs_same_tokenizer = False

    def __init__(self, teacher=None, student=None, temperature: float = 4.0, alpha: float = 0.5):
        super().__init__({"ce": 1.0 - alpha, "kd": alpha})
        self.temperature = temperature

    def forward(self, student, teacher, batch) -> dict:
        logits = self.student_forward(student, batch).logits
        t_logits = self.teacher_forward(teacher, batch)["logits"]
        self.same_classes(logits, t_logits)
        return {"ce": self.cross_entropy(logits, batch), "kd": soft_target_kl(logits, t_logits, self.temperature)}
