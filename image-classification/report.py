"""What a vision script reports about a model: quality on the test set and cost, as a row of a markdown table."""
from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import Sequence

import torch
from torch import Tensor, nn

from kd.common.engine.evaluation import predict
from kd.common.metrics import (checkpoint_size_bytes, classification_report, count_flops, count_parameters,
                               measure_latency)
from kd.common.utils.plotting import markdown_grid
from kd.common.utils.report import mean_spread, spread

COLUMNS = [("acc", "top-1 %", "{:.2f}"), ("errors", "test errors", "{:.1f}"), ("acc_top5", "top-5 %", "{:.2f}"),
           ("ece", "ECE %", "{:.2f}"),
           ("agreement", "agree w/ teacher %", "{:.2f}"), ("kl_to_teacher", "KL to teacher", "{:.3f}"),
           ("params", "params", "{:,}"),
           ("flops", "FLOPs/img", "{:,.0f}"), ("latency_ms", "latency ms", "{:.3f}")]


def quality(model: nn.Module, loader, device: torch.device, teacher_logits: Tensor | None = None,
            precision: str = "auto") -> tuple[dict[str, float], Tensor, Tensor]:
    """Test-set top-1/top-5 accuracy, errors, ECE and (with the teacher's test logits) agreement and KL to the
    teacher, with the logits and labels they come from; the forward passes run at ``precision`` (the run's
    ``train.precision``)."""
    logits, labels = predict(model, loader, device, precision=precision)
    return classification_report(logits, labels, teacher_logits), logits, labels


@dataclass
class Evaluation:
    """Models evaluated on the test set: a table row per model (see :func:`model_metrics_table`), and the test
    logits behind each row (one tensor per seed) with the labels, for the figures."""
    rows: dict[str, dict[str, float]]
    logits: dict[str, list[Tensor]]
    labels: Tensor


def cost(model: nn.Module, image_shape: Sequence[int], device: torch.device,
         latency_batch: int = 1, precision: str = "auto") -> dict[str, float]:
    """Parameters, forward FLOPs per image, median latency (ms) of a ``latency_batch`` forward at ``precision`` (the
    run's ``train.precision``, as :func:`quality`'s), weight bytes."""
    x = torch.randn(latency_batch, *image_shape, device=device)
    return {"params": count_parameters(model), "flops": count_flops(model, x),
            "latency_ms": measure_latency(model, x, warmup=5, repeats=30, precision=precision)["latency_ms"],
            "size_bytes": checkpoint_size_bytes(model)}


def mean_over_seeds(rows: Sequence[dict[str, float]]) -> dict[str, float]:
    """One row from the rows of several seeds: each metric's mean, ``<metric>_std`` its sample standard
    deviation (when there are two or more), ``<metric>_runs`` the values and ``seeds`` their number."""
    merged: dict[str, float] = {"seeds": len(rows)}
    for key in rows[0]:
        values = [row[key] for row in rows]
        merged[key] = statistics.fmean(values)
        if len(rows) > 1:
            merged[f"{key}_std"] = spread(values)
            merged[f"{key}_runs"] = values
    return merged


def model_metrics_table(rows: dict[str, dict[str, float]], columns=COLUMNS) -> str:
    """The Markdown table of the models' test metrics and costs: one row per model name, one column per metric of
    ``columns`` present in at least one row ("-" where missing);
    a metric over several seeds (its ``<metric>_runs``: :func:`mean_over_seeds`) is printed as ``mean ± std``
    (:func:`~kd.common.utils.report.mean_spread`)."""
    present = [c for c in columns if any(c[0] in r for r in rows.values())]
    cells = [[name] + [(mean_spread(row[f"{key}_runs"], fmt) if f"{key}_runs" in row else fmt.format(row[key]))
                       if key in row else "-" for key, _, fmt in present] for name, row in rows.items()]
    return markdown_grid(["model"] + [c[1] for c in present], cells, "l" + "r" * len(present))
