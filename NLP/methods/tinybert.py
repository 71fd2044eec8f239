"""TinyBERT's task distillation (Jiao et al. 2020, "TinyBERT: Distilling BERT for Natural Language Understanding",
sec. 3.1, Transformer Distillation): the student's hidden states and attention maps regressed onto the teacher's
mapped layers, and its predictions onto the teacher's.

L = (1 - alpha) CE(y, z_s) + alpha T^2 KL(p_t^T || p_s^T)                                        (prediction)
    + hidden_weight    sum_{l=0..L_s} MSE(h_s^l W_l, h_t^{l k}) / (L_s + 1)                       (eq. 8)
    + attention_weight sum_{l=1..L_s} MSE(A_s^l, A_t^{l k}) / L_s                                 (eq. 7)

with k = L_t / L_s (TinyBERT's uniform layer map; hidden state 0 is the embeddings) and W_l a learned
projection from the student's width to the teacher's (:class:`kd.common.losses.transformer.HiddenProjection`,
trained and checkpointed with the method). The losses are :func:`~kd.common.losses.transformer.hidden_state_mse`
and :func:`~kd.common.losses.transformer.attention_map_loss` (on the post-softmax maps, before dropout).
``attention_heads``: ``none`` compares head by head (TinyBERT: equal head counts), ``mean`` compares head-averaged
maps (a student with fewer heads). ``feature_epochs = N > 0`` trains in the two steps of TinyBERT's task-specific
distillation (its experimental setup: intermediate layers first, then the prediction layer): the first N epochs
the hidden and attention terms alone, then the prediction terms alone; 0 trains all jointly. (TinyBERT's "two-stage
learning" is another pair: general distillation in pre-training, then this task-specific one.)

It reads the teacher's hidden states and attentions on every batch (``distill.mode=online``; cached logits cannot
replace them) and compares token positions, so the student must be a transformers model on the teacher's
tokenizer (small_bert).
"""
from __future__ import annotations

from typing import Mapping

from torch import nn

from kd.common.losses import soft_target_kl
from kd.common.losses.transformer import HiddenProjection, attention_map_loss, hidden_state_mse
from kd.common.utils.errors import ConfigError
from kd.nlp.methods.classification import CLASSIFICATION_METHODS, ClassificationMethod, transformer_config

PREDICTION_TERMS = ("ce", "kd")
FEATURE_TERMS = ("hidden", "attention")
ATTENTION_HEADS = ("none", "mean")


@CLASSIFICATION_METHODS.register("tinybert")
class TinyBERT(ClassificationMethod):
    teacher_outputs = ("logits", "hidden_states", "attentions")
    works_offline = False
    needs_same_tokenizer = True

    def __init__(self, teacher=None, student=None, temperature: float = 4.0, alpha: float = 0.5,
                 hidden_weight: float = 1.0, attention_weight: float = 1.0, attention_heads: str = "mean",
                 feature_epochs: int = 0):
        super().__init__({"ce": 1.0 - alpha, "kd": alpha, "hidden": hidden_weight, "attention": attention_weight})
        self.check_settings({"attention_heads": attention_heads, "feature_epochs": feature_epochs})
        self.temperature, self.attention_heads = temperature, attention_heads
        self.feature_epochs, self.epoch = feature_epochs, 0
        s_config = transformer_config(student, "student", "tinybert")
        t_config = transformer_config(teacher, "teacher", "tinybert")
        s_heads, t_heads = s_config.num_attention_heads, t_config.num_attention_heads
        if attention_heads == "none" and s_heads != t_heads:
            raise ConfigError(f"methods.tinybert.attention_heads=none compares the attention maps head by head, but "
                              f"the student has {s_heads} heads and the teacher {t_heads}: set "
                              f"methods.tinybert.attention_heads=mean (head-averaged maps) or "
                              f"student.num_heads={t_heads}")
        self.student_layers, self.teacher_layers = s_config.num_hidden_layers, t_config.num_hidden_layers
        if self.teacher_layers < self.student_layers:
            raise ConfigError(f"tinybert maps student layer l to teacher layer l * k, k = teacher layers / student "
                              f"layers, but the student has {self.student_layers} layers and the teacher "
                              f"{self.teacher_layers}: set student.num_layers <= {self.teacher_layers}")
        self.projections = nn.ModuleList(HiddenProjection(s_config.hidden_size, t_config.hidden_size)
                                         for _ in range(self.student_layers + 1))

    @classmethod
    def check_settings(cls, settings: Mapping) -> None:
        """``attention_heads`` one of :data:`ATTENTION_HEADS`, ``feature_epochs`` a whole number >= 0 (whether the
        head counts allow ``none`` is known only from the models, checked when it is built)."""
        if settings.get("attention_heads", ATTENTION_HEADS[0]) not in ATTENTION_HEADS:
            raise ConfigError(f"methods.tinybert.attention_heads={settings['attention_heads']!r}; choose one of: "
                              f"{', '.join(ATTENTION_HEADS)}")
        epochs = settings.get("feature_epochs", 0)
        if not isinstance(epochs, int) or epochs < 0:
            raise ConfigError(f"methods.tinybert.feature_epochs={epochs!r} must be a whole number >= 0")

    def set_epoch(self, epoch: int) -> None:
        """Called by the Distiller before each epoch (0-based): picks the stage of a two-stage run."""
        self.epoch = epoch

    def active_terms(self) -> tuple[str, ...]:
        """The terms this epoch computes: all four, or one stage's (``feature_epochs``)."""
        if not self.feature_epochs:
            return PREDICTION_TERMS + FEATURE_TERMS
        return FEATURE_TERMS if self.epoch < self.feature_epochs else PREDICTION_TERMS

    def _teacher_index(self, student_index: int, attention: bool) -> int:
        ratio = self.teacher_layers // max(1, self.student_layers)
        return (student_index + 1) * ratio - 1 if attention else student_index * ratio

    def forward(self, student, teacher, batch) -> dict:
        active = self.active_terms()
        features = "hidden" in active
        s_out = self.student_forward(student, batch, hidden_states=features, attentions=features)
        t_out = self.teacher_forward(teacher, batch, hidden_states=features, attentions=features)
        self.same_classes(s_out.logits, t_out["logits"])
        terms = {}
        if "ce" in active:
            terms["ce"] = self.cross_entropy(s_out.logits, batch)
            terms["kd"] = soft_target_kl(s_out.logits, t_out["logits"], self.temperature)
        if features:
            mask = batch["inputs"]["student"]["attention_mask"].bool()
            terms["hidden"] = sum(
                hidden_state_mse(h, t_out["hidden_states"][self._teacher_index(i, False)], proj, mask)
                for i, (h, proj) in enumerate(zip(s_out.hidden_states, self.projections))
            ) / len(self.projections)
            terms["attention"] = sum(
                attention_map_loss(a, t_out["attentions"][self._teacher_index(i, True)], mask, self.attention_heads)
                for i, a in enumerate(s_out.attentions)
            ) / len(s_out.attentions)
        return terms
