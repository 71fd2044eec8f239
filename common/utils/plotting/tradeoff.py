"""The trade-off at a glance: quality (accuracy, BLEU, return) against what the model costs (parameters, FLOPs,
latency), one panel per cost, one marker per model, ± std whiskers over seeds."""
from __future__ import annotations

import statistics
from pathlib import Path
from typing import Mapping, Sequence

from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from kd.common.utils.plotting.style import Palette, compact_number, legend_below, new_figure, save, set_title, spread


def plot_tradeoff(values: Mapping[str, Sequence[float]], costs: Mapping[str, Mapping[str, float]],
                  path: str | Path, *, ylabel: str, cost_labels: Mapping[str, str], title: str = "",
                  palette: Palette | None = None, sample_std: bool = True) -> Figure | None:
    """``values``: model -> its runs' quality (one per seed); ``costs``: model -> ``{cost key: value}``;
    ``cost_labels``: cost key -> x-axis label (with its unit), in panel order. A panel is drawn for each cost
    that some model has (a positive value); its x axis is logarithmic when the costs span more than 20x. The
    whiskers are ± the sample std over the runs (the population one with ``sample_std=False``).
    Returns the saved figure, or None when no model has any of the costs."""
    panels = [key for key in cost_labels if any(costs.get(n, {}).get(key, 0) > 0 for n in values)]
    if not panels:
        return None
    palette = palette or Palette(values)
    fig, axes = new_figure(len(panels), width=max(5.0, 3.3 * len(panels)), height=4.6, sharey=True)
    for ax, key in zip(axes, panels):
        xs = []
        for name, runs in values.items():
            x = costs.get(name, {}).get(key, 0)
            if x <= 0:
                continue
            xs.append(x)
            std = spread(runs, sample_std)
            ax.errorbar([x], [statistics.fmean(runs)], yerr=[std] if std else None, fmt="o", markersize=8,
                        capsize=4, color=palette[name], label=name)
        if max(xs) > 20 * min(xs):
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
