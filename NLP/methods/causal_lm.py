"""Causal-LM distillation methods by name: each registered in :data:`LM_METHODS`, selected by ``method.name`` and
built with its own config section ``methods.<name>`` (the ``language_model:`` section of NLP/configs/default.yaml lists
every argument at its default).

``method.name``  loss (file)                                                           reads from the teacher
supervised       mean_t -log q(w_{t+1} | w_<=t), no teacher (here)                      nothing
kd               (1 - alpha) CE + alpha T^2 mean_t KL(p(. | w_<=t) || q(. | w_<=t))     logits per token
                 (lm_kd.py; Hinton et al. 2015 on next-token distributions, DistilGPT2)

over the non-padding next-token positions; teacher and student must share the vocabulary. A method declares what it
reads from the teacher (``teacher_outputs``; ``needs_teacher`` follows), which the task reads instead of the terms.
Add a method: a :class:`LMMethod` subclass registered with ``@LM_METHODS.register("<name>")``, one import line in
``methods/__init__.py``, its arguments under ``methods.<name>`` in the ``language_model:`` section of
NLP/configs/default.yaml.
"""
from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor

from kd.common.engine import DistillationMethod, teacher_forward
from kd.common.losses import soft_target_kl
from kd.common.utils.registry import Registry
from kd.nlp.methods.vocabulary_check import require_same_outputs

LM_METHODS: Registry = Registry("language-model method")


def next_token_view(logits, input_ids, attention_mask):
    """Logits at positions 0..L-2, their targets (positions 1..L-1) and the mask of real target tokens."""
    return logits[:, :-1], input_ids[:, 1:], attention_mask[:, 1:].bool()


class LMMethod(DistillationMethod):
    """Base class: the declaration ``teacher_outputs`` and the terms every method shares. A batch is the
    :class:`~kd.nlp.data.CausalLMCollator`'s ``input_ids`` and ``attention_mask``."""

    teacher_outputs: tuple[str, ...] = ()

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls.needs_teacher = "logits" in cls.teacher_outputs

    @staticmethod
    def student_view(student, batch: dict) -> tuple[Tensor, Tensor, Tensor]:
        """The student's next-token logits, their targets and the mask of real targets."""
        ids, attn = batch["input_ids"], batch["attention_mask"]
        return next_token_view(student(input_ids=ids, attention_mask=attn).logits, ids, attn)

    @staticmethod
    def cross_entropy(logits: Tensor, targets: Tensor, mask: Tensor) -> Tensor:
        return F.cross_entropy(logits[mask].float(), targets[mask])

    def token_kl(self, logits: Tensor, teacher, batch: dict, mask: Tensor) -> Tensor:
        """T^2 KL(teacher || student) per next token at ``self.temperature``, mean over the real ones."""
        t_logits = teacher_forward(teacher, input_ids=batch["input_ids"],
                                   attention_mask=batch["attention_mask"])["logits"][:, :-1]
        require_same_outputs(logits, t_logits, "vocabulary tokens")
        return soft_target_kl(logits, t_logits, self.temperature, mask=mask)


@LM_METHODS.register("supervised")
class Supervised(LMMethod):
    """The student trained alone (and how ``train_teacher`` trains the teacher): L = mean_t -log q(w_{t+1} | w_<=t)."""

    teacher_outputs = ()

    def __init__(self):
        super().__init__({"ce": 1.0})

    def forward(self, student, teacher, batch) -> dict:
        return {"ce": self.cross_entropy(*self.student_view(student, batch))}
