"""How a classification student is built from the ``student`` config section (``student.arch``).

A builder returns the model, the tokenizer it reads and what a checkpoint needs to rebuild both. Add your
own student with ``@CLASSIFICATION_STUDENTS.register("my_student")`` and register its model class under
the same name in :data:`kd.nlp.model_zoo.NLP_MODELS`, so a saved checkpoint reloads; then
``student.arch=my_student`` selects it. Methods that compare token positions (``method.name=tinybert``,
``distilbert``: ``needs_same_tokenizer``) need a student that reads the teacher's tokenizer and returns hidden states /
attentions as transformers do.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from torch import nn

from kd.common.utils.errors import ConfigError
from kd.common.utils.registry import Registry
from kd.nlp.data import WordTokenizer
from kd.nlp.model_zoo import tokenizer_spec
from kd.nlp.student_model.bilstm import BiLSTMClassifier
from kd.nlp.student_model.init_from_teacher import init_from_teacher
from kd.nlp.student_model.small_bert import build_small_bert
from kd.nlp.teacher_model.hf_classifier import load_hf_classifier, load_hf_tokenizer


@dataclass
class BuiltStudent:
    model: nn.Module
    tokenizer: Any            # the teacher's (shared vocabulary) or the student's own
    kwargs: dict              # NLP_MODELS[student.arch](**kwargs) rebuilds the model from a checkpoint
    tokenizer_spec: dict      # kd.nlp.model_zoo.tokenizer_spec of ``tokenizer``


CLASSIFICATION_STUDENTS: Registry[BuiltStudent] = Registry("classification student (student.arch)")


@CLASSIFICATION_STUDENTS.register("small_bert")
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


@CLASSIFICATION_STUDENTS.register("bilstm")
def bilstm(section: dict, num_labels: int, teacher, teacher_tokenizer, teacher_name: str,
           train_texts: list[str]) -> BuiltStudent:
    """Tang et al. (2019)'s BiLSTM on its own word vocabulary, built from the training texts."""
    tokenizer = WordTokenizer.build(train_texts, min_freq=section.get("min_freq", 1))
    kwargs = dict(vocab_size=len(tokenizer), num_labels=num_labels, embed_dim=section["embed_dim"],
                  hidden_size=section["lstm_hidden"])
    return BuiltStudent(BiLSTMClassifier(**kwargs), tokenizer, kwargs, tokenizer_spec(tokenizer))


@CLASSIFICATION_STUDENTS.register("pretrained")
def pretrained(section: dict, num_labels: int, teacher, teacher_tokenizer, teacher_name: str,
               train_texts: list[str]) -> BuiltStudent:
    """A pretrained model by hub id or save_pretrained folder (``student.name``, e.g. ``distilbert-base-uncased``)
    with a new head of ``num_labels`` outputs, read with its own tokenizer: the logit methods (kd, logit_mse) apply
    to any, those that compare token positions (tinybert, distilbert) need the teacher's tokenizer and are refused."""
    name = section.get("name")
    if not name:
        raise ConfigError("student.arch=pretrained needs student.name=<hub id or save_pretrained folder>, e.g. "
                          "distilbert-base-uncased")
    kwargs = dict(name=name, num_labels=num_labels)
    model = load_hf_classifier(**kwargs, key="student.name")
    return BuiltStudent(model, load_hf_tokenizer(name, key="student.name"), kwargs, tokenizer_spec(None, name))
