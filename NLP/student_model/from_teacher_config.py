"""A student with its teacher's architecture and tokenizer, made smaller by config changes, and optionally
initialised from every other teacher layer (DistilBERT / DistilGPT2: Sanh et al. 2019, sec. 3).

The student's config is the teacher's ``transformers`` config with ``student.config`` applied: attribute names
of that config, e.g. ``{n_layer: 6}`` (GPT-2), ``{encoder_layers: 3, decoder_layers: 3}`` (Marian, BART),
``{num_layers: 3, num_decoder_layers: 3}`` (T5). Its vocabulary is the teacher's, so token-level KD applies.

``init: teacher`` copies every weight outside the layer stacks (token and position embeddings, final norms,
output bias) and, for each stack of L_t teacher layers (GPT-2 ``transformer.h``, Marian/BART
``model.{encoder,decoder}.layers``, T5 ``{encoder,decoder}.block``, BERT ``encoder.layer``) given L_s student
layers, student layer i <- teacher layer i * (L_t // L_s) (:func:`kd.nlp.student_model.init_from_teacher_layers`):
12 -> 6 takes layers 0, 2, 4, 6, 8, 10, as DistilGPT2 did. Copying needs equal widths; a tensor whose shape
differs is a one-line :class:`KDError` naming it.
"""
from __future__ import annotations

import copy
from typing import Mapping

from torch import nn

from kd.common.utils.errors import ConfigError
from kd.nlp.student_model.init_from_teacher import init_from_teacher_layers

INITS = ("random", "teacher")


def initialise(student: nn.Module, teacher: nn.Module, init: str) -> nn.Module:
    """``init=teacher``: the alternate-layer copy (:func:`init_from_teacher_layers`, the layers printed); ``random``:
    the student as built."""
    if init not in INITS:
        raise ConfigError(f"unknown student.init '{init}'; choose {' or '.join(INITS)}")
    if init == "teacher":
        picked = init_from_teacher_layers(student, teacher)
        print("DistilBERT-style init: " + "; ".join(f"{prefix} <- teacher layers {layers}"
                                                    for prefix, layers in picked.items()))
    return student


def student_from_teacher_config(teacher: nn.Module, changes: Mapping[str, object], init: str = "random") -> nn.Module:
    """``type(teacher)`` built from the teacher's config with ``changes`` applied, initialised per ``init``."""
    config = copy.deepcopy(teacher.config)
    unknown = sorted(k for k in changes if not hasattr(config, k))
    if unknown:
        examples = [k for k in ("n_layer", "num_hidden_layers", "encoder_layers", "decoder_layers", "num_layers")
                    if hasattr(config, k)]
        raise ConfigError(f"student.config: {type(config).__name__} has no {', '.join(unknown)}; use its attribute "
                          f"names (e.g. {', '.join(examples)})")
    for key, value in changes.items():
        setattr(config, key, value)
    return initialise(type(teacher)(config), teacher, init)
