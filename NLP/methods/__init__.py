"""NLP distillation methods (one batch in, named loss terms out) for the common Distiller."""
from kd.nlp.methods.causal_lm import CausalLMKD
from kd.nlp.methods.classification import ClassificationKD
from kd.nlp.methods.seq2seq import Seq2SeqKD

__all__ = ["CausalLMKD", "ClassificationKD", "Seq2SeqKD"]
