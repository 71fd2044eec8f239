"""DistilBERT's distillation loss (Sanh et al. 2019, "DistilBERT, a distilled version of BERT: smaller, faster,
cheaper and lighter", sec. 2), for a classifier: the supervised loss, the soft-target loss and the cosine
embedding loss that aligns the directions of the student's and the teacher's last hidden states.

L = (1 - alpha) CE(y, z_s) + alpha T^2 KL(p_t^T || p_s^T) + cosine_weight mean_i (1 - cos(h_s,i^L, h_t,i^L))

over the real tokens i (:func:`kd.common.losses.soft_target_kl`,
:func:`kd.common.losses.transformer.cosine_embedding_loss`). DistilBERT pairs it with its initialisation from
alternate teacher layers (``student.init=teacher``), which also gives the equal hidden size the cosine needs.
It reads the teacher's last hidden states on every batch (``distill.mode=online``) and compares token positions,
so the student must be a transformers model on the teacher's tokenizer, as wide as the teacher.
"""
from __future__ import annotations

from kd.common.losses import soft_target_kl
from kd.common.losses.transformer import cosine_embedding_loss
from kd.common.utils.errors import ConfigError
from kd.nlp.methods.classification import CLASSIFICATION_METHODS, ClassificationMethod, transformer_config


@CLASSIFICATION_METHODS.register("distilbert")
class DistilBERT(ClassificationMethod):
    teacher_outputs = ("logits", "hidden_states")
    works_offline = False
    needs_same_tokenizer = True

    def __init__(self, teacher=None, student=None, temperature: float = 4.0, alpha: float = 0.5,
                 cosine_weight: float = 1.0):
        super().__init__({"ce": 1.0 - alpha, "kd": alpha, "cosine": cosine_weight})
        self.temperature = temperature
        s_width = transformer_config(student, "student", "distilbert").hidden_size
        t_width = transformer_config(teacher, "teacher", "distilbert").hidden_size
        if s_width != t_width:
            raise ConfigError(f"method.name=distilbert compares the last hidden states by their cosine, so the student "
                              f"must be as wide as the teacher: student.hidden_size={s_width} vs the teacher's "
                              f"{t_width}; set student.hidden_size={t_width} (e.g. with student.init=teacher), or use "
                              "method.name=tinybert, which learns a projection")

    def forward(self, student, teacher, batch) -> dict:
        s_out = self.student_forward(student, batch, hidden_states=True)
        t_out = self.teacher_forward(teacher, batch, hidden_states=True)
        self.same_classes(s_out.logits, t_out["logits"])
        mask = batch["inputs"]["student"]["attention_mask"].bool()
        return {"ce": self.cross_entropy(s_out.logits, batch),
                "kd": soft_target_kl(s_out.logits, t_out["logits"], self.temperature),
                "cosine": cosine_embedding_loss(s_out.hidden_states[-1], t_out["hidden_states"][-1], mask)}
