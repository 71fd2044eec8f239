"""How long an input a model takes, checked against ``data.max_length`` before a run starts.

A transformer with learned (or fixed-size sinusoidal) position embeddings has a row for each of the first N
positions, and a longer input is an index error deep in its forward pass: N is a transformers model's
``config.max_position_embeddings`` (GPT-2's ``n_positions``), less the offset of models that number positions after
the padding index (RoBERTa, XLM-R: their position table has ``padding_idx`` p and starts counting at p + 1, so 514
rows hold 512 tokens), and ``max_length`` for this repo's translation transformer
(:class:`~kd.nlp.teacher_model.TransformerSeq2Seq`). Models without such a table (the BiLSTM, T5's relative
positions) take any length.
"""
from __future__ import annotations

from torch import nn

from kd.common.utils.errors import ConfigError
from kd.nlp.teacher_model.seq2seq import TransformerSeq2Seq


def position_limit(model: nn.Module) -> int | None:
    """The most tokens ``model`` has positions for, or None when its weights set no limit."""
    if isinstance(model, TransformerSeq2Seq):
        return model.max_length
    limit = getattr(getattr(model, "config", None), "max_position_embeddings", None)
    if not isinstance(limit, int):
        return None
    offsets = [module.padding_idx + 1 for name, module in model.named_modules()
               if name.endswith("position_embeddings") and isinstance(module, nn.Embedding)
               and module.padding_idx is not None]
    return limit - max(offsets, default=0)


def check_max_length(max_length: int, models: dict[str, nn.Module | None]) -> None:
    """A ConfigError unless every model of ``models`` (role -> model; None: no model in that role) has positions for
    ``data.max_length`` tokens: a longer input would fail in the first batch that reaches the limit, after the run
    folder is made (and, for rare long sentences, epochs into the run)."""
    short = {role: limit for role, model in models.items()
             if model is not None and (limit := position_limit(model)) is not None and limit < max_length}
    if short:
        which = ", ".join(f"the {role}'s {limit}" for role, limit in short.items())
        raise ConfigError(f"data.max_length={max_length} is above the positions the model has ({which}): set "
                          f"data.max_length={min(short.values())} or lower")
