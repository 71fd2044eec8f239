"""NLP distillation methods (one batch in, named loss terms out) for the common Distiller.

Text classification: one method per paper, by name in :data:`CLASSIFICATION_METHODS` (``method.name``; see
:mod:`kd.nlp.methods.classification`). Translation and LM: :class:`Seq2SeqKD`, :class:`CausalLMKD`, whose terms
``distill.weights`` names.
"""
from kd.nlp.methods.causal_lm import CausalLMKD
from kd.nlp.methods.classification import (CLASSIFICATION_METHODS, ClassificationMethod, check_method_fits,
                                           check_method_section)
from kd.nlp.methods import supervised  # noqa: F401,E402  (each import registers its method)
from kd.nlp.methods import kd  # noqa: F401,E402
from kd.nlp.methods import logit_mse  # noqa: F401,E402
from kd.nlp.methods import tinybert  # noqa: F401,E402
from kd.nlp.methods import distilbert  # noqa: F401,E402
from kd.nlp.methods.seq2seq import Seq2SeqKD

__all__ = ["CLASSIFICATION_METHODS", "CausalLMKD", "ClassificationMethod", "Seq2SeqKD", "check_method_fits",
           "check_method_section"]
