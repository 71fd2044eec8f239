"""Translation distillation, word level (Kim & Rush 2016, "Sequence-Level Knowledge Distillation", sec. 3.1).

L = w_ce CE(y_t | y_<t, x) + w_kd T^2 sum_t KL(p_teacher(. | y_<t, x) || p_student(. | y_<t, x)),
over the non-padding target positions, both models teacher-forced on the same reference prefix.
Sequence-level KD (sec. 3.2) needs no term of its own: the training targets are replaced by the
teacher's beam-search outputs (``kd.nlp.generation.beam_search``) and the student is trained with ``ce``
(plus ``kd`` for their combination). The teacher and student must share the target vocabulary.
"""
from __future__ import annotations

from typing import Mapping

import torch.nn.functional as F

from kd.common.engine import DistillationMethod, teacher_forward
from kd.common.losses import soft_target_kl
from kd.common.utils.errors import ConfigError
from kd.nlp.methods.vocabulary_check import require_same_outputs


class Seq2SeqKD(DistillationMethod):
    def __init__(self, weights: Mapping[str, float], temperature: float = 1.0, label_smoothing: float = 0.0):
        super().__init__(weights)
        unknown = sorted(set(self.weights) - {"ce", "kd"})
        if unknown:
            raise ConfigError(f"unknown translation loss term(s) {unknown}; choose from ce, kd")
        self.temperature, self.label_smoothing = temperature, label_smoothing
        self.needs_teacher = "kd" in self.weights

    def forward(self, student, teacher, batch) -> dict:
        logits = student(batch["src"], batch["src_mask"], batch["tgt_in"])
        mask = batch["tgt_mask"]
        terms = {}
        if "ce" in self.weights:
            terms["ce"] = F.cross_entropy(logits[mask].float(), batch["tgt_out"][mask],
                                          label_smoothing=self.label_smoothing)
        if "kd" in self.weights:
            t_logits = teacher_forward(teacher, batch["src"], batch["src_mask"], batch["tgt_in"])
            require_same_outputs(logits, t_logits, "target-vocabulary tokens")
            terms["kd"] = soft_target_kl(logits, t_logits, self.temperature, mask=mask)
        return terms
