"""Lookahead EMA: every ``every`` optimiser steps the live weights are pulled back to a slow moving average.

The slow copy ``ema`` of a model's float weights and buffers (BatchNorm's running statistics included) starts
as the weights at construction. After optimiser step ``t`` with ``t % every == 0``:

    decay = base ** every * (t / T) ** 3        (T: the run's total optimiser steps; t / T capped at 1)
    ema   = decay * ema + (1 - decay) * w       (``ema.lerp_(w, 1 - decay)``)
    w     = ema                                  (the live weights restart from the average)

so the fast weights explore for ``every`` steps and then take one step back towards the slow ones (Zhang et al.
2019, "Lookahead Optimizer: k steps forward, 1 step back", whose interpolation factor is ``1 - decay`` here).
The decay ramps from 0 (early on the average simply follows the weights: move fast) to ``base ** every`` at the
end (average strongly). After the last step one final update with ``decay = 1`` makes the weights the average
itself (:meth:`Lookahead.finish`). This is airbench94's scheme (Jordan 2024, "94% on CIFAR-10 in 3.29 Seconds
on a Single GPU": ``every = 5``, ``base = 0.95``, the cube ramp and the final copy).

Parameters frozen (``requires_grad=False``) when the Lookahead is built are left out: they do not move, so averaging
them changes nothing. What is tracked is decided then, once: a model frozen *later* stays tracked. Guide mode
(image-classification/pipeline.py) freezes its teacher between rounds to relabel the images while the teacher's
Lookahead lives on across rounds: re-deciding at each update or at the final copy would skip the teacher's weights
whenever they are frozen, and a Lookahead rebuilt while the teacher is frozen (at a resume, say) would hold none of
them (:meth:`Lookahead.restart` restarts the average over the tensors chosen at construction instead).
The :class:`~kd.common.engine.distiller.Distiller` calls :meth:`step` after each optimiser step and
:meth:`finish` at the end of the epoch that reaches step ``T``; :meth:`state_dict` goes into its ``last.pt``, so
``--resume`` continues the same average.
"""
from __future__ import annotations

from typing import Iterable

import torch
from torch import Tensor, nn

from kd.common.utils.config import did_you_mean, is_whole_number
from kd.common.utils.errors import ConfigError

SETTINGS = {"every": 5, "base": 0.95}
"""The settings a config's ``lookahead`` mapping may give, with airbench94's values."""


def _unwrap(model: nn.Module) -> nn.Module:
    while hasattr(model, "module") or hasattr(model, "_orig_mod"):  # DDP / torch.compile wrappers
        model = getattr(model, "module", None) or getattr(model, "_orig_mod")
    return model


class Lookahead:
    """airbench94's lookahead EMA over the float state of ``modules`` (see the module docstring).

    Args:
        modules: the trained modules (e.g. the student and the method, whose projectors train too); their
            wrappers (DDP, torch.compile) are looked through, so the state does not depend on them.
        total_steps: ``T``, the optimiser steps of the whole run (epochs x steps per epoch).
        every: steps between two updates (airbench: 5).
        base: per-step decay at the end of training; the decay of one update there is ``base ** every``.
    """

    def __init__(self, modules: nn.Module | Iterable[nn.Module], total_steps: int, every: int = 5,
                 base: float = 0.95):
        if not is_whole_number(every) or every < 1:
            raise ConfigError(f"lookahead every must be a whole number of steps >= 1, got {every!r}")
        if not 0.0 <= base < 1.0:
            raise ConfigError(f"lookahead base must be in [0, 1), got {base!r}")
        self.modules = [modules] if isinstance(modules, nn.Module) else list(modules)
        self.total_steps, self.every, self.base = max(1, int(total_steps)), every, float(base)
        self.finished = False
        self.ema = {name: value.clone() for name, value in self._float_state(skip_frozen=True).items()}

    def _float_state(self, skip_frozen: bool = False) -> dict[str, Tensor]:
        """The modules' float tensors by name (``<module index>.<state_dict key>``), sharing storage; with
        ``skip_frozen`` without the parameters that do not require gradients now."""
        state = {}
        for i, module in enumerate(self.modules):
            module = _unwrap(module)
            frozen = {name for name, p in module.named_parameters() if not p.requires_grad} if skip_frozen else set()
            for name, value in module.state_dict(keep_vars=True).items():
                if name not in frozen and torch.is_floating_point(value):
                    state[f"{i}.{name}"] = value.detach()
        return state

    def _live(self) -> dict[str, Tensor]:
        """The tracked tensors, sharing storage: those chosen at construction (the keys of ``ema``), whatever their
        ``requires_grad`` is now (see the module docstring: guide mode's teacher is frozen between rounds)."""
        state = self._float_state()
        return {name: state[name] for name in self.ema}

    @torch.no_grad()
    def restart(self) -> None:
        """The average starts again from the current weights (a run resumed from a checkpoint saved without one)."""
        for name, w in self._live().items():
            self.ema[name].copy_(w)
        self.finished = False

    def decay(self, step: int) -> float:
        """The decay of the update after optimiser step ``step``: ``base ** every * min(1, step / T) ** 3``."""
        return self.base ** self.every * min(1.0, step / self.total_steps) ** 3

    @torch.no_grad()
    def update(self, decay: float) -> None:
        """``ema = decay * ema + (1 - decay) * w``, then ``w = ema``, for every tracked tensor."""
        for name, w in self._live().items():
            ema = self.ema[name]
            ema.lerp_(w, 1.0 - decay)
            w.copy_(ema)

    def step(self, step: int) -> None:
        """Called after optimiser step ``step`` (1-based, counted over the whole run): an update every ``every``."""
        if step % self.every == 0:
            self.update(self.decay(step))

    def finish(self) -> None:
        """The final update (``decay = 1``): the weights become the average. Once per run; later calls do nothing."""
        if not self.finished:
            self.update(1.0)
            self.finished = True

    def state_dict(self) -> dict:
        return {"ema": {name: value.clone() for name, value in self.ema.items()}, "finished": self.finished}

    def load_state_dict(self, state: dict) -> None:
        if set(state["ema"]) != set(self.ema):
            raise ConfigError("the checkpoint's lookahead average holds other tensors than this model's; "
                              "resume with the run's own architecture")
        with torch.no_grad():
            for name, value in state["ema"].items():
                self.ema[name].copy_(value)
        self.finished = bool(state["finished"])


def lookahead_settings(value, key: str) -> dict | None:
    """A config's ``lookahead`` value checked: ``None`` or ``{every: 0}`` (off) -> None, else the mapping of
    :data:`SETTINGS` it gives (missing ones at airbench's values); an unknown setting is a one-line ConfigError
    naming ``key`` and the setting meant."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ConfigError(f"{key} must be a mapping such as {{every: 5, base: 0.95}} (every: 0 turns it off), "
                          f"got {value!r}")
    for name in value:
        if name not in SETTINGS:
            raise ConfigError(f"unknown config key '{key}.{name}'"
                              f"{did_you_mean(f'{key}.{name}', [f'{key}.{k}' for k in SETTINGS])}")
    settings = {**SETTINGS, **value}
    every, base = settings["every"], settings["base"]
    if not is_whole_number(every) or every < 0:
        raise ConfigError(f"{key}.every must be a whole number of steps (0: off), got {every!r}")
    if not isinstance(base, (int, float)) or isinstance(base, bool) or not 0.0 <= base < 1.0:
        raise ConfigError(f"{key}.base must be a number in [0, 1), got {base!r}")
    return settings if every else None
