"""Causal-LM distillation: token-level KL on next-token distributions (as in DistilGPT-2, Sanh et al. 2019).

L = w_ce mean_t -log q(w_{t+1} | w_<=t) + w_kd T^2 mean_t KL(p(. | w_<=t) || q(. | w_<=t)),
over the non-padding next-token positions. Teacher and student must share the vocabulary.
"""
from __future__ import annotations

from typing import Mapping

import torch.nn.functional as F

from kd.common.engine import DistillationMethod, teacher_forward
from kd.common.losses import soft_target_kl
from kd.common.utils.errors import ConfigError
from kd.nlp.methods.vocabulary_check import require_same_outputs


def next_token_view(logits, input_ids, attention_mask):
    """Logits at positions 0..L-2, their targets (positions 1..L-1) and the mask of real target tokens."""
    return logits[:, :-1], input_ids[:, 1:], attention_mask[:, 1:].bool()


class CausalLMKD(DistillationMethod):
    def __init__(self, weights: Mapping[str, float], temperature: float = 1.0):
        super().__init__(weights)
        unknown = sorted(set(self.weights) - {"ce", "kd"})
        if unknown:
            raise ConfigError(f"unknown language-model loss term(s) {unknown}; choose from ce, kd")
        self.temperature = temperature
        self.needs_teacher = "kd" in self.weights

    def forward(self, student, teacher, batch) -> dict:
        ids, attn = batch["input_ids"], batch["attention_mask"]
        logits, targets, mask = next_token_view(student(input_ids=ids, attention_mask=attn).logits, ids, attn)
        terms = {}
        if "ce" in self.weights:
            terms["ce"] = F.cross_entropy(logits[mask].float(), targets[mask])
        if "kd" in self.weights:
            t_logits = teacher_forward(teacher, input_ids=ids, attention_mask=attn)["logits"][:, :-1]
            require_same_outputs(logits, t_logits, "vocabulary tokens")
            terms["kd"] = soft_target_kl(logits, t_logits, self.temperature, mask=mask)
        return terms
