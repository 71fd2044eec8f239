"""One horizontal bar per model: the mean of its runs (seeds), a ± std whisker and a dot per run, the value
printed at the bar's end, and an axis zoomed in when the differences are small."""
from __future__ import annotations

import statistics
from pathlib import Path
from typing import Mapping, Sequence

from matplotlib.figure import Figure

from kd.common.utils.plotting.style import Palette, new_figure, note, save, set_title, value_limits, wrap
from kd.common.utils.report import mean_spread, spread

LABEL_CHARS = 26  # model names are wrapped to lines of this many characters next to their bar


def plot_bars(values: Mapping[str, Sequence[float]], path: str | Path, *, xlabel: str, title: str = "",
              palette: Palette | None = None, fmt: str = "{:.2f}", ceiling: float | None = None) -> Figure:
    """Bars of ``values`` (model -> its runs' values, one per seed), top to bottom in the mapping's order.

    Models with two or more runs get a whisker of ± one standard deviation (:func:`~kd.common.utils.report.spread`:
    the sample one) and a dot per run; the printed value is ``mean ± std`` (``fmt`` formats both), the mean alone
    for one run (:func:`~kd.common.utils.report.mean_spread`). ``ceiling``: the largest value the quantity can take
    (100 for a percentage); the axis runs past it only to make room for the printed values, without ticks there.
    Returns the saved figure."""
    names = list(values)
    palette = palette or Palette(names)
    means = [statistics.fmean(values[n]) for n in names]
    stds = [spread(values[n]) for n in names]
    lows = [min(m - s, *values[n]) for n, m, s in zip(names, means, stds)]
    highs = [max(m + s, *values[n]) for n, m, s in zip(names, means, stds)]
    (start, end), zoomed = value_limits(lows, highs)
    room = 0.35 * (end - start)  # for the printed values: right of positive bars, left of negative ones
    start, end = start - room * any(m < 0 for m in means), end + room * any(m >= 0 for m in means)
    labels = [wrap(n, LABEL_CHARS) for n in names]
    fig, (ax,) = new_figure(height=1.3 + 0.42 * sum(label.count("\n") + 1 for label in labels))
    rows = list(range(len(names)))
    ax.barh(rows, means, height=0.6, color=[palette[n] for n in names])
    seeded = [row for row, name in zip(rows, names) if len(values[name]) > 1]
    if seeded:
        ax.errorbar([means[r] for r in seeded], seeded, xerr=[stds[r] for r in seeded], fmt="none", ecolor="black",
                    elinewidth=1.2, capsize=4)
        for row in seeded:
            runs = values[names[row]]
            ax.scatter(runs, [row] * len(runs), s=14, color="black", alpha=0.6, zorder=3)
        seeds = max(len(values[names[r]]) for r in seeded)
        note(ax, f"bar: mean over seeds (up to {seeds} per model); whisker: ± 1 std; dot: one seed")
    gap = 0.015 * (end - start)
    for row, name, mean, low, high in zip(rows, names, means, lows, highs):
        text = mean_spread(values[name], fmt)
        if mean < 0:
            ax.text(low - gap, row, text, va="center", ha="right", fontsize=9)
        else:
            ax.text(high + gap, row, text, va="center", fontsize=9)
    ax.set_yticks(rows, labels)
    ax.invert_yaxis()  # the first model on top, as in the table
    ax.set_xlim(start, end)
    if ceiling is not None:
        ax.set_xticks([t for t in ax.get_xticks() if start <= t <= ceiling])
    ax.set_xlabel(xlabel + (" (axis zoomed in)" if zoomed else ""), wrap=True)
    ax.grid(axis="x", alpha=0.3)
    ax.set_axisbelow(True)
    set_title(fig, title)
    return save(fig, path)
