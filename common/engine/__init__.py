"""The supervised distillation engine shared by vision and NLP."""
from kd.common.engine.method import DistillationMethod, teacher_forward
from kd.common.engine.distiller import Distiller
from kd.common.engine.evaluation import loader_perplexity, predict
from kd.common.engine.sampler import EpochShuffleSampler, ShardedBatchSampler

__all__ = ["DistillationMethod", "Distiller", "EpochShuffleSampler", "ShardedBatchSampler", "loader_perplexity",
           "predict", "teacher_forward"]
