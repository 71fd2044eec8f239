"""Schedules over training progress p in [0, 1]: who acts while states are collected, kickstarting weights.

Czarnecki et al. (2019) separate the *sampling* policy (whose states the student learns on) from the
loss. ``teacher``: the teacher always acts (Rusu et al. 2015; a supervised-learning view, the student
never sees its own mistakes). ``student``: the student acts and the teacher labels the states it
visits (on-policy distillation, DAgger, Ross et al. 2011). ``mix``: at each step the teacher acts
with probability beta(p), annealed linearly from 1 to 0 over ``mix_fraction`` of training (DAgger's
beta_i schedule).
"""
from __future__ import annotations

from typing import Callable

from kd.common.utils.registry import Registry

Schedule = Callable[[float], float]
DATA_SOURCES: Registry[Schedule] = Registry("distillation data source")


def linear_anneal(start: float, end: float, fraction: float) -> Schedule:
    """v(p) = start + (end - start) * min(p / fraction, 1)."""
    def value(progress: float) -> float:
        share = 1.0 if fraction <= 0 else min(progress / fraction, 1.0)
        return start + (end - start) * share

    return value


DATA_SOURCES.register("teacher")(lambda mix_fraction: linear_anneal(1.0, 1.0, 1.0))
DATA_SOURCES.register("student")(lambda mix_fraction: linear_anneal(0.0, 0.0, 1.0))
DATA_SOURCES.register("mix")(lambda mix_fraction: linear_anneal(1.0, 0.0, mix_fraction))
