"""A pretrained encoder-decoder (``AutoModelForSeq2SeqLM``: Marian, T5, BART, ...) behind the interface of
:class:`~kd.nlp.teacher_model.TransformerSeq2Seq`, so the translation task, word-level KD and sequence-level KD
treat both alike.

``forward(src, src_mask, tgt_in)`` -> next-token logits (B, T, V), teacher-forced on ``tgt_in`` (the decoder start
followed by the target). ``generate_ids`` is the model's own beam search (``generate``, ``num_beams``; its
length penalty 1.0 is the same score / |y| normalisation as :func:`kd.nlp.generation.beam_search`). The wrapped
model is ``.model``: that is what ``save_pretrained`` writes.
"""
from __future__ import annotations

import torch
from torch import Tensor, nn

from kd.nlp.generation.beam_search import cut_at_end


class HFSeq2Seq(nn.Module):
    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    @property
    def config(self):
        return self.model.config

    def forward(self, src: Tensor, src_mask: Tensor, tgt_in: Tensor) -> Tensor:
        return self.model(input_ids=src, attention_mask=src_mask, decoder_input_ids=tgt_in).logits

    @torch.inference_mode()
    def generate_ids(self, src: Tensor, src_mask: Tensor, eos_id: int, pad_id: int, beam_size: int = 4,
                     max_new_tokens: int | None = None) -> list[list[int]]:
        """The best beam per source row, as target ids without the decoder start and cut before ``eos``."""
        limit = max_new_tokens or int(src_mask.sum(1).max().item() * 1.5) + 10
        out = self.model.generate(input_ids=src, attention_mask=src_mask.long(), num_beams=beam_size,
                                  num_return_sequences=1, do_sample=False, max_new_tokens=limit)
        return cut_at_end(out[:, 1:].tolist(), eos_id, pad_id)
