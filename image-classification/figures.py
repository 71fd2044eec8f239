"""The figures of a vision run, in one palette (a model keeps its colour in all of them): test accuracy per model
with its spread over seeds, accuracy against parameters / FLOPs / latency, a reliability diagram, where a
student's mistakes differ from its teacher's (confusion-difference heat map), and test accuracy per epoch."""
from __future__ import annotations

from pathlib import Path
from typing import Mapping, Sequence

import torch

from kd.common.metrics import calibration_bins, confusion_matrix
from kd.common.utils.plotting import (Palette, plot_bars, plot_confusion_difference, plot_curves, plot_reliability,
                                      plot_tradeoff)
from kd.vision.report import Evaluation

Figures = list[tuple[str, Path]]  # (caption, png) pairs, for kd.common.utils.plotting.figures_markdown


def model_figures(evaluation: Evaluation, plots: Path, *, data_name: str, class_names: Sequence[str],
                  latency_label: str, pair: tuple[str, str] | None = None) -> Figures:
    """Draw what ``evaluation`` allows into ``plots``: with two or more models ``comparison.png`` (bars) and
    ``accuracy_vs_cost.png``; always ``reliability.png``; with ``pair`` = (teacher row, student row)
    ``confusion_difference.png``. Models evaluated over several seeds count with all of them: their spread in the
    bars and the trade-off, their test predictions pooled in the reliability diagram and the confusion matrix."""
    rows, palette = evaluation.rows, Palette(evaluation.rows)
    accuracy = {name: row.get("acc_runs", [row["acc"]]) for name, row in rows.items()}
    seeds = max(len(runs) for runs in accuracy.values())
    spread = f"; students: mean ± std over {seeds} seeds, a dot per seed" if seeds > 1 else ""
    figures: Figures = []
    if len(rows) > 1:
        path = plots / "comparison.png"
        plot_bars(accuracy, path, xlabel="test top-1 accuracy (%)", title=f"{data_name}: test accuracy",
                  palette=palette, ceiling=100)
        figures.append((f"Test top-1 accuracy{spread}.", path))
        path = plots / "accuracy_vs_cost.png"
        costs = {name: {key: row[key] for key in ("params", "flops", "latency_ms") if key in row}
                 for name, row in rows.items()}
        if plot_tradeoff(accuracy, costs, path, ylabel="test top-1 accuracy (%)", palette=palette,
                         cost_labels={"params": "parameters", "flops": "FLOPs per image", "latency_ms": latency_label},
                         title=f"{data_name}: accuracy against what the model costs"):
            figures.append(("Accuracy against parameters, FLOPs and latency: up and to the left is better.", path))
    labels = evaluation.labels
    bins = {name: calibration_bins(torch.cat(logits), labels.repeat(len(logits)))
            for name, logits in evaluation.logits.items()}
    path = plots / "reliability.png"
    plot_reliability(bins, path, title=f"{data_name}: calibration on the test set", palette=palette,
                     ece={name: row["ece"] for name, row in rows.items()})
    figures.append(("Reliability diagram: accuracy against confidence (test predictions of all seeds pooled; "
                    "ECE as in the table).", path))
    if pair:
        teacher, student = pair
        counts = {name: sum(confusion_matrix(logits, labels) for logits in evaluation.logits[name])
                  for name in pair}
        path = plots / "confusion_difference.png"
        plot_confusion_difference(counts[student], counts[teacher], class_names, path,
                                  title=f"{data_name}: where {student} errs differently from {teacher}")
        figures.append(("Confusion difference, student − teacher, in percentage points of each true class: red "
                        "cells are confusions the student makes more often than its teacher, a blue diagonal cell "
                        "a class it gets right less often.", path))
    return figures


def accuracy_curves(histories: Mapping[str, Sequence[Sequence[dict]]], path: Path, *, title: str,
                    palette: Palette) -> Figures:
    """``test_accuracy.png``: test accuracy per epoch of each model (``histories``: model -> one training history
    per seed), the mean over seeds with a ± std band."""
    series = {name: [{r["epoch"]: r["test_acc"] for r in history if "test_acc" in r} for history in runs]
              for name, runs in histories.items()}
    if not plot_curves(series, path, xlabel="epoch", ylabel="test top-1 accuracy (%)", title=title, palette=palette,
                       integer_x=True):
        return []
    return [("Test accuracy per epoch of each training stage.", path)]
