"""The supervised distillation engine shared by vision and NLP."""
from kd.common.engine.method import DistillationMethod, teacher_forward
from kd.common.engine.distiller import Distiller
from kd.common.engine.evaluation import predict
from kd.common.engine.sampler import EpochShuffleSampler

__all__ = ["DistillationMethod", "Distiller", "EpochShuffleSampler", "predict", "teacher_forward"]
