"""Metrics: quality (accuracy, agreement, KL to the teacher, ECE and its calibration bins, the confusion
matrix), representation similarity (linear CKA),
cost (params, FLOPs, latency, size),
text (BLEU, perplexity: ``kd.common.metrics.text``) and RL returns (``kd.common.metrics.rl``)."""
from kd.common.metrics.classification import (
    agreement,
    calibration_bins,
    classification_report,
    confusion_matrix,
    expected_calibration_error,
    kl_to_teacher,
    topk_accuracy,
)
from kd.common.metrics.representation import linear_cka
from kd.common.metrics.cost import (
    checkpoint_size_bytes,
    compression_ratio,
    count_flops,
    count_parameters,
    measure_latency,
)

__all__ = [
    "agreement", "calibration_bins", "classification_report", "confusion_matrix", "expected_calibration_error",
    "kl_to_teacher", "topk_accuracy",
    "checkpoint_size_bytes", "compression_ratio", "count_flops", "count_parameters", "measure_latency",
    "linear_cka",
]
