"""Resuming an interrupted RL run: ``--resume RUN_DIR``.

After every iteration (a PPO update, a distillation iteration, a DQN logging interval) the loop writes
its state to ``checkpoints/resume.pt`` (atomically): the networks, the optimiser, the iteration and
step counters, the history, the loop's own statistics (reward scaler), the minutes spent against
``max_minutes`` and the random states (torch's global generator, the loop's numpy and torch
generators). A resumed run loads it and starts at the next iteration, so the learning-rate and
exploration schedules, the step count and the curves carry on; the optimiser keeps the resumed config's
settings (a changed learning rate applies), only its moments come from the file.

Two things are not saved, so a resumed run continues the same optimisation but is not bit-identical
to one that was never stopped: the episodes in flight (the environments are reset with
``seed + iteration``) and the replay memories (DQN's transitions, the distillation memory of teacher
labels): they refill from the resumed run's own steps, and DQN waits until its memory holds
``min(learning_starts, buffer_size)`` transitions again before it learns.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from kd.common.utils.checkpoint import atomic_save

RESUME_FILE = "resume.pt"


@dataclass
class LoopCheckpoint:
    """Where a training loop saves its state (:meth:`save`) and the state it resumes from (``state``)."""

    path: Path
    state: dict | None = None  # what --resume loaded; None: a fresh run

    def save(self, state: dict) -> None:
        atomic_save(state, self.path)


def resumed_state(checkpoint: LoopCheckpoint | None) -> dict | None:
    return checkpoint.state if checkpoint is not None else None


def resume_advice(checkpoint: LoopCheckpoint | None, lr_key: str) -> str:
    """What a diverging loss's message tells the user: lower ``lr_key`` and continue from the last iteration
    (a resumed loop trains at the resumed config's learning rate, :func:`load_optimizer_state`)."""
    run = checkpoint.path.parent.parent if checkpoint is not None else "RUN_DIR"
    return f"lower the learning rate and continue from the last iteration: --resume {run} {lr_key}=<lower>"


def capture_rng(numpy_rng: np.random.Generator | None = None, generator: torch.Generator | None = None) -> dict:
    """The random states a loop draws from: torch's global generator and the loop's own ones."""
    return {"torch": torch.get_rng_state(),
            "numpy": numpy_rng.bit_generator.state if numpy_rng is not None else None,
            "generator": generator.get_state() if generator is not None else None}


def restore_rng(state: dict, numpy_rng: np.random.Generator | None = None,
                generator: torch.Generator | None = None) -> None:
    torch.set_rng_state(state["torch"])
    if numpy_rng is not None:
        numpy_rng.bit_generator.state = state["numpy"]
    if generator is not None:
        generator.set_state(state["generator"])


def budget_clock(state: dict | None) -> float:
    """The ``time.monotonic()`` a run's ``max_minutes`` budget counts from: now, minus the minutes already spent."""
    return time.monotonic() - 60.0 * (state["minutes"] if state is not None else 0.0)


def minutes_since(started: float) -> float:
    return (time.monotonic() - started) / 60.0
