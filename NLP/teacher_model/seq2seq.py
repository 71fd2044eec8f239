"""A small encoder-decoder transformer (Vaswani et al. 2017) for translation, trained from scratch.

The translation teacher and its student are this same class at two sizes (see ``configs/multi30k.yaml``).
Pre-norm layers (``norm_first``), learned positions, tied target embedding and output projection
(embeddings drawn from N(0, d^-1/2) and scaled by sqrt(d), so the tied logits start near unit scale).
"""
from __future__ import annotations

import math

import torch
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

    def decode_step(self, token: Tensor, step: int, cache: list[Tensor | None], memory: Tensor,
                    src_mask: Tensor) -> Tensor:
        """Incremental decoding: the next-token logits (N, V) after ``token`` (N,) at position ``step``.

        ``cache`` holds, per decoder layer, the normalised inputs of the earlier positions (the keys and
        values of self-attention) and is extended in place, so a sentence costs O(T) layer calls instead of
        re-decoding the whole prefix each step. Equal to :meth:`decode` (tested); same pre-norm layer maths
        as ``nn.TransformerDecoderLayer(norm_first=True)``.
        """
        pos = torch.full((1,), step, dtype=torch.long, device=token.device)
        x = self.dropout(self.tgt_embed(token).unsqueeze(1) * math.sqrt(self.d_model) + self.tgt_pos(pos))
        for i, layer in enumerate(self.decoder.layers):
            h = layer.norm1(x)
            cache[i] = h if cache[i] is None else torch.cat([cache[i], h], dim=1)
            x = x + layer.dropout1(layer.self_attn(h, cache[i], cache[i], need_weights=False)[0])
            x = x + layer.dropout2(layer.multihead_attn(layer.norm2(x), memory, memory, key_padding_mask=~src_mask,
                                                        need_weights=False)[0])
            x = x + layer.dropout3(layer.linear2(layer.dropout(layer.activation(layer.linear1(layer.norm3(x))))))
        return self.out(self.decoder.norm(x)[:, 0])
