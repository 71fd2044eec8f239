"""Every NLP architecture by name, and checkpoints that rebuild a model together with its tokenizers.

A checkpoint (``kd.common.utils.checkpoint.save_model``) stores the architecture name, its keyword
arguments, the weights and, in ``meta["tokenizers"]``, how to rebuild each tokenizer: a Hugging Face
name/folder (``{"kind": "hf", "name": ...}``), a word vocabulary (``{"kind": "word", "tokens": [...]}``) or a BPE
tokenizer trained on the run's data (``{"kind": "bpe", "json": "..."}``, the ``tokenizers`` JSON as one string), all
plain values that ``torch.load(weights_only=True)`` reads.
A pretrained causal LM or encoder-decoder and the students built from one are saved instead as a folder in the
``save_pretrained`` layout (model and tokenizer, :func:`~kd.nlp.teacher_model.save_pretrained_folder`);
:func:`load_nlp_model` reads both kinds (architectures ``hf_causal_lm`` and ``hf_seq2seq`` for folders).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from torch import nn

from kd.common.utils.checkpoint import load_state_dict_checked, require_model, safe_load, save_model
from kd.common.utils.errors import CheckpointMismatchError, MissingPathError
from kd.common.utils.registry import Registry
from kd.nlp.data.subword_tokenizer import BPETokenizer
from kd.nlp.data.word_tokenizer import WordTokenizer
from kd.nlp.student_model import BiLSTMClassifier, build_small_bert
from kd.nlp.teacher_model import (
    TransformerSeq2Seq,
    build_gpt2_lm,
    load_causal_lm,
    load_hf_classifier,
    load_hf_tokenizer,
    load_seq2seq,
)

NLP_MODELS: Registry[nn.Module] = Registry("NLP model")
NLP_MODELS.register("hf_classifier")(load_hf_classifier)
NLP_MODELS.register("pretrained")(load_hf_classifier)  # the classification student.arch=pretrained
NLP_MODELS.register("small_bert")(build_small_bert)
NLP_MODELS.register("bilstm")(BiLSTMClassifier)
NLP_MODELS.register("seq2seq_transformer")(TransformerSeq2Seq)
NLP_MODELS.register("gpt2_lm")(build_gpt2_lm)


def tokenizer_spec(tokenizer: Any, hf_name: str | None = None) -> dict:
    if isinstance(tokenizer, WordTokenizer):
        return {"kind": "word", "tokens": tokenizer.state()}
    if isinstance(tokenizer, BPETokenizer):
        return {"kind": "bpe", "json": tokenizer.state()}
    return {"kind": "hf", "name": hf_name}


def tokenizer_from_spec(spec: dict) -> Any:
    if spec["kind"] == "word":
        return WordTokenizer(spec["tokens"])
    if spec["kind"] == "bpe":
        return BPETokenizer(spec["json"])
    return load_hf_tokenizer(spec["name"])


def save_nlp_model(model: nn.Module, path: str | Path, arch: str, arch_kwargs: dict,
                   tokenizers: dict[str, dict], **meta: Any) -> Path:
    return save_model(model, path, arch, arch_kwargs, tokenizers=tokenizers, **meta)


def load_nlp_model(path: str | Path, expected_arch: tuple[str, ...] | None = None) -> tuple[nn.Module, dict, dict]:
    """``(model, {role: tokenizer}, meta)`` from a checkpoint written by :func:`save_nlp_model`, or from a
    ``save_pretrained`` folder (roles ``main`` for a causal LM, ``source`` and ``target`` for an encoder-decoder).
    A run's training state (``checkpoints/last.pt``) or another file is refused in one line."""
    if Path(path).is_dir():
        return _load_pretrained_folder(Path(path), expected_arch)
    state = require_model(safe_load(path), path, "pass the checkpoints/model.pt of a train_teacher or distill run")
    _check_arch(path, state["arch"], expected_arch)
    model = NLP_MODELS.get(state["arch"])(**state["arch_kwargs"])
    load_state_dict_checked(model, state["state_dict"], source=str(path))
    meta = state.get("meta", {})
    tokenizers = {role: tokenizer_from_spec(spec) for role, spec in meta.get("tokenizers", {}).items()}
    return model, tokenizers, meta


def _check_arch(path, arch: str, expected_arch: tuple[str, ...] | None) -> None:
    if expected_arch and arch not in expected_arch:
        raise CheckpointMismatchError(f"'{path}' holds a '{arch}' model; this task needs one of {', '.join(expected_arch)}")


def _load_pretrained_folder(folder: Path, expected_arch: tuple[str, ...] | None) -> tuple[nn.Module, dict, dict]:
    from transformers import AutoConfig

    if not (folder / "config.json").is_file():
        raise MissingPathError(f"'{folder}' is a folder without config.json; pass a checkpoint file or a folder in "
                               "the save_pretrained layout")
    seq2seq = AutoConfig.from_pretrained(folder).is_encoder_decoder
    _check_arch(folder, "hf_seq2seq" if seq2seq else "hf_causal_lm", expected_arch)
    if seq2seq:
        model, source, target = load_seq2seq(str(folder), "the checkpoint")
        return model, {"source": source, "target": target}, {}
    model, tokenizer = load_causal_lm(str(folder), "the checkpoint")
    return model, {"main": tokenizer}, {}
