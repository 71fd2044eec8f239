"""A transfer set made by augmenting the training sentences, for the teacher to label (Tang et al. 2019, "Distilling
Task-Specific Knowledge from BERT into Simple Neural Networks", their data augmentation for distillation).

Each source sentence, split into words on whitespace, gives ``copies`` new sentences. For each copy:

1. every word independently draws X ~ U[0, 1]: X < p_mask replaces it by the mask token; p_mask <= X < p_mask +
   p_swap replaces it by a word drawn from the unigram distribution of the training words (counts over all source
   sentences; it may draw the same word); otherwise the word stays;
2. then, with probability p_ngram, the sentence is cut to a random n-gram: n uniform in 1..max_ngram (at most its
   length), the start uniform among the places an n-gram fits.

A copy equal to its source is dropped (it teaches nothing new). The teacher labels the copies (they carry no hard
label: :data:`kd.common.losses.UNLABELLED`), so the student sees the teacher's soft targets on many more sentences
than the labelled ones. Tang et al. use p_mask = p_pos = 0.1, p_ng = 0.25 and n_iter = 20 copies; their swap is
POS-guided (a word of the same part-of-speech tag, from the unigram distribution of that tag). This machine has no
POS tagger offline, so the swap here (``p_swap``) draws from all training words by frequency, regardless of tag.

The draws come from one ``random.Random(seed)``: the same sentences and settings give the same transfer set for
every student seed, as Tang et al. generated theirs once.
"""
from __future__ import annotations

import random
from collections import Counter
from itertools import accumulate
from typing import Mapping, Sequence

from kd.common.utils.errors import ConfigError

PROBABILITIES = ("p_mask", "p_swap", "p_ngram")


def augment_sentences(sentences: Sequence[str], mask_token: str, copies: int, p_mask: float, p_swap: float,
                      p_ngram: float, max_ngram: int, seed: int) -> list[str]:
    """``copies`` augmented versions of each sentence (the procedure above), those equal to their source dropped."""
    rng = random.Random(seed)
    counts = Counter(word for sentence in sentences for word in sentence.split())
    vocabulary, cumulative = list(counts), list(accumulate(counts.values()))
    augmented = []
    for sentence in sentences:
        source = sentence.split()
        for _ in range(copies):
            words = []
            for word in source:
                x = rng.random()
                if x < p_mask:
                    words.append(mask_token)
                elif x < p_mask + p_swap:
                    words.append(rng.choices(vocabulary, cum_weights=cumulative)[0])
                else:
                    words.append(word)
            if words and rng.random() < p_ngram:
                n = min(rng.randint(1, max_ngram), len(words))
                start = rng.randint(0, len(words) - n)
                words = words[start:start + n]
            if words != source:
                augmented.append(" ".join(words))
    return augmented


def check_augment_settings(section: Mapping) -> None:
    """A ConfigError for a value of ``distill.augment`` the procedure cannot take: ``copies`` an integer >= 0, each
    probability in [0, 1] with ``p_mask + p_swap`` at most 1, ``max_ngram`` an integer >= 1, ``seed`` an integer."""
    for key in PROBABILITIES:
        value = section[key]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
            raise ConfigError(f"distill.augment.{key} must be a probability in [0, 1], got {value!r}")
    if section["p_mask"] + section["p_swap"] > 1.0:
        raise ConfigError("distill.augment.p_mask + p_swap must be at most 1 (each word is masked, swapped or kept), "
                          f"got {section['p_mask']} + {section['p_swap']}")
    for key, least in (("copies", 0), ("max_ngram", 1), ("seed", 0)):
        value = section[key]
        if isinstance(value, bool) or not isinstance(value, int) or value < least:
            raise ConfigError(f"distill.augment.{key} must be an integer >= {least}, got {value!r}")
