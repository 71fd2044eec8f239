"""Learning curves: one line per model against epochs (or steps, or a swept setting); with several runs (seeds)
the line is their mean and a shaded band shows ± one sample standard deviation, where every run has a point."""
from __future__ import annotations

import statistics
from pathlib import Path
from typing import Mapping, Sequence

from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator

from kd.common.utils.plotting.style import Palette, compact_number, legend_below, new_figure, note, save, set_title
from kd.common.utils.report import spread

Curve = Mapping[float, float]  # one run: x (epoch, step, ...) -> y


WORDS = {"acc": "accuracy", "ppl": "perplexity", "val": "validation", "eval": "evaluation",
         "agreement": "agreement with the teacher"}


def readable(key: str) -> str:
    """A history key as a legend label: ``test_acc`` -> ``test accuracy``, ``loss_kd`` -> ``loss kd``, ``loss`` ->
    ``total loss``."""
    return "total loss" if key == "loss" else " ".join(WORDS.get(word, word) for word in key.split("_"))


def history_series(history: Sequence[dict], keys: Sequence[str] | Mapping[str, str],
                   x_key: str = "epoch") -> dict[str, list[Curve]]:
    """The curves of one run's ``history`` records for ``plot_curves``: per key, ``{record[x_key]: record[key]}``
    (keys no record has are left out). ``keys`` maps legend labels to keys, or is a list of keys (labelled
    by :func:`readable`)."""
    labelled = keys if isinstance(keys, Mapping) else {readable(key): key for key in keys}
    series = {label: [{r[x_key]: r[key] for r in history if key in r and x_key in r}]
              for label, key in labelled.items()}
    return {label: runs for label, runs in series.items() if runs[0]}


def plot_curves(series: Mapping[str, Sequence[Curve]], path: str | Path, *, xlabel: str, ylabel: str,
                title: str = "", palette: Palette | None = None, integer_x: bool = False, log_x: bool = False,
                references: Mapping[str, float] | None = None) -> Figure | None:
    """One line per label of ``series`` (label -> one curve per run): the mean over its runs, with a ± std band where
    there are two or more runs (:func:`~kd.common.utils.report.spread`: the sample std), drawn only at the x values
    every run of the label has: where one run is shorter (a time budget, a run cut short) a mean over fewer runs
    would jump by their difference, so those x values are left out and the note above the plot says how many. Runs
    with no point at all are not counted. ``references`` draws dashed horizontal lines
    (e.g. the teacher's final return). ``integer_x``: whole-number ticks (epochs). Large x values (environment
    steps) are written 10k, 1M. Returns the saved figure, or None when there is nothing to draw."""
    present = {label: [run for run in runs if run] for label, runs in series.items()}
    present = {label: runs for label, runs in present.items() if runs}
    if not present:
        return None
    palette = palette or Palette([*present, *(references or {})])
    fig, (ax,) = new_figure(height=4.4)
    left_out = 0
    for label, runs in present.items():
        xs = sorted(set(runs[0]).intersection(*runs[1:]))
        left_out += len(set().union(*runs)) - len(xs)
        values = [[run[x] for run in runs] for x in xs]
        mean = [statistics.fmean(v) for v in values]
        colour = palette[label]
        ax.plot(xs, mean, color=colour, label=label, linewidth=1.6, marker=palette.marker(label),
                markevery=max(1, len(xs) // 30), markersize=3.5)  # at most about 30 markers a line
        if len(runs) > 1:
            std = [spread(v) for v in values]
            ax.fill_between(xs, [m - s for m, s in zip(mean, std)], [m + s for m, s in zip(mean, std)],
                            color=colour, alpha=0.2, linewidth=0)
    for label, value in (references or {}).items():
        ax.axhline(value, color=palette[label], linestyle="--", linewidth=1.2, label=label)
    if log_x:
        ax.set_xscale("log")
        ax.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
    elif integer_x:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    elif max(max(run) for runs in present.values() for run in runs) >= 10_000:
        ax.xaxis.set_major_formatter(FuncFormatter(compact_number))
    seeds = max(len(runs) for runs in present.values())
    if seeds > 1:
        cut = f"; only at x values every seed of a line has ({left_out} others left out)" if left_out else ""
        note(ax, f"line: mean over seeds (up to {seeds} per model); shaded: ± 1 std{cut}")
    ax.set_xlabel(xlabel, wrap=True)
    ax.set_ylabel(ylabel, wrap=True)
    ax.grid(alpha=0.3)
    legend_below(fig)
    set_title(fig, title)
    return save(fig, path)


PROGRESS = (  # the standard figures of a training run: file, y label, which history keys go in it
    ("loss.png", "training loss (mean over the epoch)", lambda k: k.startswith("loss") or k.endswith("_loss")),
    ("accuracy.png", "accuracy (%)", lambda k: "acc" in k or "agreement" in k),
    ("perplexity.png", "perplexity", lambda k: k.endswith("ppl")),
)


def plot_training_progress(history: Sequence[dict], plots_dir: str | Path, title: str = "",
                           x_key: str = "epoch") -> list[Path]:
    """The curves of one training run per epoch, in up to three figures (those its history has keys for):
    ``loss.png`` (the loss and its terms), ``accuracy.png`` (accuracies and agreement with the teacher, %) and
    ``perplexity.png``. Returns the paths written."""
    keys = sorted({k for r in history for k in r})
    written = []
    for name, ylabel, selects in PROGRESS:
        selected = [k for k in keys if selects(k)]
        if any("agreement" in k for k in selected):
            ylabel = "accuracy / agreement with the teacher (%)"
        series = history_series(history, selected, x_key)
        if plot_curves(series, Path(plots_dir) / name, xlabel=x_key, ylabel=ylabel, title=title, integer_x=True):
            written.append(Path(plots_dir) / name)
    return written
