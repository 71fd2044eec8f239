"""The look every plot shares: the Agg backend, constrained layout, wrapped text, one colour per model, saving.

Text is wrapped to the figure's width and legends sit below the axes (the figure grows by the legend's height, so
a long legend never squeezes the plot), so titles and labels are never cut at an edge and never run into each
other; :func:`value_limits` zooms an axis in when the values differ by little compared with their size;
:class:`Palette` gives a name the same colour and marker in every plot of a run.
"""
from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Iterable, Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from kd.common.utils import distributed  # noqa: E402

COLOURS = ["#4C72B0", "#DD8452", "#55A868", "#C44E52", "#8172B3", "#937860", "#DA8BC3", "#8C8C8C", "#CCB974",
           "#64B5CD"]  # seaborn's "deep": distinct, print well, readable by most colour-blind readers
MARKERS = ["o", "s", "^", "D", "v"]  # one per round of COLOURS: the 11th name has the 1st colour, another marker
DPI = 150
TITLE_SIZE = 11
CHARS_PER_INCH = 11  # of 11-pt text, with a margin: how many characters a line of a figure's width holds


class Palette:
    """One colour and one marker per name, kept for every plot it is passed to: a name gets the next colour the
    first time it is asked for, and once the colours run out they come round again with the next marker, so no two
    names share both. Build one per run from its models in table order, so the teacher is always the first."""

    def __init__(self, names: Iterable[str] = ()):
        self._order: dict[str, int] = {}
        for name in names:
            self[name]

    def __getitem__(self, name: str) -> str:
        """``name``'s colour."""
        return COLOURS[self._index(name) % len(COLOURS)]

    def marker(self, name: str) -> str:
        """``name``'s marker (a matplotlib marker code)."""
        return MARKERS[self._index(name) // len(COLOURS) % len(MARKERS)]

    def _index(self, name: str) -> int:
        return self._order.setdefault(name, len(self._order))


def wrap(text: str, width: int) -> str:
    """``text`` broken into lines of at most ``width`` characters (at spaces, or inside a word longer than that)."""
    return "\n".join(textwrap.fill(line, width) for line in str(text).splitlines()) if text else ""


def new_figure(panels: int = 1, width: float = 6.4, height: float = 4.0, rows: int = 1,
               height_ratios: Sequence[float] | None = None, sharey: bool = False) -> tuple[Figure, list[Axes]]:
    """A figure with constrained layout (nothing clipped, nothing overlapping) and its axes, in reading order."""
    fig, axes = plt.subplots(rows, panels, figsize=(width, height), layout="constrained", squeeze=False,
                             sharey=sharey, gridspec_kw={"height_ratios": height_ratios} if height_ratios else None)
    return fig, list(axes.flat)


def set_title(fig: Figure, title: str) -> None:
    """The figure's title, wrapped to its width."""
    if title:
        fig.suptitle(wrap(title, int(fig.get_figwidth() * CHARS_PER_INCH)), fontsize=TITLE_SIZE)


def note(ax: Axes, text: str) -> None:
    """A small line of explanation above ``ax`` (what the bars, bands or colours mean), wrapped to the figure."""
    ax.set_title(text, fontsize=9, wrap=True)


def legend_below(fig: Figure, columns: int | None = None) -> None:
    """One legend for all of ``fig``'s labelled artists (each label once), below the plot, labels wrapped to the
    width of one column, so long model names neither cover data nor leave the figure. The figure grows by the
    legend's height, so the axes keep the height they were made with however many models there are."""
    entries: dict[str, object] = {}
    for ax in fig.axes:
        for handle, label in zip(*ax.get_legend_handles_labels()):
            entries.setdefault(label, handle)
    if not entries:
        return
    line = int(fig.get_figwidth() * CHARS_PER_INCH * 1.15)  # legend text is 9 pt, not 11
    if columns is None:
        fits_one_row = sum(len(label) + 6 for label in entries) <= line
        columns = len(entries) if fits_one_row else 1 if max(map(len, entries)) > 40 else 2
    width = line // columns - 6
    legend = fig.legend(list(entries.values()), [wrap(label, width) for label in entries],
                        loc="outside lower center", ncols=columns, fontsize=9, frameon=False)
    legend_inches = legend.get_window_extent(fig.canvas.get_renderer()).height / fig.dpi
    fig.set_figheight(fig.get_figheight() + legend_inches)


def value_limits(lows: Sequence[float], highs: Sequence[float], floor: float = 0.0) -> tuple[tuple[float, float], bool]:
    """Axis limits that show every value in ``[min(lows), max(highs)]`` with a small margin, and whether they are
    zoomed in.

    The axis reaches ``floor`` (where bars start) unless the values all lie above it in a band narrower than a
    quarter of their distance from it (98.0 vs 98.2 on a 0-100 scale), where showing ``floor`` would hide the
    differences; then it shows the band with a margin."""
    lo, hi = min(lows), max(highs)
    span = hi - lo
    if lo > floor and span < 0.25 * (hi - floor):
        margin = max(span, 0.01 * abs(hi), 1e-9) * 0.5
        start = max(floor, lo - margin)
        return (start, hi + 0.05 * (hi - start)), True
    pad = 0.05 * max(max(hi, floor) - min(lo, floor), 1e-9)
    return (lo - pad if lo < floor else floor, hi + pad if hi > floor else floor), False


def compact_number(value: float, _position=None) -> str:
    """A tick label: 950, 12k, 3.5M, 2G (a matplotlib formatter)."""
    for size, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= size:
            return f"{value / size:g}{suffix}"
    return f"{value:g}"


def save(fig: Figure, path: str | Path) -> Figure:
    """Write ``fig`` as a PNG (on rank 0 only under torch.distributed: one writer per file), free its memory and
    return it (its artists can still be inspected)."""
    if distributed.is_main():
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=DPI)
    plt.close(fig)
    return fig
