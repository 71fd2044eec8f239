"""A small encoder-decoder transformer (Vaswani et al. 2017) for translation, trained from scratch.

The translation teacher and its student are this same class at two sizes (the ``translation:`` section of
``configs/default.yaml``).
Pre-norm layers (``norm_first``), learned positions, tied target embedding and output projection
(embeddings drawn from N(0, d^-1/2) and scaled by sqrt(d), so the tied logits start near unit scale).
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn


class TransformerSeq2Seq(nn.Module):
    def __init__(self, src_vocab_size: int, tgt_vocab_size: int, d_model: int = 256, nhead: int = 4,
                 num_encoder_layers: int = 3, num_decoder_layers: int = 3, dim_feedforward: int = 1024,
                 dropout: float = 0.1, max_length: int = 128, pad_id: int = 0):
        super().__init__()
        self.pad_id, self.d_model, self.max_length = pad_id, d_model, max_length
        self.src_embed = nn.Embedding(src_vocab_size, d_model, padding_idx=pad_id)
        self.tgt_embed = nn.Embedding(tgt_vocab_size, d_model, padding_idx=pad_id)
        self.src_pos = nn.Embedding(max_length, d_model)
        self.tgt_pos = nn.Embedding(max_length + 1, d_model)
        layer_args = dict(d_model=d_model, nhead=nhead, dim_feedforward=dim_feedforward, dropout=dropout,
                          batch_first=True, norm_first=True)
        self.encoder = nn.TransformerEncoder(nn.TransformerEncoderLayer(**layer_args), num_encoder_layers,
                                             norm=nn.LayerNorm(d_model), enable_nested_tensor=False)
        self.decoder = nn.TransformerDecoder(nn.TransformerDecoderLayer(**layer_args), num_decoder_layers,
                                             norm=nn.LayerNorm(d_model))
        self.out = nn.Linear(d_model, tgt_vocab_size)
        self.out.weight = self.tgt_embed.weight
        self.dropout = nn.Dropout(dropout)
        for table in (self.src_embed, self.tgt_embed):  # N(0, d^-1/2) as in fairseq: unit-scale logits when tied
            nn.init.normal_(table.weight, std=d_model**-0.5)
            nn.init.zeros_(table.weight[pad_id])

    def _embed(self, ids: Tensor, table: nn.Embedding, positions: nn.Embedding) -> Tensor:
        pos = torch.arange(ids.shape[1], device=ids.device)
        return self.dropout(table(ids) * math.sqrt(self.d_model) + positions(pos))

    def encode(self, src: Tensor, src_mask: Tensor) -> Tensor:
        """``src`` (B, S) ids, ``src_mask`` (B, S) True = real token -> memory (B, S, d)."""
        return self.encoder(self._embed(src, self.src_embed, self.src_pos), src_key_padding_mask=~src_mask)

    def decode(self, tgt_in: Tensor, memory: Tensor, src_mask: Tensor) -> Tensor:
        """Next-token logits (B, T, V) for each prefix of ``tgt_in`` (B, T), causally masked."""
        length = tgt_in.shape[1]
        causal = torch.ones(length, length, dtype=torch.bool, device=tgt_in.device).triu(1)  # True = hidden
        hidden = self.decoder(self._embed(tgt_in, self.tgt_embed, self.tgt_pos), memory, tgt_mask=causal,
                              tgt_is_causal=True,
                              tgt_key_padding_mask=tgt_in == self.pad_id, memory_key_padding_mask=~src_mask)
        return self.out(hidden)

    def forward(self, src: Tensor, src_mask: Tensor, tgt_in: Tensor) -> Tensor:
        return self.decode(tgt_in, self.encode(src, src_mask), src_mask)

    def start_decoding(self, memory: Tensor, src_mask: Tensor) -> dict:
        """The state :meth:`decode_step` extends: per decoder layer, the cross-attention keys and values of
        ``memory`` (projected once, not at every step) and the self-attention keys and values of the positions
        decoded so far (none yet). Inference only: no dropout."""
        cross = [(_heads(_in_projection(layer.multihead_attn, memory, 1), layer.multihead_attn.num_heads),
                  _heads(_in_projection(layer.multihead_attn, memory, 2), layer.multihead_attn.num_heads))
                 for layer in self.decoder.layers]
        return {"cross": cross, "self": [None] * len(self.decoder.layers), "memory_mask": src_mask[:, None, None, :]}

    def decode_step(self, token: Tensor, step: int, state: dict) -> Tensor:
        """Incremental decoding: the next-token logits (N, V) after ``token`` (N,) at position ``step``.

        Each layer appends this position's self-attention key and value to ``state`` (from
        :meth:`start_decoding`), so a step projects one position instead of the whole prefix, and attends to
        the memory's keys and values projected once. Equal to :meth:`decode` (tested); the same pre-norm layer
        maths as ``nn.TransformerDecoderLayer(norm_first=True)``, in eval mode.
        """
        pos = torch.full((1,), step, dtype=torch.long, device=token.device)
        x = self.tgt_embed(token).unsqueeze(1) * math.sqrt(self.d_model) + self.tgt_pos(pos)
        for i, layer in enumerate(self.decoder.layers):
            attn, heads = layer.self_attn, layer.self_attn.num_heads
            h = layer.norm1(x)
            query, key, value = (_heads(_in_projection(attn, h, part), heads) for part in range(3))
            if state["self"][i] is not None:
                key, value = (torch.cat([old, new], dim=2) for old, new in zip(state["self"][i], (key, value)))
            state["self"][i] = (key, value)
            x = x + _attend(attn, query, key, value)
            cross = layer.multihead_attn
            query = _heads(_in_projection(cross, layer.norm2(x), 0), cross.num_heads)
            x = x + _attend(cross, query, *state["cross"][i], mask=state["memory_mask"])
            x = x + layer.linear2(layer.activation(layer.linear1(layer.norm3(x))))
        return self.out(self.decoder.norm(x)[:, 0])

    @staticmethod
    def reorder_decoding(state: dict, rows: Tensor) -> None:
        """Keep the self-attention state of ``rows`` (beam search: each surviving hypothesis' parent). The
        cross-attention part is left as it is: a parent is always a hypothesis of the same source sentence, whose
        memory rows are identical."""
        state["self"] = [(key[rows], value[rows]) for key, value in state["self"]]


def _in_projection(attn: nn.MultiheadAttention, x: Tensor, part: int) -> Tensor:
    """The query (``part`` 0), key (1) or value (2) projection of ``nn.MultiheadAttention``'s packed weights."""
    d = attn.embed_dim
    return F.linear(x, attn.in_proj_weight[part * d:(part + 1) * d], attn.in_proj_bias[part * d:(part + 1) * d])


def _heads(x: Tensor, heads: int) -> Tensor:
    """(N, L, d) -> (N, heads, L, d / heads)."""
    n, length, d = x.shape
    return x.view(n, length, heads, d // heads).transpose(1, 2)


def _attend(attn: nn.MultiheadAttention, query: Tensor, key: Tensor, value: Tensor,
            mask: Tensor | None = None) -> Tensor:
    """softmax(q k^T / sqrt(d_head)) v over the heads, then ``attn``'s output projection; ``mask`` True = attend."""
    out = F.scaled_dot_product_attention(query, key, value, attn_mask=mask)
    return attn.out_proj(out.transpose(1, 2).flatten(2))
