"""The attention every BERT-family model here runs: Hugging Face's eager attention, with its maps returned
*before* attention dropout.

``eager`` attention (the implementation that can return maps; SDPA cannot) returns the probabilities after
``attention_probs_dropout_prob``'s dropout: in training about a tenth of each map is zeroed and the rest scaled by
1 / 0.9, so a row no longer sums to 1. TinyBERT's attention loss (Jiao et al. 2020, eq. 7) regresses the student's
maps onto the teacher's; on dropped maps its expectation gains p / (1 - p) * E[A_s^2], whose minimiser is
(1 - p) * A_t instead of A_t, a hidden pull towards uniform attention. Here the forward is eager's (softmax of the
scaled scores plus the additive mask, dropout, times the values) and the maps returned are the softmax's.
"""
from __future__ import annotations

import torch
from torch import Tensor, nn

ATTENTION = "eager_maps_before_dropout"


def _attention(module: nn.Module, query: Tensor, key: Tensor, value: Tensor, attention_mask: Tensor | None,
               scaling: float | None = None, dropout: float = 0.0, **kwargs) -> tuple[Tensor, Tensor]:
    """Eager attention's ``(output (B, L, heads, d), maps (B, heads, L, L))``, the maps taken before the dropout."""
    scaling = query.size(-1) ** -0.5 if scaling is None else scaling
    scores = torch.matmul(query, key.transpose(2, 3)) * scaling
    if attention_mask is not None:
        scores = scores + attention_mask
    maps = nn.functional.softmax(scores, dim=-1)
    output = torch.matmul(nn.functional.dropout(maps, p=dropout, training=module.training), value)
    return output.transpose(1, 2).contiguous(), maps


def maps_before_dropout() -> str:
    """The name of this attention for ``attn_implementation`` (a config's ``_attn_implementation``), registered with
    ``transformers`` on first use (transformers is imported only then), with eager's additive padding mask (an
    attention registered without a mask function is given no mask at all)."""
    from transformers import AttentionInterface
    from transformers.masking_utils import AttentionMaskInterface, eager_mask

    AttentionInterface.register(ATTENTION, _attention)
    AttentionMaskInterface.register(ATTENTION, eager_mask)
    return ATTENTION
