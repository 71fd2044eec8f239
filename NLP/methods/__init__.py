"""NLP distillation methods (one batch in, named loss terms out) for the common Distiller: one per paper or idea, by
name in a registry per task, selected by ``method.name`` and built with the section ``methods.<name>``.

Text classification: :data:`CLASSIFICATION_METHODS` (:mod:`kd.nlp.methods.classification`). Translation:
:data:`TRANSLATION_METHODS` (:mod:`kd.nlp.methods.seq2seq`). Causal LM: :data:`LM_METHODS`
(:mod:`kd.nlp.methods.causal_lm`).
"""
from kd.nlp.methods.classification import CLASSIFICATION_METHODS, ClassificationMethod, check_method_fits
from kd.nlp.methods import supervised  # noqa: F401,E402  (each import registers its method)
from kd.nlp.methods import kd  # noqa: F401,E402
from kd.nlp.methods import logit_mse  # noqa: F401,E402
from kd.nlp.methods import tinybert  # noqa: F401,E402
from kd.nlp.methods import distilbert  # noqa: F401,E402
from kd.nlp.methods.seq2seq import TRANSLATION_METHODS, TranslationMethod
from kd.nlp.methods import word_kd  # noqa: F401,E402
from kd.nlp.methods import seq_kd  # noqa: F401,E402
from kd.nlp.methods import seq_word_kd  # noqa: F401,E402
from kd.nlp.methods.causal_lm import LM_METHODS, LMMethod
from kd.nlp.methods import lm_kd  # noqa: F401,E402

__all__ = ["CLASSIFICATION_METHODS", "ClassificationMethod", "LMMethod", "LM_METHODS", "TRANSLATION_METHODS",
           "TranslationMethod", "check_method_fits"]
