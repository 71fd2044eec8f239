"""Reliability diagram (Guo et al. 2017): how often each model is right against how sure it is, per confidence bin,
with the share of examples in each bin below."""
from __future__ import annotations

from pathlib import Path
from typing import Mapping, Sequence

from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from kd.common.utils.plotting.style import Palette, legend_below, new_figure, note, save, set_title

Bins = Mapping[str, Sequence[float]]  # kd.common.metrics.calibration_bins: lower, upper, confidence, accuracy, count
FEW = 10  # a bin with fewer examples is drawn hollow and off the line: its accuracy is mostly noise


def plot_reliability(bins: Mapping[str, Bins], path: str | Path, *, title: str = "",
                     ece: Mapping[str, float] | None = None, palette: Palette | None = None) -> Figure:
    """Top: accuracy against mean confidence of each non-empty bin, one line per model (``bins``: model -> its
    :func:`~kd.common.metrics.calibration_bins`), the diagonal being perfect calibration; below the diagonal a
    model is over-confident. Bottom: the share of examples in each of those bins (log scale: most sit in the top
    bin), so a point resting on a handful of examples is seen as such; in the top panel such bins (fewer than
    ``FEW`` examples) are hollow markers off the model's line, which joins only the bins that can be trusted.
    ``ece`` (model -> %) is written in the legend. Returns the saved figure."""
    names = list(bins)
    palette = palette or Palette(names)
    fig, (top, bottom) = new_figure(rows=2, height=6.4, height_ratios=[3, 1.3])
    top.plot([0, 100], [0, 100], color="grey", linestyle=":", linewidth=1, label="perfectly calibrated")
    for name in names:
        b = bins[name]
        label = name + (f" (ECE {ece[name]:.2f}%)" if ece and name in ece else "")
        confidence, accuracy = [100 * c for c in b["confidence"]], [100 * a for a in b["accuracy"]]
        solid = [i for i, n in enumerate(b["count"]) if n >= FEW]
        few = [i for i, n in enumerate(b["count"]) if n < FEW]
        top.plot([confidence[i] for i in solid], [accuracy[i] for i in solid], marker="o", markersize=4,
                 linewidth=1.6, color=palette[name], label=label)
        top.plot([confidence[i] for i in few], [accuracy[i] for i in few], linestyle="none", marker="o",
                 markersize=4, markerfacecolor="none", color=palette[name])
        total = sum(b["count"])
        bottom.plot(confidence, [100 * c / total for c in b["count"]], marker="o", markersize=3, linewidth=1.2,
                    color=palette[name])
    top.set(xlim=(0, 102), ylim=(0, 102), ylabel="accuracy in the bin (%)")
    note(top, "above the dotted diagonal: under-confident; below it: over-confident; "
              f"hollow: a bin of < {FEW} examples")
    top.grid(alpha=0.3)
    bottom.set(xlim=(0, 102), yscale="log", xlabel="confidence: the largest softmax probability (%)",
               ylabel="examples (%)")
    bottom.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
    bottom.grid(alpha=0.3)
    legend_below(fig, columns=1)
    set_title(fig, title)
    return save(fig, path)
