"""The classification students by ``student.arch``: how each is built from the ``student`` config section, and
rebuilt from a checkpoint.

A builder returns the model, the tokenizer it reads and what a checkpoint needs to rebuild both. Add your own
student with one registration, ``@classification_student("my_student", model=MyModel)`` on its builder: then
``student.arch=my_student`` builds it, and a checkpoint saved under that name reloads as ``MyModel(**kwargs)``
(:func:`kd.nlp.model_zoo.load_nlp_model`). Methods that compare token positions (``method.name=tinybert``,
``distilbert``: ``needs_same_tokenizer``) need a student that reads the teacher's tokenizer and returns hidden states /
attentions as transformers do.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from torch import nn

from kd.common.utils.errors import ConfigError
from kd.common.utils.registry import Registry
from kd.nlp.data import WordTokenizer
from kd.nlp.student_model.bilstm import BiLSTMClassifier
from kd.nlp.student_model.init_from_teacher import init_from_teacher
from kd.nlp.student_model.small_bert import build_small_bert
from kd.nlp.teacher_model.hf_classifier import load_hf_classifier, load_hf_tokenizer
from kd.nlp.tokenizer_spec import tokenizer_spec


@dataclass
class BuiltStudent:
    model: nn.Module
    tokenizer: Any            # the teacher's (shared vocabulary) or the student's own
    kwargs: dict              # StudentArch.model(**kwargs) rebuilds the model from a checkpoint
    tokenizer_spec: dict      # kd.nlp.tokenizer_spec.tokenizer_spec of ``tokenizer``


@dataclass(frozen=True)
class StudentArch:
    """One ``student.arch``: ``build(section, num_labels, teacher, teacher_tokenizer, teacher_name, train_texts)``
    makes the student for a run; ``model(**BuiltStudent.kwargs)`` rebuilds it from a checkpoint saved under its name;
    ``reads``: the keys of the ``student`` section that make its model (None: not declared, nothing checked)."""
    build: Callable[..., BuiltStudent]
    model: Callable[..., nn.Module]
    reads: tuple[str, ...] | None = None


CLASSIFICATION_STUDENTS: Registry[StudentArch] = Registry("classification student (student.arch)")


def classification_student(name: str, model: Callable[..., nn.Module], reads: tuple[str, ...] | None = None):
    """Decorator: register the builder it decorates as ``student.arch=name``, ``model`` rebuilding its checkpoints;
    ``reads``, the ``student`` keys its model is made of, lets :func:`check_student_arch_keys` refuse another
    architecture's keys set for it."""
    def register(build: Callable[..., BuiltStudent]) -> Callable[..., BuiltStudent]:
        CLASSIFICATION_STUDENTS.register(name)(StudentArch(build, model, reads))
        return build

    return register


def check_student_arch_keys(section: dict, defaults: dict) -> None:
    """A key of the ``student`` section that another architecture reads and ``student.arch`` does not
    (``student.arch=bilstm student.num_layers=2``, ignored before) is refused in one line naming the key, what the arch
    takes and which archs read it, unless it holds its default (``defaults``: default.yaml's student section; a preset
    lists every key at its default), as :func:`kd.common.utils.registry.section_options` does for data sets. An arch
    registered without ``reads`` is not checked."""
    arch = section["arch"]
    own = CLASSIFICATION_STUDENTS.get(arch).reads
    if own is None:
        return
    for key in dict.fromkeys(k for other in CLASSIFICATION_STUDENTS.names()
                             for k in CLASSIFICATION_STUDENTS.get(other).reads or ()):
        if key in own or section.get(key, defaults.get(key)) == defaults.get(key):
            continue
        readers = [other for other in CLASSIFICATION_STUDENTS.names()
                   if key in (CLASSIFICATION_STUDENTS.get(other).reads or ())]
        takes = ", ".join(f"student.{k}" for k in own)
        raise ConfigError(f"student.{key}={section[key]!r} is not read by student.arch={arch} (it takes {takes}); "
                          f"drop it, or use student.arch={' or '.join(readers)}, which read{'s' * (len(readers) == 1)} "
                          "it")


@classification_student("small_bert", model=build_small_bert,
                        reads=("num_layers", "hidden_size", "num_heads", "intermediate_size", "init"))
def small_bert(section: dict, num_labels: int, teacher, teacher_tokenizer, teacher_name: str,
               train_texts: list[str]) -> BuiltStudent:
    """A BERT of ``num_layers`` x ``hidden_size`` on the teacher's tokenizer; ``init: teacher`` copies
    alternate teacher layers (DistilBERT), which needs the teacher's hidden size."""
    if teacher_tokenizer is None:
        raise ConfigError("student.arch=small_bert uses the teacher's tokenizer: pass teacher.checkpoint=...")
    kwargs = dict(num_labels=num_labels, vocab_size=len(teacher_tokenizer), num_layers=section["num_layers"],
                  hidden_size=section["hidden_size"], num_heads=section["num_heads"],
                  intermediate_size=section.get("intermediate_size"),
                  max_position_embeddings=teacher.config.max_position_embeddings)
    student = build_small_bert(**kwargs)
    if section.get("init", "random") == "teacher":
        picked = init_from_teacher(student, teacher)
        print(f"DistilBERT-style init: student layers <- teacher layers {picked}")
    return BuiltStudent(student, teacher_tokenizer, kwargs, tokenizer_spec(teacher_tokenizer, teacher_name))


@classification_student("bilstm", model=BiLSTMClassifier, reads=("embed_dim", "lstm_hidden", "min_freq"))
def bilstm(section: dict, num_labels: int, teacher, teacher_tokenizer, teacher_name: str,
           train_texts: list[str]) -> BuiltStudent:
    """Tang et al. (2019)'s BiLSTM on its own word vocabulary, built from the training texts, plus the teacher
    tokenizer's mask token when there is one (the masked words of an augmented transfer set, ``distill.augment``)."""
    mask_token = getattr(teacher_tokenizer, "mask_token", None)
    tokenizer = WordTokenizer.build(train_texts, min_freq=section.get("min_freq", 1), mask_token=mask_token)
    kwargs = dict(vocab_size=len(tokenizer), num_labels=num_labels, embed_dim=section["embed_dim"],
                  hidden_size=section["lstm_hidden"])
    return BuiltStudent(BiLSTMClassifier(**kwargs), tokenizer, kwargs, tokenizer_spec(tokenizer))


@classification_student("pretrained", model=load_hf_classifier, reads=("name", "pooling"))
def pretrained(section: dict, num_labels: int, teacher, teacher_tokenizer, teacher_name: str,
               train_texts: list[str]) -> BuiltStudent:
    """A pretrained model by hub id or save_pretrained folder (``student.name``, e.g. ``distilbert-base-uncased``)
    with a new head of ``num_labels`` outputs on its [CLS] state or on the mean of its token states
    (``student.pooling``, as ``teacher.pooling``), read with its own tokenizer: the logit methods (kd, logit_mse) apply
    to any, those that compare token positions (tinybert, distilbert) need the teacher's tokenizer and are refused."""
    name = section.get("name")
    if not name:
        raise ConfigError("student.arch=pretrained needs student.name=<hub id or save_pretrained folder>, e.g. "
                          "distilbert-base-uncased")
    kwargs = dict(name=name, num_labels=num_labels, pooling=section.get("pooling", "cls"))
    model = load_hf_classifier(**kwargs, key="student.name")
    return BuiltStudent(model, load_hf_tokenizer(name, key="student.name"), kwargs, tokenizer_spec(None, name))
