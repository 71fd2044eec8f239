"""Sequence- and word-level knowledge distillation combined (Kim & Rush 2016, "Seq-KD + Word-KD" in their tables):
word-level KD's loss (:mod:`kd.nlp.methods.word_kd`) on the teacher's beam outputs (:mod:`kd.nlp.methods.seq_kd`),

L = (1 - alpha) CE(y^_t | y^_<t, x) + alpha T^2 sum_t KL(p_teacher(. | y^_<t, x) || p_student(. | y^_<t, x)) / N,

y^ the teacher's beam-search output (beam ``beam_size``) replacing the reference. ``alpha=0.5, temperature=1.0`` is
the earlier ``distill.weights={ce: 0.5, kd: 0.5} distill.targets=teacher_beam``.
"""
from __future__ import annotations

from kd.nlp.methods.seq2seq import TRANSLATION_METHODS, TranslationMethod


@TRANSLATION_METHODS.register("seq_word_kd")
class SeqWordKD(TranslationMethod):
    teacher_outputs = ("beam_outputs", "logits")

    def __init__(self, alpha: float = 0.5, temperature: float = 1.0, beam_size: int = 4, label_smoothing: float = 0.0):
        super().__init__({"ce": 1.0 - alpha, "kd": alpha})
        self.temperature, self.beam_size, self.label_smoothing = temperature, beam_size, label_smoothing

    def forward(self, student, teacher, batch) -> dict:
        logits = self.student_logits(student, batch)
        return {"ce": self.cross_entropy(logits, batch), "kd": self.token_kl(logits, teacher, batch)}
