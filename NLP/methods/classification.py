"""Text-classification distillation: hard-label CE, soft-target KL, logit MSE and, for BERT students that
share the teacher's tokenizer, TinyBERT hidden-state and attention losses and DistilBERT's cosine loss.

L = w_ce CE(y, z_s) + w_kd T^2 KL(p_t^T || p_s^T) + w_mse ||z_s - z_t||^2 / C
    + w_hidden sum_l MSE(h_s^l W_l, h_t^{g(l)}) / (L_s + 1) + w_attention sum_l MSE(A_s^l, A_t^{g'(l)}) / L_s
    + w_cosine (1 - cos(h_s^L, h_t^L))

Layer maps are TinyBERT's uniform strategy: hidden state l of the student (0 = embeddings) matches
teacher hidden state l * L_t / L_s; student attention layer l matches teacher layer (l+1) * L_t / L_s - 1.
Only the terms named in ``weights`` are computed. With cached teacher logits in the batch (offline
mode) and only logit terms, the teacher is not run at all.

``feature_epochs = N > 0`` trains in TinyBERT's two stages (Jiao et al. 2020, sec. 3.3): the first N
epochs the position-wise terms alone (hidden, attention, cosine), the remaining epochs the prediction
terms alone (ce, kd, mse). ``N = 0`` trains every term jointly.
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
        feature_epochs: epochs of the position-wise terms alone before the prediction terms (0: jointly).
    """

    def __init__(self, weights: Mapping[str, float], temperature: float = 4.0, shares_tokenizer: bool = True,
                 student_layers: int = 0, student_hidden: int = 0, teacher_layers: int = 0, teacher_hidden: int = 0,
                 attention_heads: str = "none", feature_epochs: int = 0):
        super().__init__(weights)
        unknown = sorted(set(self.weights) - set(ALL_TERMS))
        if unknown:
            raise ConfigError(f"unknown classification loss term(s) {unknown}; choose from {', '.join(ALL_TERMS)}")
        position_terms = [t for t in POSITION_TERMS if t in self.weights]
        if position_terms and not shares_tokenizer:
            raise KDError(f"loss term(s) {position_terms} compare token positions, so the student must use the "
                          "teacher's tokenizer; this student has its own vocabulary: distil logits only (ce, kd, mse)")
        if feature_epochs and not (position_terms and set(self.weights) - set(POSITION_TERMS)):
            raise ConfigError("distill.feature_epochs trains position-wise terms first and prediction terms after: "
                              f"name both kinds in distill.weights (got {sorted(self.weights)})")
        self.temperature, self.attention_heads = temperature, attention_heads
        self.feature_epochs, self.epoch = feature_epochs, 0
        self.needs_teacher = any(t in self.weights for t in LOGIT_TERMS + POSITION_TERMS)
        self.student_layers, self.teacher_layers = student_layers, teacher_layers
        self.projections = nn.ModuleList(
            HiddenProjection(student_hidden, teacher_hidden) for _ in range(student_layers + 1)
        ) if "hidden" in self.weights else nn.ModuleList()

    def set_epoch(self, epoch: int) -> None:
        """Called by the Distiller before each epoch (0-based): picks the stage of a two-stage run."""
        self.epoch = epoch

    def active_terms(self) -> set[str]:
        """The terms this epoch computes: all of ``weights``, or one stage's share of them."""
        if not self.feature_epochs:
            return set(self.weights)
        stage = set(POSITION_TERMS) if self.epoch < self.feature_epochs else {"ce", *LOGIT_TERMS}
        return set(self.weights) & stage

    def _teacher_index(self, student_index: int, attention: bool) -> int:
        ratio = self.teacher_layers // max(1, self.student_layers)
        return (student_index + 1) * ratio - 1 if attention else student_index * ratio

    def forward(self, student, teacher, batch) -> dict:
        active = self.active_terms()
        want_hidden = any(t in active for t in ("hidden", "cosine"))
        want_attention = "attention" in active
        extra = {"output_hidden_states": True} if want_hidden else {}
        if want_attention:
            extra["output_attentions"] = True
        s_out = student(**batch["inputs"]["student"], **extra)
        terms = {}
        if "ce" in active:
            terms["ce"] = F.cross_entropy(s_out.logits.float(), batch["labels"])
        if not active & set(LOGIT_TERMS + POSITION_TERMS):
            return terms
        if "teacher_logits" in batch and not (want_hidden or want_attention):
            t_logits, t_out = batch["teacher_logits"], None
        else:
            t_out = teacher_forward(teacher, **batch["inputs"]["teacher"], **extra)  # a dict: read by key
            t_logits = t_out["logits"]
        require_same_outputs(s_out.logits, t_logits, "classes")
        if "kd" in active:
            terms["kd"] = soft_target_kl(s_out.logits, t_logits, self.temperature)
        if "mse" in active:
            terms["mse"] = logit_mse(s_out.logits, t_logits)
        mask = batch["inputs"]["student"]["attention_mask"].bool()
        if "hidden" in active:
            terms["hidden"] = sum(
                hidden_state_mse(h, t_out["hidden_states"][self._teacher_index(i, False)], proj, mask)
                for i, (h, proj) in enumerate(zip(s_out.hidden_states, self.projections))
            ) / len(self.projections)
        if want_attention:
            terms["attention"] = sum(
                attention_map_loss(a, t_out["attentions"][self._teacher_index(i, True)], mask, self.attention_heads)
                for i, a in enumerate(s_out.attentions)
            ) / len(s_out.attentions)
        if "cosine" in active:
            terms["cosine"] = cosine_embedding_loss(s_out.hidden_states[-1], t_out["hidden_states"][-1], mask)
        return terms
