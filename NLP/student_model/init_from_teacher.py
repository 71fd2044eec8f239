"""DistilBERT-style initialisation (Sanh et al. 2019, sec. 3): copy the teacher's embeddings and one layer
out of every ``L_t / L_s`` (alternate layers for a half-depth student) into the student.

Only possible when the student is a BERT with the teacher's hidden size, heads, FFN size and vocabulary;
anything else is a one-line :class:`KDError` that says which dimension differs.
"""
from __future__ import annotations

from torch import nn

from kd.common.utils.errors import KDError

_MUST_MATCH = ("hidden_size", "num_attention_heads", "intermediate_size", "vocab_size", "max_position_embeddings")


def alternate_layers(teacher_layers: int, student_layers: int) -> list[int]:
    """Teacher layer copied into each student layer: every k-th, k = L_t // L_s (DistilBERT: 0, 2, 4, ...)."""
    if student_layers > teacher_layers:
        raise KDError(f"the student has {student_layers} layers, more than the teacher's {teacher_layers}")
    step = teacher_layers // student_layers
    return [i * step for i in range(student_layers)]


def init_from_teacher(student: nn.Module, teacher: nn.Module) -> list[int]:
    """Copy embeddings and alternate encoder layers from a BERT-family teacher; return the teacher layers used."""
    s_cfg, t_cfg = student.config, teacher.config
    for key in _MUST_MATCH:
        if getattr(s_cfg, key) != getattr(t_cfg, key):
            raise KDError(f"DistilBERT-style init needs equal {key} (student {getattr(s_cfg, key)}, teacher "
                          f"{getattr(t_cfg, key)}); set student.init=random or match the student's {key}")
    s_base, t_base = student.base_model, teacher.base_model
    s_base.embeddings.load_state_dict(t_base.embeddings.state_dict())
    picked = alternate_layers(t_cfg.num_hidden_layers, s_cfg.num_hidden_layers)
    for s_layer, t_index in zip(s_base.encoder.layer, picked):
        s_layer.load_state_dict(t_base.encoder.layer[t_index].state_dict())
    return picked
