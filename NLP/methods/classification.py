"""Text-classification distillation: hard-label CE, soft-target KL, logit MSE and, for BERT students that
share the teacher's tokenizer, TinyBERT hidden-state and attention losses and DistilBERT's cosine loss.

L = w_ce CE(y, z_s) + w_kd T^2 KL(p_t^T || p_s^T) + w_mse ||z_s - z_t||^2 / C
    + w_hidden sum_l MSE(h_s^l W_l, h_t^{g(l)}) / (L_s + 1) + w_attention sum_l MSE(A_s^l, A_t^{g'(l)}) / L_s
    + w_cosine (1 - cos(h_s^L, h_t^L))

Layer maps are TinyBERT's uniform strategy: hidden state l of the student (0 = embeddings) matches
teacher hidden state l * L_t / L_s; student attention layer l matches teacher layer (l+1) * L_t / L_s - 1.
Only the terms named in ``weights`` are computed. With cached teacher logits in the batch (offline
mode) and only logit terms, the teacher is not run at all.
"""
from __future__ import annotations

from typing import Mapping

import torch.nn.functional as F
from torch import nn

from kd.common.engine import DistillationMethod, teacher_forward
from kd.common.losses import logit_mse, soft_target_kl
from kd.common.losses.transformer import HiddenProjection, attention_map_loss, cosine_embedding_loss, hidden_state_mse
from kd.common.utils.errors import ConfigError, KDError
from kd.nlp.methods.vocabulary_check import require_same_outputs

LOGIT_TERMS = ("kd", "mse")
POSITION_TERMS = ("hidden", "attention", "cosine")  # compare token positions: need the teacher's tokenizer
ALL_TERMS = ("ce",) + LOGIT_TERMS + POSITION_TERMS


class ClassificationKD(DistillationMethod):
    """Args:
        weights: term -> weight, for the terms to compute (subset of ce, kd, mse, hidden, attention, cosine).
        temperature: T of the soft-target KL.
        shares_tokenizer: whether the student reads the teacher's token ids (False for the BiLSTM).
        student_layers, student_hidden, teacher_layers, teacher_hidden: sizes for the layer maps and projections.
        attention_heads: ``none`` (TinyBERT: equal head counts) or ``mean`` (compare head-averaged maps).
    """

    def __init__(self, weights: Mapping[str, float], temperature: float = 4.0, shares_tokenizer: bool = True,
                 student_layers: int = 0, student_hidden: int = 0, teacher_layers: int = 0, teacher_hidden: int = 0,
                 attention_heads: str = "none"):
        super().__init__(weights)
        unknown = sorted(set(self.weights) - set(ALL_TERMS))
        if unknown:
            raise ConfigError(f"unknown classification loss term(s) {unknown}; choose from {', '.join(ALL_TERMS)}")
        position_terms = [t for t in POSITION_TERMS if t in self.weights]
        if position_terms and not shares_tokenizer:
            raise KDError(f"loss term(s) {position_terms} compare token positions, so the student must use the "
                          "teacher's tokenizer; this student has its own vocabulary: distil logits only (ce, kd, mse)")
        self.temperature, self.attention_heads = temperature, attention_heads
        self.needs_teacher = any(t in self.weights for t in LOGIT_TERMS + POSITION_TERMS)
        self.student_layers, self.teacher_layers = student_layers, teacher_layers
        self.projections = nn.ModuleList(
            HiddenProjection(student_hidden, teacher_hidden) for _ in range(student_layers + 1)
        ) if "hidden" in self.weights else nn.ModuleList()

    def _teacher_index(self, student_index: int, attention: bool) -> int:
        ratio = self.teacher_layers // max(1, self.student_layers)
        return (student_index + 1) * ratio - 1 if attention else student_index * ratio

    def forward(self, student, teacher, batch) -> dict:
        want_hidden = any(t in self.weights for t in ("hidden", "cosine"))
        want_attention = "attention" in self.weights
        extra = {"output_hidden_states": True} if want_hidden else {}
        if want_attention:
            extra["output_attentions"] = True
        s_out = student(**batch["inputs"]["student"], **extra)
        terms = {}
        if "ce" in self.weights:
            terms["ce"] = F.cross_entropy(s_out.logits.float(), batch["labels"])
        if not self.needs_teacher:
            return terms
        if "teacher_logits" in batch and not (want_hidden or want_attention):
            t_logits, t_out = batch["teacher_logits"], None
        else:
            t_out = teacher_forward(teacher, **batch["inputs"]["teacher"], **extra)  # a dict: read by key
            t_logits = t_out["logits"]
        require_same_outputs(s_out.logits, t_logits, "classes")
        if "kd" in self.weights:
            terms["kd"] = soft_target_kl(s_out.logits, t_logits, self.temperature)
        if "mse" in self.weights:
            terms["mse"] = logit_mse(s_out.logits, t_logits)
        mask = batch["inputs"]["student"]["attention_mask"].bool()
        if "hidden" in self.weights:
            terms["hidden"] = sum(
                hidden_state_mse(h, t_out["hidden_states"][self._teacher_index(i, False)], proj, mask)
                for i, (h, proj) in enumerate(zip(s_out.hidden_states, self.projections))
            ) / len(self.projections)
        if want_attention:
            terms["attention"] = sum(
                attention_map_loss(a, t_out["attentions"][self._teacher_index(i, True)], mask, self.attention_heads)
                for i, a in enumerate(s_out.attentions)
            ) / len(s_out.attentions)
        if "cosine" in self.weights:
            terms["cosine"] = cosine_embedding_loss(s_out.hidden_states[-1], t_out["hidden_states"][-1], mask)
        return terms
