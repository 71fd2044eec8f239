"""A cased BPE tokenizer trained offline on the training text (``data.tokenizer=bpe``), and the factory that picks
a from-scratch model's tokenizer by ``data.tokenizer``.

Byte-pair encoding (Sennrich et al. 2016) trained with the ``tokenizers`` library on the training sentences,
SentencePiece-style: a ``Metaspace`` pre-tokenizer turns every space into ``▁`` glued to the following word and
the ``Metaspace`` decoder turns it back, so ``decode(encode(text))`` gives back the text itself, cased, with its
punctuation where it was ("Ein Mann fährt Fahrrad." -> ids -> "Ein Mann fährt Fahrrad."). Punctuation marks are
split off the words before merges are learnt (as SentencePiece's split by Unicode script and the Moses tokenisation
under subword-nmt do), so "Fahrrad." and "Fahrrad," do not take vocabulary entries of their own; the pieces still
concatenate back to the text, ``▁`` marking where the spaces were. That detokenised, cased
output is what sacreBLEU's standard scoring expects, so a from-scratch translation model's BLEU is comparable with
published Multi30k figures (the word tokenizer's lower-cased words are not). The only normalisation is Unicode NFC
and whitespace: runs of spaces become one space, leading and trailing spaces go (the Multi30k German training
text has 44 double spaces and 40 padded lines); nothing else changes.

**Translation uses one joint (shared) vocabulary for source and target.** Multi30k papers commonly train a
joint BPE of about 10k merges on German and English together: the two languages share names, numbers,
punctuation and many word pieces, and 29,000 sentence pairs are few, so one vocabulary learnt from both sides
gives each merge more evidence than two learnt apart. Hence ``data.vocab_size: 10000`` in ``multi30k.yaml``
(the size includes the alphabet and the four special tokens; the rest, about 9,900, are merges). The model keeps
its separate source and target embeddings; both sides simply index the same vocabulary. A pair seen fewer than
:data:`MIN_PAIR_FREQUENCY` times is never merged; a character never seen in training becomes ``<unk>`` (the
Multi30k validation and test sets have none).

The interface is :class:`~kd.nlp.data.WordTokenizer`'s (``encode``, ``decode``, the special ids ``<pad> <unk>
<bos> <eos>`` = 0..3, ``len``, ``vocabulary``, ``state``). ``state()`` is the tokenizer's JSON (a plain string),
which a checkpoint stores as ``{"kind": "bpe", "json": ...}`` and ``BPETokenizer(state)`` rebuilds: checkpoints
stay loadable with ``torch.load(weights_only=True)``.
"""
from __future__ import annotations

from typing import Iterable

from kd.common.utils.errors import ConfigError
from kd.nlp.data.word_tokenizer import SPECIALS, FromScratchTokenizer, WordTokenizer

TOKENIZER_KINDS = ("bpe", "word")
MIN_PAIR_FREQUENCY = 2  # subword-nmt's default threshold for a merge


class BPETokenizer(FromScratchTokenizer):
    """Cased BPE with lossless detokenisation. Ids 0..3 are ``<pad> <unk> <bos> <eos>``."""

    def __init__(self, state: str):
        from tokenizers import Tokenizer

        self.tokenizer = Tokenizer.from_str(state)
        ids = [self.tokenizer.token_to_id(t) for t in SPECIALS]
        if ids != list(range(len(SPECIALS))):
            raise ValueError(f"a BPETokenizer vocabulary must start with {SPECIALS}")
        self.pad_token_id, self.unk_token_id, self.bos_token_id, self.eos_token_id = ids

    @classmethod
    def train(cls, texts: Iterable[str], vocab_size: int) -> "BPETokenizer":
        """Learn merges on ``texts`` until the vocabulary (alphabet and special tokens included) has ``vocab_size``
        entries, or no pair is left that occurs :data:`MIN_PAIR_FREQUENCY` times."""
        from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

        tokenizer = Tokenizer(models.BPE(unk_token=SPECIALS[1]))
        tokenizer.normalizer = normalizers.Sequence([normalizers.NFC(), normalizers.Replace(Regex(r"\s+"), " "),
                                                     normalizers.Strip()])
        tokenizer.pre_tokenizer = pre_tokenizers.Sequence([
            pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always"),  # "▁Fahrrad."
            pre_tokenizers.Punctuation(behavior="isolated")])  # "▁Fahrrad" "." (pieces still concatenate back)
        tokenizer.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always")
        trainer = trainers.BpeTrainer(vocab_size=vocab_size, min_frequency=MIN_PAIR_FREQUENCY,
                                      special_tokens=list(SPECIALS), show_progress=False)
        tokenizer.train_from_iterator(texts, trainer)
        return cls(tokenizer.to_str())

    def __len__(self) -> int:
        return self.tokenizer.get_vocab_size()

    def token_ids(self, text: str) -> list[int]:
        return self.tokenizer.encode(text, add_special_tokens=False).ids

    def text_of(self, ids: list[int]) -> str:
        """The detokenised text; ``<pad>``, ``<bos>`` and ``<unk>`` are left out."""
        return self.tokenizer.decode(ids, skip_special_tokens=True).strip()

    def vocabulary(self) -> dict[str, int]:
        """Token -> id, for the check that a teacher and its student read the same vocabulary."""
        return self.tokenizer.get_vocab()

    def state(self) -> str:
        """What a checkpoint stores: the tokenizer as JSON (``BPETokenizer(state)`` rebuilds it)."""
        return self.tokenizer.to_str()


def build_tokenizer(kind: str, texts: Iterable[str], min_freq: int, vocab_size: int):
    """A from-scratch model's tokenizer learnt from ``texts``: ``bpe`` (:class:`BPETokenizer` of ``vocab_size``) or
    ``word`` (:class:`WordTokenizer`, words seen fewer than ``min_freq`` times -> ``<unk>``)."""
    check_tokenizer_kind(kind)
    return BPETokenizer.train(texts, vocab_size) if kind == "bpe" else WordTokenizer.build(texts, min_freq)


def check_tokenizer_kind(kind: str) -> None:
    """The one-line error for an unknown ``data.tokenizer``, before any data is read."""
    if kind not in TOKENIZER_KINDS:
        raise ConfigError(f"unknown data.tokenizer '{kind}'; choose one of {', '.join(TOKENIZER_KINDS)}")
