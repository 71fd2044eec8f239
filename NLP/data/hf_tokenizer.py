"""A Hugging Face tokenizer behind the small interface the LM and translation tasks use (the one
:class:`~kd.nlp.data.WordTokenizer` has): ``encode``, ``decode``, the special ids, ``len``, ``vocabulary``.

A pretrained model is always read with its own tokenizer. What ``encode`` does depends on the role:

- ``text`` (causal LM): the text's tokens alone; ``add_bos``/``add_eos`` put the tokenizer's ``bos``/``eos``
  around them (GPT-2 has one ``<|endoftext|>`` for both, which is how it separates documents);
- ``source`` (translation input): the tokenizer's own call, special tokens included (Marian's and T5's ``</s>``);
- ``target`` (translation output): ``text_target=`` without special tokens (Marian keeps a separate target
  vocabulary model), since the collator adds the decoder start (``bos_token_id`` = the model's
  ``decoder_start_token_id``) and ``</s>`` itself.

``decode`` drops special tokens and detokenises (cased, as the model writes it: what BLEU is computed on).
A tokenizer without a padding token pads with ``eos`` (the attention mask hides it).
"""
from __future__ import annotations

from typing import Any, Iterable

from kd.common.utils.errors import ConfigError

ROLES = ("text", "source", "target")


class HFTextTokenizer:
    def __init__(self, tokenizer: Any, role: str = "text", bos_token_id: int | None = None):
        if role not in ROLES:
            raise ValueError(f"role must be one of {ROLES}, not {role!r}")
        if tokenizer.eos_token_id is None:
            raise ConfigError(f"the tokenizer {tokenizer.name_or_path!r} has no end-of-sequence token; the LM and "
                              "translation tasks need one to end sequences")
        self.hf, self.role = tokenizer, role
        self.eos_token_id = tokenizer.eos_token_id
        self.pad_token_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else self.eos_token_id
        self.unk_token_id = tokenizer.unk_token_id if tokenizer.unk_token_id is not None else self.eos_token_id
        own_bos = tokenizer.bos_token_id if tokenizer.bos_token_id is not None else self.eos_token_id
        self.bos_token_id = own_bos if bos_token_id is None else bos_token_id

    def __len__(self) -> int:
        return len(self.hf)

    def encode(self, text: str, add_bos: bool = False, add_eos: bool = False) -> list[int]:
        if self.role == "source":
            return self.hf(text)["input_ids"]
        if self.role == "target":
            ids = self.hf(text_target=text, add_special_tokens=False)["input_ids"]
        else:
            ids = self.hf(text, add_special_tokens=False)["input_ids"]
        return ([self.bos_token_id] if add_bos else []) + ids + ([self.eos_token_id] if add_eos else [])

    def decode(self, ids: Iterable[int]) -> str:
        return self.hf.decode([int(i) for i in ids], skip_special_tokens=True).strip()

    def vocabulary(self) -> dict[str, int]:
        """Token -> id, for the check that a teacher and its student read the same vocabulary."""
        return self.hf.get_vocab()
