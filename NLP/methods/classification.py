"""Text-classification distillation methods by name: one file per paper or idea, each registered in
:data:`CLASSIFICATION_METHODS` and selected by ``method.name``, with its own config section ``methods.<name>``.

``method.name``  loss (file)                                            reads from the teacher  offline  tokenizer
supervised       CE(y, z_s), no teacher (supervised.py)                  nothing                 -        any
kd               (1 - alpha) CE + alpha T^2 KL(p_t^T || p_s^T) (kd.py)   logits                  yes      any
logit_mse        (1 - alpha) CE + alpha ||z_s - z_t||^2 / C              logits                  yes      any
tinybert         prediction + hidden-state + attention-map MSE           + hidden states, attns  no       teacher's
distilbert       prediction + cosine of the last hidden states           + hidden states         no       teacher's

Every method is built as ``CLASSIFICATION_METHODS.get(name)(teacher=..., student=..., **settings)``, ``settings``
being its section ``methods.<name>`` (the ``classification:`` section of NLP/configs/default.yaml lists every
constructor argument there with its default), and declares, as class attributes, what the task must give it:

- ``teacher_outputs``: what it reads from the teacher on a batch (``()``: no teacher at all; ``("logits",)``;
  or with ``"hidden_states"`` / ``"attentions"``), so ``needs_teacher`` is ``bool(teacher_outputs)``;
- ``works_offline``: whether the teacher's cached training-set logits (``distill.mode=offline``) can replace the
  teacher on every batch (only methods that read the logits alone);
- ``needs_same_tokenizer``: whether it compares token positions, so the student must read the teacher's tokenizer
  (not the BiLSTM's own vocabulary, not a pretrained student's);

and, with :meth:`ClassificationMethod.check_settings`, which values of its settings it takes, checked with the config
before the run folder exists.

The task (:mod:`kd.nlp.tasks.classification`) reads these declarations, not the loss terms. Every term a method
names is computed and logged (in tinybert's two stages, the stage's terms); its weight (0 included) only sets its
share of the total, as in :class:`~kd.common.engine.DistillationMethod`. Add a method: a subclass of
:class:`ClassificationMethod` in ``methods/<name>.py`` decorated with ``@CLASSIFICATION_METHODS.register("<name>")``,
one import line in ``methods/__init__.py``, and its arguments under ``methods.<name>`` in the ``classification:``
section of NLP/configs/default.yaml.
"""
from __future__ import annotations

from typing import Mapping

from torch import Tensor

from kd.common.engine import DistillationMethod, teacher_forward
from kd.common.losses import labelled_cross_entropy
from kd.common.utils.errors import ConfigError, KDError
from kd.common.utils.registry import Registry
from kd.nlp.methods.vocabulary_check import require_same_outputs

CLASSIFICATION_METHODS: Registry = Registry("classification method")
# The arguments the task gives every method (the rest come from its config section ``methods.<name>``).
SUPPLIED = ("teacher", "student")


class ClassificationMethod(DistillationMethod):
    """Base class: the declarations (see the module docstring) and the forwards every method shares.

    A batch is ``{"inputs": {"student": ..., "teacher": ...}, "labels": ...}`` (each role's tokenizer output), plus
    ``"teacher_logits"`` in offline mode.
    """

    teacher_outputs: tuple[str, ...] = ("logits",)
    works_offline: bool = True
    needs_same_tokenizer: bool = False
    # every method's hard-label term is :meth:`cross_entropy`, which skips UNLABELLED sentences (the augmented
    # transfer set, ``distill.augment``); its other terms read the teacher, which labels every sentence
    learns_from_unlabelled = True

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls.needs_teacher = bool(cls.teacher_outputs)
        cls.uses_teacher_features = any(o != "logits" for o in cls.teacher_outputs)

    @classmethod
    def check_settings(cls, settings: Mapping) -> None:
        """A ConfigError for a value of ``settings`` (the section ``methods.<name>``) this method cannot take, found
        from the config alone, before any data or model is loaded; the constructor checks its arguments the same way.
        None to check here; a method with such settings overrides it."""

    @staticmethod
    def cross_entropy(student_logits: Tensor, batch: dict) -> Tensor:
        """Hard-label cross-entropy on the batch's labelled sentences (:func:`kd.common.losses.labelled_cross_entropy`:
        those labelled UNLABELLED, the augmented ones, are skipped)."""
        return labelled_cross_entropy(student_logits, batch["labels"])

    @staticmethod
    def student_forward(student, batch: dict, hidden_states: bool = False, attentions: bool = False):
        extra = {"output_hidden_states": True} if hidden_states else {}
        if attentions:
            extra["output_attentions"] = True
        return student(**batch["inputs"]["student"], **extra)

    @staticmethod
    def teacher_forward(teacher, batch: dict, hidden_states: bool = False, attentions: bool = False) -> Mapping:
        """The teacher's outputs (a mapping, read by key: ``logits``, ``hidden_states``, ``attentions``). Logits
        alone come from the batch's cached ``teacher_logits`` when it has them (offline: no teacher forward)."""
        if "teacher_logits" in batch and not (hidden_states or attentions):
            return {"logits": batch["teacher_logits"]}
        extra = {"output_hidden_states": True} if hidden_states else {}
        if attentions:
            extra["output_attentions"] = True
        return teacher_forward(teacher, **batch["inputs"]["teacher"], **extra)

    @staticmethod
    def same_classes(student_logits: Tensor, teacher_logits: Tensor) -> None:
        require_same_outputs(student_logits, teacher_logits, "classes")


def transformer_config(model, role: str, method: str):
    """``model.config`` of a transformers model, or a one-line KDError: the feature methods read its layer count
    and sizes and ask it for ``output_hidden_states`` / ``output_attentions``."""
    config = getattr(model, "config", None)
    if config is None or not hasattr(config, "num_hidden_layers"):
        raise KDError(f"method.name={method} reads the {role}'s hidden states layer by layer, as transformers models "
                      f"return them (output_hidden_states); this {role} is not such a model: distil its logits "
                      "(method.name=kd or logit_mse)")
    return config


def check_method_fits(name: str, mode: str, shares_tokenizer: bool | None = None, student_arch: str = "") -> None:
    """The declarations of method ``name`` against the run: ``distill.mode=offline`` needs a method that works from
    cached logits, and a method that compares token positions needs a student on the teacher's tokenizer
    (``shares_tokenizer``; None: not known yet)."""
    cls = CLASSIFICATION_METHODS.get(name)
    if mode == "offline" and cls.needs_teacher and not cls.works_offline:
        reads = " and ".join(o.replace("_", " ") for o in cls.teacher_outputs if o != "logits")
        raise ConfigError(f"method.name={name} reads the teacher's {reads} on every batch, which cached logits cannot "
                          "replace: pass distill.mode=online")
    if shares_tokenizer is False and cls.needs_same_tokenizer:
        raise KDError(f"method.name={name} compares token positions, so the student must use the teacher's tokenizer; "
                      f"this student{f' (student.arch={student_arch})' if student_arch else ''} has its own "
                      "vocabulary: distil logits only (method.name=kd or logit_mse)")
