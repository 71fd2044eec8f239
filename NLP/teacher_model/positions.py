"""How long an input a model takes, checked against ``data.max_length`` before a run starts.

A transformer with a position table (learned, or sinusoidal of a fixed size) has a row for each of the first N
positions, and a longer input is an index error deep in its forward pass: N is a transformers model's
``config.max_position_embeddings`` (GPT-2's ``n_positions``, its table ``wpe``), less the offset of models that
number positions after the padding index (RoBERTa, XLM-R: their table has ``padding_idx`` p and starts counting at
p + 1, so 514 rows hold 512 tokens), and ``max_length`` for this repo's translation transformer
(:class:`~kd.nlp.teacher_model.TransformerSeq2Seq`). Models without such a table take any length, whatever their
config says: the BiLSTM, relative positions (T5, XLNet, DeBERTa-v3), rotary ones (Llama) and sinusoidal tables that
grow (M2M100).
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
    tables = [module for name, module in model.named_modules() if is_position_table(name, module)]
    if not isinstance(limit, int) or limit <= 0 or not tables:  # XLNet's config says -1: no limit
        return None
    return limit - max((table.padding_idx + 1 for table in tables if table.padding_idx is not None), default=0)


def is_position_table(name: str, module: nn.Module) -> bool:
    """An absolute position table of a transformers model: an embedding named for positions (BERT's
    ``position_embeddings``, BART's and Marian's ``embed_positions``, GPT-2's ``wpe``), not a relative-position bias
    (T5's ``relative_attention_bias``, DeBERTa's ``rel_embeddings``)."""
    last = name.rsplit(".", 1)[-1]
    return isinstance(module, nn.Embedding) and ("position" in last or last == "wpe")


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
