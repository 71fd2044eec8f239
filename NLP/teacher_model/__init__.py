"""NLP teachers: a Hugging Face sequence classifier (packaged MiniLM by default), a seq2seq transformer,
a GPT-2-style causal LM. The translation and LM students are the latter two built smaller."""
from kd.nlp.teacher_model.causal_lm import build_gpt2_lm
from kd.nlp.teacher_model.hf_classifier import (
    PACKAGED_MINILM,
    load_hf_classifier,
    load_hf_tokenizer,
    packaged_minilm_path,
)
from kd.nlp.teacher_model.seq2seq import TransformerSeq2Seq

__all__ = ["PACKAGED_MINILM", "TransformerSeq2Seq", "build_gpt2_lm", "load_hf_classifier", "load_hf_tokenizer",
           "packaged_minilm_path"]
