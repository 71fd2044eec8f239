"""NLP teachers: a Hugging Face sequence classifier (packaged MiniLM by default; [CLS]- or mean-pooled) or an ensemble
of them (the mean of their logits), a seq2seq transformer, a GPT-2-style causal LM, and any pretrained causal LM or
encoder-decoder by hub id or save_pretrained folder.
The translation and LM students are the same architectures built smaller."""
from kd.nlp.teacher_model.causal_lm import build_gpt2_lm
from kd.nlp.teacher_model.ensemble import LogitEnsemble
from kd.nlp.teacher_model.hf_classifier import (
    PACKAGED_MINILM,
    POOLINGS,
    check_pooling,
    load_hf_classifier,
    load_hf_tokenizer,
    packaged_minilm_path,
    pooling_of,
)
from kd.nlp.teacher_model.hf_seq2seq import HFSeq2Seq
from kd.nlp.teacher_model.mean_pooled import MeanPooledClassifier, mean_pool
from kd.nlp.teacher_model.positions import check_max_length, position_limit
from kd.nlp.teacher_model.pretrained_generators import load_causal_lm, load_seq2seq, save_pretrained_folder
from kd.nlp.teacher_model.seq2seq import TransformerSeq2Seq

__all__ = ["HFSeq2Seq", "LogitEnsemble", "MeanPooledClassifier", "PACKAGED_MINILM", "POOLINGS", "TransformerSeq2Seq",
           "build_gpt2_lm", "check_max_length", "check_pooling", "load_causal_lm", "load_hf_classifier",
           "load_hf_tokenizer", "load_seq2seq", "mean_pool", "packaged_minilm_path", "pooling_of", "position_limit",
           "save_pretrained_folder"]
