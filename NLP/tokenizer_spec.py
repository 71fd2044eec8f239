"""How a checkpoint records the tokenizer a model reads, as plain values ``torch.load(weights_only=True)`` reads back:
a Hugging Face name or folder (``{"kind": "hf", "name": ...}``), a word vocabulary (``{"kind": "word", "tokens":
[...]}``, with ``"mask_token"`` when it has one) or a BPE tokenizer trained on the run's data (``{"kind": "bpe",
"json": "..."}``, the ``tokenizers`` JSON as one string)."""
from __future__ import annotations

from typing import Any

from kd.nlp.data.subword_tokenizer import BPETokenizer
from kd.nlp.data.word_tokenizer import WordTokenizer
from kd.nlp.teacher_model import load_hf_tokenizer


def tokenizer_spec(tokenizer: Any, hf_name: str | None = None) -> dict:
    """The record of ``tokenizer``: its vocabulary or BPE state, or ``hf_name`` for a Hugging Face tokenizer."""
    if isinstance(tokenizer, WordTokenizer):
        return {"kind": "word", "tokens": tokenizer.state(),
                **({"mask_token": tokenizer.mask_token} if tokenizer.mask_token is not None else {})}
    if isinstance(tokenizer, BPETokenizer):
        return {"kind": "bpe", "json": tokenizer.state()}
    return {"kind": "hf", "name": hf_name}


def tokenizer_from_spec(spec: dict) -> Any:
    """The tokenizer a :func:`tokenizer_spec` record describes."""
    if spec["kind"] == "word":
        return WordTokenizer(spec["tokens"], spec.get("mask_token"))
    if spec["kind"] == "bpe":
        return BPETokenizer(spec["json"])
    return load_hf_tokenizer(spec["name"])
