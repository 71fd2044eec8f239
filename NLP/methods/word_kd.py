"""Word-level knowledge distillation (Kim & Rush 2016, "Sequence-Level Knowledge Distillation", sec. 3.1):

L = (1 - alpha) CE(y_t | y_<t, x) + alpha T^2 sum_t KL(p_teacher(. | y_<t, x) || p_student(. | y_<t, x)) / N,

over the N non-padding target positions of the references, both models teacher-forced on the same prefix (terms
``ce`` and ``kd`` with weights ``1 - alpha`` and ``alpha``; :func:`kd.common.losses.soft_target_kl`, T^2 included).
Kim & Rush use T = 1; ``alpha=0.5, temperature=1.0`` is the earlier ``distill.weights={ce: 0.5, kd: 0.5}`` (the
README's word-level row). It reads the teacher's logits on every batch, over one target vocabulary.
"""
from __future__ import annotations

from kd.nlp.methods.seq2seq import TRANSLATION_METHODS, TranslationMethod


@TRANSLATION_METHODS.register("word_kd")
class WordKD(TranslationMethod):
    teacher_outputs = ("logits",)

    def __init__(self, alpha: float = 0.5, temperature: float = 1.0, label_smoothing: float = 0.0):
        super().__init__({"ce": 1.0 - alpha, "kd": alpha})
        self.temperature, self.label_smoothing = temperature, label_smoothing

    def forward(self, student, teacher, batch) -> dict:
        logits = self.student_logits(student, batch)
        return {"ce": self.cross_entropy(logits, batch), "kd": self.token_kl(logits, teacher, batch)}
