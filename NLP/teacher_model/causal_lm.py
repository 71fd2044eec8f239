"""GPT-2-style causal language models built from a config (Radford et al. 2019), trained from scratch.

The LM teacher and student are ``GPT2LMHeadModel`` at two sizes (the ``language_model:`` section of
``configs/default.yaml``) over the same word-level vocabulary -- token-level KL compares next-token distributions,
so the vocabularies must match.
"""
from __future__ import annotations


def build_gpt2_lm(vocab_size: int, n_layer: int = 4, n_embd: int = 256, n_head: int = 4, n_positions: int = 128,
                  dropout: float = 0.1, pad_id: int = 0, bos_id: int = 2, eos_id: int = 3):
    from transformers import GPT2Config, GPT2LMHeadModel

    config = GPT2Config(vocab_size=vocab_size, n_layer=n_layer, n_embd=n_embd, n_head=n_head, n_positions=n_positions,
                        resid_pdrop=dropout, embd_pdrop=dropout, attn_pdrop=dropout, pad_token_id=pad_id,
                        bos_token_id=bos_id, eos_token_id=eos_id)
    return GPT2LMHeadModel(config)
