"""A word-level tokenizer built from the training text: no subword model, no download.

Used by the BiLSTM student (Tang et al. 2019 use word vectors, not BERT's WordPiece), the Multi30k
translation models and the GPT-2-style language models trained offline. Text is lower-cased and split
into words and punctuation marks by one regular expression; words rarer than ``min_freq`` map to
``<unk>``. A ``mask_token`` (the teacher tokenizer's, e.g. ``[MASK]``, which masked words of an augmented transfer
set carry: :mod:`kd.nlp.data.augmentation`) is one token with its own id, right after the four specials.
``__call__`` mirrors the subset of the Hugging Face tokenizer call that the collators use, so either kind of
tokenizer can sit behind the same collate function.
"""
from __future__ import annotations

import re
from collections import Counter
from typing import Iterable, Sequence

import torch

PAD, UNK, BOS, EOS = "<pad>", "<unk>", "<bos>", "<eos>"
SPECIALS = (PAD, UNK, BOS, EOS)
_TOKEN = re.compile(r"\w+(?:'\w+)?|[^\w\s]", re.UNICODE)


def split_words(text: str) -> list[str]:
    return _TOKEN.findall(text.lower())


class FromScratchTokenizer:
    """What the tokenizers of from-scratch models share (this word map and :class:`~kd.nlp.data.BPETokenizer`):
    ids 0..3 are ``<pad> <unk> <bos> <eos>``; ``encode`` puts ``<bos>`` / ``<eos>`` around :meth:`token_ids`,
    ``decode`` reads up to the first ``<eos>`` and hands the ids before it to :meth:`text_of`."""

    pad_token_id: int
    bos_token_id: int
    eos_token_id: int

    def token_ids(self, text: str) -> list[int]:
        raise NotImplementedError

    def text_of(self, ids: list[int]) -> str:
        raise NotImplementedError

    @property
    def vocab_size(self) -> int:
        return len(self)

    def encode(self, text: str, add_bos: bool = False, add_eos: bool = False) -> list[int]:
        ids = self.token_ids(text)
        return ([self.bos_token_id] if add_bos else []) + ids + ([self.eos_token_id] if add_eos else [])

    def decode(self, ids: Iterable[int]) -> str:
        kept = []
        for i in map(int, ids):
            if i == self.eos_token_id:
                break
            kept.append(i)
        return self.text_of(kept)


class WordTokenizer(FromScratchTokenizer):
    """Word <-> id map. Ids 0..3 are ``<pad> <unk> <bos> <eos>``; ``mask_token`` (if any) is a vocabulary entry read
    as one token wherever it stands in a text."""

    def __init__(self, tokens: Sequence[str], mask_token: str | None = None):
        if tuple(tokens[: len(SPECIALS)]) != SPECIALS:
            raise ValueError(f"a WordTokenizer vocabulary must start with {SPECIALS}")
        if mask_token is not None and mask_token not in tokens:
            raise ValueError(f"the mask token {mask_token!r} is not in the vocabulary")
        self.tokens, self.mask_token = list(tokens), mask_token
        self.index = {t: i for i, t in enumerate(self.tokens)}
        self.pad_token_id, self.unk_token_id = self.index[PAD], self.index[UNK]
        self.bos_token_id, self.eos_token_id = self.index[BOS], self.index[EOS]

    @classmethod
    def build(cls, texts: Iterable[str], min_freq: int = 2, max_size: int | None = None,
              mask_token: str | None = None) -> "WordTokenizer":
        counts = Counter(w for text in texts for w in split_words(text))
        specials = list(SPECIALS) + ([mask_token] if mask_token is not None else [])
        ranked = sorted((w for w, c in counts.items() if c >= min_freq and w != mask_token),
                        key=lambda w: (-counts[w], w))
        if max_size is not None:
            ranked = ranked[: max_size - len(specials)]
        return cls(specials + ranked, mask_token)

    def __len__(self) -> int:
        return len(self.tokens)

    def token_ids(self, text: str) -> list[int]:
        if self.mask_token is None:
            return self._word_ids(text)
        ids = []
        for i, piece in enumerate(text.split(self.mask_token)):  # the mask token between the pieces
            ids += ([self.index[self.mask_token]] if i else []) + self._word_ids(piece)
        return ids

    def _word_ids(self, text: str) -> list[int]:
        return [self.index.get(w, self.unk_token_id) for w in split_words(text)]

    def text_of(self, ids: list[int]) -> str:
        """Words joined by spaces, ``<pad>``/``<bos>`` dropped."""
        return " ".join(self.tokens[i] for i in ids if i not in (self.pad_token_id, self.bos_token_id))

    def __call__(self, texts: Sequence[str], max_length: int | None = None, *, padding: bool = True,
                 truncation: bool = True, return_tensors: str = "pt") -> dict[str, torch.Tensor]:
        """Batch-encode, cut to ``max_length`` and pad to the longest sequence: ``{"input_ids", "attention_mask"}``
        tensors. It takes a Hugging Face tokenizer's call (the collator calls either one way) and does only that:
        another ``padding``, ``truncation`` or ``return_tensors`` is a ValueError."""
        if (padding, truncation, return_tensors) != (True, True, "pt"):
            raise ValueError("WordTokenizer always pads to the longest, truncates at max_length and returns tensors "
                             f"(padding=True, truncation=True, return_tensors='pt'), not {padding=}, {truncation=}, "
                             f"{return_tensors=}")
        encoded = [self.encode(t)[:max_length] if max_length else self.encode(t) for t in texts]
        encoded = [ids or [self.unk_token_id] for ids in encoded]
        return pad_sequences(encoded, self.pad_token_id)

    def vocabulary(self) -> dict[str, int]:
        """Token -> id, for the check that a teacher and its student read the same vocabulary."""
        return dict(self.index)

    def state(self) -> list[str]:
        """What a checkpoint stores: the vocabulary list (``WordTokenizer(state)`` rebuilds it)."""
        return list(self.tokens)


def pad_sequences(sequences: Sequence[Sequence[int]], pad_id: int) -> dict[str, torch.Tensor]:
    """Right-pad id lists to the longest: ``input_ids`` (B, L) long and ``attention_mask`` (B, L) long."""
    length = max(len(s) for s in sequences)
    ids = torch.full((len(sequences), length), pad_id, dtype=torch.long)
    mask = torch.zeros((len(sequences), length), dtype=torch.long)
    for row, seq in enumerate(sequences):
        ids[row, : len(seq)] = torch.as_tensor(seq, dtype=torch.long)
        mask[row, : len(seq)] = 1
    return {"input_ids": ids, "attention_mask": mask}
