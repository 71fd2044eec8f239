"""Sequence-level knowledge distillation (Kim & Rush 2016, "Sequence-Level Knowledge Distillation", sec. 3.2):

L = CE(y^_t | y^_<t, x),  y^ = the teacher's beam-search output for x (beam ``beam_size``),

the teacher's translations of the training sources replacing the references (decoded once before training and
cached, :func:`kd.nlp.tasks.translation._teacher_beam_targets`; :func:`kd.nlp.generation.beam_search`). No teacher
forward during training. ``beam_size=4`` is the earlier ``distill.weights={ce: 1.0} distill.targets=teacher_beam``
(the README's sequence-level row).
"""
from __future__ import annotations

from kd.nlp.methods.seq2seq import TRANSLATION_METHODS, TranslationMethod


@TRANSLATION_METHODS.register("seq_kd")
class SeqKD(TranslationMethod):
    teacher_outputs = ("beam_outputs",)

    def __init__(self, beam_size: int = 4, label_smoothing: float = 0.0):
        super().__init__({"ce": 1.0})
        self.beam_size, self.label_smoothing = beam_size, label_smoothing

    def forward(self, student, teacher, batch) -> dict:
        return {"ce": self.cross_entropy(self.student_logits(student, batch), batch)}
