"""Every NLP architecture by name, and checkpoints that rebuild a model together with its tokenizers.

A checkpoint (``kd.common.utils.checkpoint.save_model``) stores the architecture name, its keyword arguments, the
weights and, in ``meta["tokenizers"]``, how to rebuild each tokenizer (:mod:`kd.nlp.tokenizer_spec`). The name is
a teacher's or a translation / LM model's in :data:`NLP_MODELS`, or a classification student's ``student.arch``: its
one registration in :data:`~kd.nlp.student_model.classification_students.CLASSIFICATION_STUDENTS` both builds it
from the config and rebuilds it here (:func:`architecture`).
A pretrained causal LM or encoder-decoder and the students built from one are saved instead as a folder in the
``save_pretrained`` layout (model and tokenizer, :func:`~kd.nlp.teacher_model.save_pretrained_folder`);
:func:`load_nlp_model` reads both kinds (architectures ``hf_causal_lm`` and ``hf_seq2seq`` for folders).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from torch import nn

from kd.common.utils.checkpoint import load_state_dict_checked, require_model, safe_load, save_model
from kd.common.utils.errors import CheckpointMismatchError, MissingPathError, UnknownNameError
from kd.common.utils.registry import Registry
from kd.nlp.student_model.classification_students import CLASSIFICATION_STUDENTS
from kd.nlp.teacher_model import TransformerSeq2Seq, build_gpt2_lm, load_causal_lm, load_hf_classifier, load_seq2seq
from kd.nlp.tokenizer_spec import tokenizer_from_spec

# The architectures that are not classification students (those are CLASSIFICATION_STUDENTS'): teachers, and the
# translation and LM models, whose students are the same classes built smaller.
NLP_MODELS: Registry[nn.Module] = Registry("NLP model")
NLP_MODELS.register("hf_classifier")(load_hf_classifier)
NLP_MODELS.register("seq2seq_transformer")(TransformerSeq2Seq)
NLP_MODELS.register("gpt2_lm")(build_gpt2_lm)


def architecture(name: str) -> Callable[..., nn.Module]:
    """What rebuilds a checkpoint's ``arch`` from its ``arch_kwargs``: a classification student's model (the
    ``student.arch`` it was saved under), else a model of :data:`NLP_MODELS`; an unknown name lists both."""
    if name in CLASSIFICATION_STUDENTS:
        return CLASSIFICATION_STUDENTS.get(name).model
    if name in NLP_MODELS:
        return NLP_MODELS.get(name)
    raise UnknownNameError(f"unknown NLP model '{name}'; choose one of: "
                           f"{', '.join(sorted(NLP_MODELS.names() + CLASSIFICATION_STUDENTS.names()))}")


def save_nlp_model(model: nn.Module, path: str | Path, arch: str, arch_kwargs: dict,
                   tokenizers: dict[str, dict], **meta: Any) -> Path:
    """:func:`~kd.common.utils.checkpoint.save_model` with what :func:`load_nlp_model` needs besides the weights:
    ``tokenizers`` ({role: spec}, :func:`kd.nlp.tokenizer_spec.tokenizer_spec`) is required here, so that no NLP
    checkpoint is written without the tokenizers that read its inputs."""
    return save_model(model, path, arch, arch_kwargs, tokenizers=tokenizers, **meta)


def load_nlp_model(path: str | Path, expected_arch: tuple[str, ...] | None = None) -> tuple[nn.Module, dict, dict]:
    """``(model, {role: tokenizer}, meta)`` from a checkpoint written by :func:`save_nlp_model`, or from a
    ``save_pretrained`` folder (roles ``main`` for a causal LM, ``source`` and ``target`` for an encoder-decoder).
    A run's training state (``checkpoints/last.pt``) or another file is refused in one line."""
    if Path(path).is_dir():
        return _load_pretrained_folder(Path(path), expected_arch)
    state = require_model(safe_load(path), path, "pass the checkpoints/model.pt of a train_teacher or distill run")
    _check_arch(path, state["arch"], expected_arch)
    model = architecture(state["arch"])(**state["arch_kwargs"])
    load_state_dict_checked(model, state["state_dict"], source=str(path))
    meta = state.get("meta", {})
    tokenizers = {role: tokenizer_from_spec(spec) for role, spec in meta.get("tokenizers", {}).items()}
    return model, tokenizers, meta


def _check_arch(path, arch: str, expected_arch: tuple[str, ...] | None) -> None:
    if expected_arch and arch not in expected_arch:
        raise CheckpointMismatchError(f"'{path}' holds a '{arch}' model; this task needs one of "
                                      f"{', '.join(expected_arch)}")


def _load_pretrained_folder(folder: Path, expected_arch: tuple[str, ...] | None) -> tuple[nn.Module, dict, dict]:
    from transformers import AutoConfig

    if not (folder / "config.json").is_file():
        raise MissingPathError(f"'{folder}' is a folder without config.json; pass a checkpoint file or a folder in "
                               "the save_pretrained layout")
    config = AutoConfig.from_pretrained(folder)
    if any(name.endswith("ForSequenceClassification") for name in config.architectures or []):
        raise CheckpointMismatchError(f"'{folder}' is a sequence classifier in the save_pretrained layout (the copy a "
                                      "classification run writes for transformers' Auto classes); pass the "
                                      "checkpoints/model.pt beside it")
    seq2seq = config.is_encoder_decoder
    _check_arch(folder, "hf_seq2seq" if seq2seq else "hf_causal_lm", expected_arch)
    if seq2seq:
        model, source, target = load_seq2seq(str(folder), "the checkpoint")
        return model, {"source": source, "target": target}, {}
    model, tokenizer = load_causal_lm(str(folder), "the checkpoint")
    return model, {"main": tokenizer}, {}
