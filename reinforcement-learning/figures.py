"""The figures of RL runs. One run: its returns (and losses) against environment steps. The summary table, per
environment: the students' evaluation return against steps (mean over seeds with a ± std band, the teachers'
returns dashed), each setting's final return with its spread over seeds, and return against policy parameters."""
from __future__ import annotations

import statistics
from collections import defaultdict
from pathlib import Path
from typing import Mapping, Sequence

from kd.common.utils.plotting import Palette, history_series, plot_bars, plot_curves, plot_tradeoff
from kd.common.utils.run_folder import RunFolder

Figures = list[tuple[str, Path]]  # (caption, png) pairs, for kd.common.utils.plotting.figures_markdown
RETURNS = {"periodic evaluation": "eval_return", "training episodes": "train_return",
           "episodes of the data-collecting policy": "behaviour_return"}
RETURN_LABEL = "episode return"
STEPS_LABEL = "environment steps"


def run_figures(run: RunFolder, title: str, losses: Mapping[str, str] | None = None) -> Figures:
    """``plots/returns.png`` (every return the history logs) and, with ``losses`` (legend label -> history key),
    ``plots/loss.png``, against environment steps."""
    figures = []
    path = run.plots / "returns.png"
    if plot_curves(history_series(run.history, RETURNS, "steps"), path, xlabel=STEPS_LABEL, ylabel=RETURN_LABEL,
                   title=title):
        figures.append(("Episode return against environment steps.", path))
    path = run.plots / "loss.png"
    if losses and plot_curves(history_series(run.history, losses, "steps"), path, xlabel=STEPS_LABEL,
                              ylabel="loss (mean over the iteration)", title=f"{title}: loss"):
        figures.append(("Loss against environment steps.", path))
    return figures


def summary_figures(teachers: Mapping[tuple, Sequence[tuple[int, dict]]],
                    students: Mapping[tuple, Sequence[tuple[int, dict]]], labels: Mapping[tuple, str],
                    plots: Path) -> Figures:
    """Per environment (the first element of every key): ``<env>-distillation.png``, ``<env>-returns.png`` and
    ``<env>-return_vs_params.png``. ``teachers`` / ``students``: setting -> ``(seed, final record)`` of each run
    (students' records carry their evaluation ``curve``, steps -> return); ``labels``: setting -> its name. The
    spread over seeds is the sample std (n - 1), as in the table."""
    returns: dict[str, dict[str, list[float]]] = defaultdict(dict)
    params: dict[str, dict[str, dict]] = defaultdict(dict)
    curves: dict[str, dict[str, list[dict]]] = defaultdict(dict)
    for key, runs in teachers.items():
        returns[key[0]][labels[key]] = [final["teacher_return_mean"] for _, final in runs]
        params[key[0]][labels[key]] = {"params": runs[0][1]["policy_parameters"]}
    for key, runs in students.items():
        returns[key[0]][labels[key]] = [final["student_return_mean"] for _, final in runs]
        params[key[0]][labels[key]] = {"params": runs[0][1]["student_parameters"]}
        curves[key[0]][labels[key]] = [final["curve"] for _, final in runs]
    figures = []
    for env in sorted(returns):
        palette = Palette(returns[env])
        teacher_lines = {labels[k]: statistics.fmean(returns[env][labels[k]]) for k in teachers if k[0] == env}
        path = plots / f"{env}-distillation.png"
        if plot_curves(curves[env], path, xlabel=STEPS_LABEL, ylabel=f"evaluation {RETURN_LABEL}", palette=palette,
                       references=teacher_lines,
                       title=f"{env}: the students' evaluation return (teachers dashed)"):
            figures.append((f"{env}: students' evaluation return against environment steps, mean over seeds with "
                            "a ± std band; dashed: the teachers' final return.", path))
        path = plots / f"{env}-returns.png"
        plot_bars(returns[env], path, xlabel=f"{RETURN_LABEL} on held-out seeds (mean over episodes)",
                  palette=palette, fmt="{:.1f}", title=f"{env}: final return of each setting")
        figures.append((f"{env}: final return of each setting, mean over seeds, ± std whisker, a dot per seed.", path))
        path = plots / f"{env}-return_vs_params.png"
        if plot_tradeoff(returns[env], params[env], path, ylabel=RETURN_LABEL, palette=palette,
                         cost_labels={"params": "policy parameters"}, title=f"{env}: return against policy size"):
            figures.append((f"{env}: return against the number of policy parameters.", path))
    return figures
