"""The trade-off at a glance: quality (accuracy, BLEU, return) against what the model costs (parameters, FLOPs,
latency), one panel per cost, one marker per model, ± std whiskers over seeds."""
from __future__ import annotations

import math
import statistics
from pathlib import Path
from typing import Mapping, Sequence

from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from kd.common.utils.plotting.style import Palette, compact_number, legend_below, new_figure, save, set_title
from kd.common.utils.report import spread


def dodged(xs: Mapping[str, float], log: bool, step: float = 0.015) -> dict[str, float]:
    """``xs`` (model -> cost) with models of equal cost moved apart by ``step`` of the axis's span (of its
    logarithm on a log axis), centred on their true cost."""
    span = (math.log(max(xs.values()) / min(xs.values())) if log else max(xs.values()) - min(xs.values())) or 1.0
    groups: dict[float, list[str]] = {}
    for name, x in xs.items():
        groups.setdefault(x, []).append(name)
    out = {}
    for x, names in groups.items():
        for i, name in enumerate(names):
            offset = (i - (len(names) - 1) / 2) * step * span
            out[name] = x * math.exp(offset) if log else x + offset
    return out


def plot_tradeoff(values: Mapping[str, Sequence[float]], costs: Mapping[str, Mapping[str, float]],
                  path: str | Path, *, ylabel: str, cost_labels: Mapping[str, str], title: str = "",
                  palette: Palette | None = None) -> Figure | None:
    """``values``: model -> its runs' quality (one per seed); ``costs``: model -> ``{cost key: value}``;
    ``cost_labels``: cost key -> x-axis label (with its unit), in panel order. A panel is drawn for each cost
    that some model has (a positive value); its x axis is logarithmic when the costs span more than 20x. Models
    of equal cost (a student with and without distillation) are set a little apart sideways so that none hides
    another. The whiskers are ± the sample std over the runs.
    Returns the saved figure, or None when no model has any of the costs."""
    panels = [key for key in cost_labels if any(costs.get(n, {}).get(key, 0) > 0 for n in values)]
    if not panels:
        return None
    palette = palette or Palette(values)
    fig, axes = new_figure(len(panels), width=max(5.0, 3.3 * len(panels)), height=4.6, sharey=True)
    for ax, key in zip(axes, panels):
        xs = {name: costs[name][key] for name in values if costs.get(name, {}).get(key, 0) > 0}
        log = max(xs.values()) > 20 * min(xs.values())
        for name, x in dodged(xs, log).items():
            runs = values[name]
            std = spread(runs)
            ax.errorbar([x], [statistics.fmean(runs)], yerr=[std] if std else None, fmt=palette.marker(name),
                        markersize=8, capsize=4, color=palette[name], label=name)
        if log:
            ax.set_xscale("log")
        ax.xaxis.set_major_formatter(FuncFormatter(compact_number))
        ax.margins(x=0.12)
        ax.set_xlabel(cost_labels[key], wrap=True)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel(ylabel, wrap=True)
    axes[0].margins(y=0.15)
    legend_below(fig)
    set_title(fig, title)
    return save(fig, path)
