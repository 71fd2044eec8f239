"""Plots with matplotlib's Agg backend (no display needed). Under torch.distributed only rank 0 writes them."""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from kd.common.utils import distributed  # noqa: E402


def _save(fig, path: str | Path) -> None:
    """Write the figure (on rank 0 only under torch.distributed: one writer per file) and free it."""
    if distributed.is_main():
        fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_curves(history: Sequence[dict], keys: Sequence[str], path: str | Path, title: str = "",
                x_key: str = "epoch") -> Path | None:
    """One line per key present in ``history`` records, against ``x_key``. Returns None when nothing to plot."""
    present = [k for k in keys if any(k in r for r in history)]
    if not present:
        return None
    fig, ax = plt.subplots(figsize=(6, 4))
    for key in present:
        xs = [r[x_key] for r in history if key in r]
        ys = [r[key] for r in history if key in r]
        ax.plot(xs, ys, marker="o", markersize=3, label=key)
    ax.set_xlabel(x_key)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    _save(fig, path)
    return Path(path)


def plot_training_progress(history: Sequence[dict], plots_dir: str | Path, title: str = "") -> list[Path]:
    """The two standard curves of a run: losses (``loss*``) and accuracies (``*acc*``) per epoch."""
    keys = sorted({k for r in history for k in r})
    out = []
    for name, selected in (
        ("loss.png", [k for k in keys if k.startswith("loss") or k.endswith("_loss")]),
        ("accuracy.png", [k for k in keys if "acc" in k]),
    ):
        path = plot_curves(history, selected, Path(plots_dir) / name, title=title)
        if path:
            out.append(path)
    return out


def plot_bars(labels: Sequence[str], values: Sequence[float], path: str | Path, ylabel: str,
              title: str = "", errors: Sequence[float] | None = None) -> Path:
    fig, ax = plt.subplots(figsize=(max(4, 1.2 * len(labels)), 4))
    bars = ax.bar(labels, values, yerr=errors, capsize=4, color="#4C72B0")
    for bar, value in zip(bars, values):
        ax.annotate(f"{value:.2f}", (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                    ha="center", va="bottom", fontsize=8)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.tick_params(axis="x", rotation=20)
    fig.tight_layout()
    _save(fig, path)
    return Path(path)


def plot_scatter(points: Sequence[tuple[str, float, float]], path: str | Path, xlabel: str, ylabel: str,
                 title: str = "", logx: bool = True) -> Path:
    """Labelled points, e.g. accuracy vs parameters."""
    fig, ax = plt.subplots(figsize=(6, 4))
    for label, x, y in points:
        ax.scatter([x], [y])
        ax.annotate(label, (x, y), textcoords="offset points", xytext=(4, 4), fontsize=8)
    if logx:
        ax.set_xscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    _save(fig, path)
    return Path(path)
