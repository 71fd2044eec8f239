"""The end of one training iteration, shared by the PPO/DQN teachers and policy distillation.

Each loop builds its own record (losses, steps); this adds the periodic evaluation, checks the
wall-clock budget (``max_minutes``), appends the record to the history and hands it to the callback.
"""
from __future__ import annotations

import time
from typing import Callable

from torch import nn


def time_budget_spent(max_minutes: float | None, started: float) -> bool:
    """Whether more than ``max_minutes`` (None: no budget) have passed since ``started`` (``time.monotonic()``)."""
    return max_minutes is not None and time.monotonic() - started > 60.0 * max_minutes


def finish_iteration(record: dict, history: list[dict], *, iteration: int, last_iteration: int,
                     eval_every: int, max_minutes: float | None, started: float, model: nn.Module,
                     evaluate: Callable[[nn.Module], dict] | None, callback: Callable[[dict], None] | None) -> bool:
    """Evaluate every ``eval_every`` iterations (and at the last one or when time is up), log the record;
    return True when the budget of ``max_minutes`` since ``started`` (``time.monotonic()``) is spent."""
    out_of_time = time_budget_spent(max_minutes, started)
    if evaluate is not None and (iteration % eval_every == 0 or iteration == last_iteration or out_of_time):
        stats = evaluate(model)
        record["eval_return"], record["eval_return_std"] = stats["return_mean"], stats["return_std"]
    if out_of_time:
        record["stopped_by_time_budget"] = True
    history.append(record)
    if callback is not None:
        callback(record)
    return out_of_time
