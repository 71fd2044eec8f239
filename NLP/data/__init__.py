"""NLP data: hub and local loaders (classification, translation, LM text), word and BPE tokenizers, collators,
bucketing."""
from kd.nlp.data.bucketing import LengthBucketBatchSampler, bucketed_loader
from kd.nlp.data.classification import CLASSIFICATION_DATASETS, TextClassificationData
from kd.nlp.data.collate import CausalLMCollator, ClassificationCollator, Seq2SeqCollator
from kd.nlp.data.language_modeling import LM_DATASETS
from kd.nlp.data.translation import TRANSLATION_DATASETS
from kd.nlp.data.subword_tokenizer import BPETokenizer, build_tokenizer
from kd.nlp.data.word_tokenizer import WordTokenizer

__all__ = [
    "BPETokenizer", "CLASSIFICATION_DATASETS", "LM_DATASETS", "TRANSLATION_DATASETS", "CausalLMCollator",
    "ClassificationCollator", "LengthBucketBatchSampler", "Seq2SeqCollator", "TextClassificationData", "WordTokenizer",
    "bucketed_loader", "build_tokenizer",
]
