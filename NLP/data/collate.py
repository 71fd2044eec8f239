"""Collate functions with dynamic padding: each batch is padded to its own longest sequence, not a global max.

Classification batches carry one encoding per tokenizer, so a teacher (WordPiece) and a student with
its own vocabulary (the BiLSTM) each get their own ids for the same sentences::

    {"labels": (B,), "inputs": {"teacher": {"input_ids", "attention_mask"}, "student": {...}},
     "teacher_logits": (B, C)   # only when the teacher's logits were cached (offline mode)}
"""
from __future__ import annotations

from typing import Any, Sequence

import torch

from kd.nlp.data.word_tokenizer import pad_sequences


class ClassificationCollator:
    """Tokenizes raw texts per batch. ``tokenizers`` maps a role ("teacher", "student") to a tokenizer;
    roles sharing one tokenizer object share one encoding. ``mask_token``: the token the texts' masked words carry
    (an augmented transfer set: :mod:`kd.nlp.data.augmentation`); a tokenizer with a mask token of its own reads that
    one in its place."""

    def __init__(self, tokenizers: dict[str, Any], max_length: int = 128, mask_token: str | None = None):
        self.tokenizers, self.max_length, self.mask_token = tokenizers, max_length, mask_token

    def __call__(self, items: Sequence[dict]) -> dict:
        texts = [item["text"] for item in items]
        inputs, done = {}, {}
        for role, tokenizer in self.tokenizers.items():
            if id(tokenizer) not in done:
                own_mask = getattr(tokenizer, "mask_token", None)
                read = texts if None in (self.mask_token, own_mask) or own_mask == self.mask_token else [
                    text.replace(self.mask_token, own_mask) for text in texts]
                encoded = tokenizer(read, padding=True, truncation=True, max_length=self.max_length,
                                    return_tensors="pt")
                done[id(tokenizer)] = {k: encoded[k] for k in ("input_ids", "attention_mask")}
            inputs[role] = done[id(tokenizer)]
        batch = {"labels": torch.tensor([item["label"] for item in items], dtype=torch.long), "inputs": inputs}
        if "teacher_logits" in items[0]:
            batch["teacher_logits"] = torch.stack([item["teacher_logits"] for item in items])
        return batch


class Seq2SeqCollator:
    """Pairs of id lists -> ``src``/``src_mask`` and the shifted target ``tgt_in`` (<bos> y) / ``tgt_out`` (y <eos>)."""

    def __init__(self, pad_id: int, bos_id: int, eos_id: int):
        self.pad_id, self.bos_id, self.eos_id = pad_id, bos_id, eos_id

    def __call__(self, items: Sequence[dict]) -> dict:
        src = pad_sequences([item["src"] for item in items], self.pad_id)
        tgt_in = pad_sequences([[self.bos_id] + item["tgt"] for item in items], self.pad_id)
        tgt_out = pad_sequences([item["tgt"] + [self.eos_id] for item in items], self.pad_id)
        return {"src": src["input_ids"], "src_mask": src["attention_mask"].bool(),
                "tgt_in": tgt_in["input_ids"], "tgt_out": tgt_out["input_ids"],
                "tgt_mask": tgt_out["attention_mask"].bool(), "index": torch.tensor([item["index"] for item in items])}


class CausalLMCollator:
    """Id lists (already ``<bos> .. <eos>``) -> ``input_ids``/``attention_mask``; next-token targets are the shift."""

    def __init__(self, pad_id: int):
        self.pad_id = pad_id

    def __call__(self, items: Sequence[list[int]]) -> dict:
        return pad_sequences(items, self.pad_id)
