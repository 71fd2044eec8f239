"""Where the student's mistakes differ from its teacher's: the difference of their confusion matrices, as a heat
map with the class names on both axes (the classes that differ most, when there are many)."""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
from matplotlib.figure import Figure

from kd.common.utils.plotting.style import new_figure, note, save, set_title, wrap

NAME_CHARS = 16  # class names are wrapped (or cut) to this many characters per line


def confusion_difference(student: Sequence[Sequence[float]], teacher: Sequence[Sequence[float]]) -> np.ndarray:
    """``student - teacher``, each confusion matrix (rows: true class, columns: predicted class, counts) first
    turned into percentages of its row: positive off the diagonal, the student makes that mistake more often."""
    def percent(matrix):
        matrix = np.asarray(matrix, dtype=float)
        return 100 * matrix / np.maximum(matrix.sum(1, keepdims=True), 1)
    return percent(student) - percent(teacher)


def plot_confusion_difference(student: Sequence[Sequence[float]], teacher: Sequence[Sequence[float]],
                              class_names: Sequence[str], path: str | Path, *, title: str = "",
                              max_classes: int = 12) -> Figure:
    """Heat map of :func:`confusion_difference` (red: the student predicts that column for that row's class
    more often than the teacher; blue: less often, so a blue diagonal cell is a class the student gets right
    less often). With more than ``max_classes`` classes only those whose row and column differ most are shown,
    in their original order. Every cell carries its value in percentage points. Returns the saved figure."""
    diff = confusion_difference(student, teacher)
    n = len(diff)
    shown = np.arange(n)
    if n > max_classes:
        score = np.abs(diff).sum(0) + np.abs(diff).sum(1)
        shown = np.sort(np.argsort(-score, kind="stable")[:max_classes])
    sub = diff[np.ix_(shown, shown)]
    names = [wrap(str(class_names[i])[:2 * NAME_CHARS], NAME_CHARS) for i in shown]
    k = len(shown)
    side = max(5.0, 1.6 + 0.5 * k)
    fig, (ax,) = new_figure(width=side + 1.2, height=side)
    limit = max(float(np.abs(sub).max()), 1.0)
    image = ax.imshow(sub, cmap="RdBu_r", vmin=-limit, vmax=limit)
    for i in range(k):
        for j in range(k):
            if abs(sub[i, j]) >= 0.05:
                ax.text(j, i, f"{sub[i, j]:+.1f}".replace("-", "\u2212"), ha="center", va="center",
                        fontsize=7 if k > 8 else 8, color="white" if abs(sub[i, j]) > 0.6 * limit else "black")
    ax.set_xticks(np.arange(k + 1) - 0.5, minor=True)
    ax.set_yticks(np.arange(k + 1) - 0.5, minor=True)
    ax.grid(which="minor", color="white", linewidth=1)
    ax.tick_params(which="minor", length=0)
    long_names = max(len(name) for name in names) > 3
    ax.set_xticks(range(k), names, rotation=45 if long_names else 0, ha="right" if long_names else "center",
                  rotation_mode="anchor", fontsize=8)
    ax.set_yticks(range(k), names, fontsize=8)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    if k < n:
        note(ax, f"the {k} of {n} classes where the two differ most")
    fig.colorbar(image, ax=ax, shrink=0.8, label="student − teacher (percentage points of the true class)")
    set_title(fig, title)
    return save(fig, path)
