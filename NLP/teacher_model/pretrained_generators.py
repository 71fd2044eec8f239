"""Pretrained causal LMs (GPT-2, ...) and encoder-decoders (Marian opus-mt, T5, ...) by hub id or local
``save_pretrained`` folder, each with its own tokenizer, and the folder a trained one is saved to.

``load_causal_lm(name)`` -> ``(AutoModelForCausalLM, HFTextTokenizer)``;
``load_seq2seq(name)`` -> ``(HFSeq2Seq, source tokenizer, target tokenizer)`` (one HF tokenizer in two roles; the
target's ``bos`` is the model's ``decoder_start_token_id``). ``save_pretrained_folder`` writes model and
tokenizer so that ``transformers``' Auto classes load them as they are (written to ``<folder>.tmp`` and renamed,
so a crash never leaves half a folder).
"""
from __future__ import annotations

import shutil
from pathlib import Path

from kd.common.utils import distributed
from kd.nlp.data.hf_tokenizer import HFTextTokenizer
from kd.nlp.teacher_model.hf_seq2seq import HFSeq2Seq
from kd.nlp.teacher_model.pretrained import from_pretrained, pretrained_model


def _hint(key: str, example: str) -> str:
    return f"pass {key}= a hub id that exists (e.g. {example}) or a local folder in the save_pretrained layout"


def load_causal_lm(name: str, key: str = "teacher.name"):
    """A causal LM and its tokenizer; ``key`` (the config key that named it) goes into the error line."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    hint = _hint(key, "gpt2")
    model = pretrained_model(AutoModelForCausalLM, name, hint)
    return model, HFTextTokenizer(from_pretrained(AutoTokenizer, name, hint), "text")


def load_seq2seq(name: str, key: str = "teacher.name"):
    """An encoder-decoder (wrapped in :class:`HFSeq2Seq`) and its tokenizer as source and target tokenizers."""
    from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

    hint = _hint(key, "Helsinki-NLP/opus-mt-de-en")
    model = pretrained_model(AutoModelForSeq2SeqLM, name, hint)
    tokenizer = from_pretrained(AutoTokenizer, name, hint)
    return (HFSeq2Seq(model), HFTextTokenizer(tokenizer, "source"),
            HFTextTokenizer(tokenizer, "target", bos_token_id=model.config.decoder_start_token_id))


def save_pretrained_folder(model, tokenizer, folder: str | Path) -> Path:
    """``save_pretrained`` of the model (unwrapped from :class:`HFSeq2Seq`) and its tokenizer (a Hugging Face one,
    or the :class:`HFTextTokenizer` around one) into ``folder`` (by rank 0 only under torch.distributed; every
    rank waits for it)."""
    folder = Path(folder)
    if distributed.is_main():
        tmp = folder.with_name(folder.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        (model.model if isinstance(model, HFSeq2Seq) else model).save_pretrained(tmp)
        getattr(tokenizer, "hf", tokenizer).save_pretrained(tmp)
        shutil.rmtree(folder, ignore_errors=True)
        tmp.rename(folder)
    distributed.barrier()
    return folder
