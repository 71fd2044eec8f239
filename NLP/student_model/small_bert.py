"""A small BERT student built from a config (Turc et al. 2019's "well-read students": 2-4 layers, hidden 128-256).

It uses the teacher's WordPiece tokenizer (``vocab_size`` = the teacher's), so every loss that compares
token positions -- hidden-state MSE, attention maps, cosine embedding -- is available to it.
"""
from __future__ import annotations

from kd.common.utils.errors import ConfigError
from kd.nlp.teacher_model.attention_maps import maps_before_dropout


def build_small_bert(num_labels: int, vocab_size: int, num_layers: int = 4, hidden_size: int = 256,
                     num_heads: int = 4, intermediate_size: int | None = None, max_position_embeddings: int = 512,
                     dropout: float = 0.1):
    from transformers import BertConfig, BertForSequenceClassification

    if hidden_size % num_heads:
        raise ConfigError(f"student.hidden_size={hidden_size} must be a multiple of student.num_heads={num_heads} (each "
                          f"attention head reads hidden_size / num_heads features)")
    config = BertConfig(vocab_size=vocab_size, hidden_size=hidden_size, num_hidden_layers=num_layers,
                        num_attention_heads=num_heads, intermediate_size=intermediate_size or 4 * hidden_size,
                        max_position_embeddings=max_position_embeddings, hidden_dropout_prob=dropout,
                        attention_probs_dropout_prob=dropout, num_labels=num_labels)
    config._attn_implementation = maps_before_dropout()  # TinyBERT's attention maps, taken before dropout
    return BertForSequenceClassification(config)
