"""Resuming an interrupted RL run: ``--resume RUN_DIR``.

After every iteration (a PPO update, a distillation iteration, a DQN logging interval) the loop writes its
state to ``checkpoints/last.pt`` (atomically, :meth:`LoopState.save`): the networks, the optimiser, the
iteration and step counters, the history, the loop's own statistics (reward scaler), the minutes spent against
``max_minutes`` and the random states (torch's global generators, the CUDA ones where CUDA is in use, and the
loop's numpy and torch generators). A
resumed run loads it (:meth:`LoopState.resume`) and starts at the next iteration, so the learning-rate and
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
from torch import nn

from kd.common.utils.checkpoint import atomic_save, load_optimizer_state, load_state_dict_checked
from kd.rl.iteration_log import time_budget_spent


@dataclass
class LoopCheckpoint:
    """Where a training loop saves its state (:meth:`save`) and the state it resumes from (``state``)."""

    path: Path
    state: dict | None = None  # what --resume loaded; None: a fresh run

    def save(self, state: dict) -> None:
        atomic_save(state, self.path)


class LoopState:
    """What one training loop saves after every iteration and continues from: its ``parts`` by name (the networks,
    the optimiser, the loop's own statistics: anything with ``state_dict``; None: not used in this run), its
    counters and history, the minutes spent and the random states (torch's global generator, the loop's
    ``numpy_rng`` and ``generator``). ``started`` is the ``time.monotonic()`` the ``max_minutes`` budget counts
    from: now, less the minutes a resumed run had already spent."""

    def __init__(self, checkpoint: LoopCheckpoint | None, numpy_rng: np.random.Generator | None = None,
                 generator: torch.Generator | None = None, **parts):
        self.checkpoint, self.numpy_rng, self.generator, self.parts = checkpoint, numpy_rng, generator, parts
        self.started, self.resumed = time.monotonic(), False

    def resume(self) -> tuple[list[dict], int, int]:
        """``(history, last iteration, steps)``: a fresh run's ``([], 0, 0)``, or the resumed state's, with the parts,
        the random states and the budget clock restored from it (the optimiser's moments only: its settings stay
        the resumed config's, so a changed learning rate applies)."""
        state = self.checkpoint.state if self.checkpoint is not None else None
        if state is None:
            return [], 0, 0
        for name, part in self.parts.items():
            if isinstance(part, torch.optim.Optimizer):
                load_optimizer_state(part, state[name])
            elif isinstance(part, nn.Module):  # weights of another version of the code: one line naming the file
                load_state_dict_checked(part, state[name], source=f"{self.checkpoint.path} ({name})")
            elif part is not None:
                part.load_state_dict(state[name])
        torch.set_rng_state(state["rng"]["torch"])
        if state["rng"].get("cuda") and torch.cuda.is_available():  # PPO's permutations and sampled actions on a GPU
            torch.cuda.set_rng_state_all(state["rng"]["cuda"])
        if self.numpy_rng is not None:
            self.numpy_rng.bit_generator.state = state["rng"]["numpy"]
        if self.generator is not None:
            self.generator.set_state(state["rng"]["generator"])
        self.started -= 60.0 * state.get("minutes", 0.0)
        self.resumed = True
        return list(state["history"]), state["iteration"], state["steps"]

    def budget_spent(self, max_minutes: float | None) -> bool:
        """True, and a line says so, when a resumed run had already spent its ``max_minutes``
        (:func:`~kd.rl.iteration_log.time_budget_spent`, as each iteration's end counts them): the loop then trains
        nothing, as when its steps are done, instead of one more iteration past the budget."""
        if not (self.resumed and time_budget_spent(max_minutes, self.started)):
            return False
        print(f"this run had spent its time budget (max_minutes={max_minutes}; "
              f"{(time.monotonic() - self.started) / 60.0:.1f} minutes): nothing more is trained; resume it with a "
              "larger max_minutes, or null, to continue")
        return True

    def save(self, iteration: int, steps: int, history: list[dict]) -> None:
        """Write the state after ``iteration`` (``steps`` environment steps so far) to the checkpoint, if any."""
        if self.checkpoint is None:
            return
        rng = {"torch": torch.get_rng_state(),
               "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_initialized() else None,
               "numpy": self.numpy_rng.bit_generator.state if self.numpy_rng is not None else None,
               "generator": self.generator.get_state() if self.generator is not None else None}
        self.checkpoint.save({**{name: part.state_dict() if part is not None else None
                                 for name, part in self.parts.items()},
                              "iteration": iteration, "steps": steps, "history": history, "rng": rng,
                              "minutes": (time.monotonic() - self.started) / 60.0})

    def advice(self, lr_key: str) -> str:
        """What a diverging loss's message tells the user: lower ``lr_key`` and continue from the last iteration."""
        run = self.checkpoint.path.parent.parent if self.checkpoint is not None else "RUN_DIR"
        return f"lower the learning rate and continue from the last iteration: --resume {run} {lr_key}=<lower>"
