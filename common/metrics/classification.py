"""Quality metrics on logits. Inputs are whole-data-set tensors (``(N, C)`` logits, ``(N,)`` labels)."""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor


@torch.no_grad()
def topk_accuracy(logits: Tensor, labels: Tensor, ks: Sequence[int] = (1, 5)) -> dict[str, float]:
    """Percentage of rows whose label is among the k largest logits, for each k (k capped at C). Top-1 is the
    arg-max's, which breaks a tie (common in bf16 logits) as :func:`agreement` and the confusion matrix do:
    ``topk`` may rank the tied classes the other way round."""
    out = {}
    n_classes = logits.shape[-1]
    ranked = logits.topk(min(max(ks), n_classes), dim=-1).indices
    hits = ranked == labels.unsqueeze(-1)
    for k in ks:
        hit = logits.argmax(-1) == labels if k == 1 else hits[:, : min(k, n_classes)].any(-1)
        out[f"top{k}"] = 100.0 * hit.float().mean().item()
    return out


@torch.no_grad()
def agreement(student_logits: Tensor, teacher_logits: Tensor) -> float:
    """Percentage of rows where the student's arg-max equals the teacher's (top-1 fidelity)."""
    return 100.0 * (student_logits.argmax(-1) == teacher_logits.argmax(-1)).float().mean().item()


@torch.no_grad()
def kl_to_teacher(student_logits: Tensor, teacher_logits: Tensor, temperature: float = 1.0) -> float:
    """Mean KL(p_teacher || q_student) at temperature T (no T^2 factor: a distance, not a training loss)."""
    log_q = F.log_softmax(student_logits.float() / temperature, -1)
    log_p = F.log_softmax(teacher_logits.float() / temperature, -1)
    return F.kl_div(log_q, log_p, log_target=True, reduction="batchmean").item()


@torch.no_grad()
def calibration_bins(logits: Tensor, labels: Tensor, n_bins: int = 15) -> dict[str, list[float]]:
    """The non-empty ones of ``n_bins`` equal-width confidence bins (confidence: the largest softmax probability),
    as lists: each bin's ``lower`` and ``upper`` edge, the mean ``confidence`` and the ``accuracy`` (fractions)
    of its rows, and their ``count``. What a reliability diagram draws and ECE sums."""
    probs = logits.float().softmax(-1)
    confidence, prediction = probs.max(-1)
    correct = (prediction == labels).float()
    edges = torch.linspace(0, 1, n_bins + 1, device=logits.device)
    bins = torch.bucketize(confidence, edges[1:-1], right=True)
    out: dict[str, list[float]] = {"lower": [], "upper": [], "confidence": [], "accuracy": [], "count": []}
    for b in range(n_bins):
        in_bin = bins == b
        if in_bin.any():
            for key, value in (("lower", edges[b]), ("upper", edges[b + 1]), ("confidence", confidence[in_bin].mean()),
                               ("accuracy", correct[in_bin].mean()), ("count", in_bin.sum())):
                out[key].append(value.item())
    return out


def expected_calibration_error(logits: Tensor, labels: Tensor, n_bins: int = 15) -> float:
    """ECE (Guo et al. 2017): sum_b |B_b|/N * |acc(B_b) - conf(B_b)| over equal-width confidence bins, in %."""
    bins = calibration_bins(logits, labels, n_bins)
    weighted_gaps = sum(n * abs(a - c) for n, a, c in zip(bins["count"], bins["accuracy"], bins["confidence"]))
    return 100.0 * weighted_gaps / len(labels)


@torch.no_grad()
def confusion_matrix(logits: Tensor, labels: Tensor) -> Tensor:
    """``(C, C)`` counts: row = true class, column = the arg-max prediction."""
    n_classes = logits.shape[-1]
    pairs = labels.long() * n_classes + logits.argmax(-1)
    return torch.bincount(pairs.cpu(), minlength=n_classes * n_classes).view(n_classes, n_classes)


def classification_report(logits: Tensor, labels: Tensor, teacher_logits: Tensor | None = None,
                          ks: Sequence[int] = (1, 5)) -> dict[str, float]:
    """Accuracy (top-k, %), the number of top-1 errors (as MNIST papers count them), ECE and, when the
    teacher's logits are given, agreement and KL to the teacher."""
    report = {"acc" if k == "top1" else f"acc_{k}": v for k, v in topk_accuracy(logits, labels, ks).items()}
    report["errors"] = round(len(labels) * (1 - report["acc"] / 100))  # the top-1 misses (ties as argmax breaks them)
    report["ece"] = expected_calibration_error(logits, labels)
    if teacher_logits is not None:
        report["agreement"] = agreement(logits, teacher_logits)
        report["kl_to_teacher"] = kl_to_teacher(logits, teacher_logits)
    return report
