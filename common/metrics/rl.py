"""Reinforcement-learning metrics: episode-return statistics and the share of the teacher's return kept."""
from __future__ import annotations

import statistics
from typing import Sequence


def return_stats(returns: Sequence[float]) -> dict[str, float]:
    """Mean, population std, min and max of undiscounted episode returns, and the episode count.

    mean = (1/N) sum_i R_i,  std = sqrt((1/N) sum_i (R_i - mean)^2)

    The std divides by N (ddof=0): it is the spread of these N episodes' returns, the ``+-`` of every per-run figure
    (``return_std``, printed by :func:`format_return`) and of those published in reinforcement-learning/README.md,
    not the sample std over seeds (N - 1) of the report tables, :func:`kd.common.utils.report.spread`.
    """
    if not returns:
        raise ValueError("return_stats needs at least one episode return")
    values = [float(r) for r in returns]
    return {
        "return_mean": statistics.fmean(values),
        "return_std": statistics.pstdev(values),
        "return_min": min(values),
        "return_max": max(values),
        "episodes": len(values),
    }


def last_training_episodes(history: Sequence[dict], n: int = 100) -> dict[str, float] | None:
    """:func:`return_stats` of the last ``n`` episodes the *training* policy finished (stochastic, exploring),
    read from the ``train_episode_returns`` lists of a loop's history records; None if none finished.

    This is the figure CleanRL's and RL Baselines3 Zoo's learning curves and tables report ("episodic
    return" of the agent while it trains, averaged over the last episodes), unlike this repo's main figure,
    the return of the saved policy on held-out seeds.
    """
    returns = [r for record in history for r in record.get("train_episode_returns", ())]
    return return_stats(returns[-n:]) if returns else None


def percent_of_teacher(student_return: float, teacher_return: float, random_return: float | None = None) -> float:
    """The student's return as a percentage of the teacher's.

    Plain: 100 * R_S / R_T. With ``random_return`` (the score of a uniform random policy) the
    normalised score 100 * (R_S - R_rand) / (R_T - R_rand), which stays meaningful when returns are costs
    (Acrobot, Pendulum; :func:`kd.rl.evaluation.percent_baseline` takes it where the teacher's return is not
    positive, so LunarLander's teachers get the plain ratio).
    """
    base = 0.0 if random_return is None else float(random_return)
    span = float(teacher_return) - base
    if span == 0:
        raise ValueError("the teacher's return equals the baseline; the percentage is undefined")
    return 100.0 * (float(student_return) - base) / span


def format_return(stats: dict[str, float]) -> str:
    """``"487.3 +- 12.1 (n=10)"``: the mean return +- the population std over the ``n`` episodes
    (:func:`return_stats`)."""
    return f"{stats['return_mean']:.1f} +- {stats['return_std']:.1f} (n={stats['episodes']})"
