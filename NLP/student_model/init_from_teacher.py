"""DistilBERT-style initialisation (Sanh et al. 2019, sec. 3): copy the teacher's weights into the student, one
layer out of every ``L_t / L_s`` (alternate layers for a half-depth student).

:func:`init_from_teacher_layers` does it for any pair of models whose weights differ only in their numbers of layers
(the students built from the teacher's config: GPT-2, Marian, BART, T5, BERT); :func:`init_from_teacher` applies it to
a BERT classification student's embeddings and encoder, leaving its pooler and classifier as built, and first checks
the dimensions that must match, so that a mismatch is a one-line :class:`KDError` naming the student key to change.
"""
from __future__ import annotations

import re
from collections import defaultdict

from torch import nn

from kd.common.utils.errors import KDError

_MUST_MATCH = ("hidden_size", "num_attention_heads", "intermediate_size", "vocab_size", "max_position_embeddings")
_STACK = re.compile(r"^((?:.*?\.)?(?:h|layers|layer|block))\.(\d+)\.(.+)$")  # outermost numbered stack of a weight name


def alternate_layers(teacher_layers: int, student_layers: int) -> list[int]:
    """Teacher layer copied into each student layer: every k-th, k = L_t // L_s (DistilBERT: 0, 2, 4, ...)."""
    if student_layers > teacher_layers:
        raise KDError(f"the student has {student_layers} layers, more than the teacher's {teacher_layers}")
    step = teacher_layers // student_layers
    return [i * step for i in range(student_layers)]


def _stack_depths(names) -> dict[str, int]:
    """Layer-stack prefix -> number of layers, from the weights' names."""
    indices = defaultdict(set)
    for name in names:
        match = _STACK.match(name)
        if match:
            indices[match[1]].add(int(match[2]))
    return {prefix: max(found) + 1 for prefix, found in indices.items()}


def init_from_teacher_layers(student: nn.Module, teacher: nn.Module) -> dict[str, list[int]]:
    """Copy the teacher's weights into the student, alternate layers per stack; return each stack's teacher layers."""
    t_state, s_state = teacher.state_dict(), student.state_dict()
    t_depths = _stack_depths(t_state)
    picked = {prefix: alternate_layers(t_depths.get(prefix, 0), depth)
              for prefix, depth in _stack_depths(s_state).items()}
    copied = {}
    for name, value in s_state.items():
        match = _STACK.match(name)
        source = f"{match[1]}.{picked[match[1]][int(match[2])]}.{match[3]}" if match else name
        if source not in t_state or t_state[source].shape != value.shape:
            found = tuple(t_state[source].shape) if source in t_state else "absent"
            raise KDError(f"student.init=teacher copies teacher weights, but the student's {name} {tuple(value.shape)} "
                          f"has no equal in the teacher ({source}: {found}); change only layer counts in "
                          "student.config, or set student.init=random")
        copied[name] = t_state[source]
    student.load_state_dict(copied)
    return picked


def init_from_teacher(student: nn.Module, teacher: nn.Module) -> list[int]:
    """Copy embeddings and alternate encoder layers from a BERT-family teacher into a BERT student (its pooler and
    classifier stay as built); return the teacher layers used."""
    s_cfg, t_cfg = student.config, teacher.config
    for key in _MUST_MATCH:
        if getattr(s_cfg, key) != getattr(t_cfg, key):
            raise KDError(f"DistilBERT-style init needs equal {key} (student {getattr(s_cfg, key)}, teacher "
                          f"{getattr(t_cfg, key)}); set student.init=random or match the student's {key}")
    s_base, t_base = student.base_model, teacher.base_model
    s_base.embeddings.load_state_dict(t_base.embeddings.state_dict())
    return init_from_teacher_layers(s_base.encoder, t_base.encoder)["layer"]
