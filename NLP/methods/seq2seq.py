"""Translation distillation methods by name (Kim & Rush 2016, "Sequence-Level Knowledge Distillation"): one file per
idea, each registered in :data:`TRANSLATION_METHODS`, selected by ``method.name`` and built with its own config
section ``methods.<name>`` (the ``translation:`` section of NLP/configs/default.yaml lists every argument at its
default).

``method.name``  loss (file)                                                       reads from the teacher
supervised       CE(y_t | y_<t, x) on the references, no teacher (here)             nothing
word_kd          (1 - alpha) CE + alpha T^2 sum_t KL(p_t || q_t), sec. 3.1          logits per target token
                 (word_kd.py)
seq_kd           CE on the teacher's beam outputs, which replace the references,    beam outputs
                 sec. 3.2 (seq_kd.py)
seq_word_kd      word_kd's loss on the teacher's beam outputs (Kim & Rush's          beam outputs, logits per token
                 Seq-KD + Word-KD; seq_word_kd.py)

Both models are teacher-forced on the same target prefix (the reference, or the teacher's beam output); the KL runs
over the non-padding target positions and needs one target vocabulary. Every method declares, as the class attribute
``teacher_outputs``, what the task must give it: ``"beam_outputs"``, the teacher's beam-search translations of the
training sources (decoded once before training, at the method's ``beam_size``, and cached: ``distill.cache_dir``),
and/or ``"logits"``, the teacher's per-token logits on every batch (``needs_teacher``). The task reads these
declarations, not the loss terms. Each term a method names is computed and logged; its weight (0 included) only sets
its share of the total. ``label_smoothing`` is the CE's (0: the plain CE of the README's runs).

Add a method: a :class:`TranslationMethod` subclass in ``methods/<name>.py`` decorated with
``@TRANSLATION_METHODS.register("<name>")``, one import line in ``methods/__init__.py``, and its arguments under
``methods.<name>`` in the ``translation:`` section of NLP/configs/default.yaml (every translation key, with its
default).
"""
from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor

from kd.common.engine import DistillationMethod, teacher_forward
from kd.common.losses import soft_target_kl
from kd.common.utils.registry import Registry
from kd.nlp.methods.vocabulary_check import require_same_outputs

TRANSLATION_METHODS: Registry = Registry("translation method")


class TranslationMethod(DistillationMethod):
    """Base class: the declaration ``teacher_outputs`` (see the module docstring) and the terms every method shares.

    A batch is the :class:`~kd.nlp.data.Seq2SeqCollator`'s: ``src``, ``src_mask``, ``tgt_in``, ``tgt_out``,
    ``tgt_mask``; its targets are the teacher's beam outputs when the method declares ``"beam_outputs"``.
    """

    teacher_outputs: tuple[str, ...] = ()
    beam_size: int = 0  # the teacher's beam for "beam_outputs"

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls.needs_teacher = "logits" in cls.teacher_outputs  # a teacher forward on every batch
        cls.uses_beam_outputs = "beam_outputs" in cls.teacher_outputs

    @staticmethod
    def student_logits(student, batch: dict) -> Tensor:
        return student(batch["src"], batch["src_mask"], batch["tgt_in"])

    def cross_entropy(self, logits: Tensor, batch: dict) -> Tensor:
        """CE of the batch's target tokens (padding left out), label-smoothed by ``self.label_smoothing``."""
        mask = batch["tgt_mask"]
        return F.cross_entropy(logits[mask].float(), batch["tgt_out"][mask], label_smoothing=self.label_smoothing)

    def token_kl(self, logits: Tensor, teacher, batch: dict) -> Tensor:
        """T^2 KL(teacher || student) per target token at ``self.temperature``, mean over the non-padding ones, both
        models teacher-forced on ``tgt_in``."""
        t_logits = teacher_forward(teacher, batch["src"], batch["src_mask"], batch["tgt_in"])
        require_same_outputs(logits, t_logits, "target-vocabulary tokens")
        return soft_target_kl(logits, t_logits, self.temperature, mask=batch["tgt_mask"])


@TRANSLATION_METHODS.register("supervised")
class Supervised(TranslationMethod):
    """The student trained alone on the references (and how ``train_teacher`` trains a from-scratch teacher):
    L = CE(y_t | y_<t, x)."""

    teacher_outputs = ()

    def __init__(self, label_smoothing: float = 0.0):
        super().__init__({"ce": 1.0})
        self.label_smoothing = label_smoothing

    def forward(self, student, teacher, batch) -> dict:
        return {"ce": self.cross_entropy(self.student_logits(student, batch), batch)}
