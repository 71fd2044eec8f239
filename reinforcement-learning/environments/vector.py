"""Vector environments with an explicit autoreset mode.

gymnasium 1.x changed the default autoreset to ``NEXT_STEP``: the step *after* an episode ends
returns the reset observation, ignores the action and gives reward 0, so a rollout must mask that
step out. We use ``SAME_STEP`` instead: the step that ends an episode already returns the first
observation of the next one, and the last observation of the finished episode is in
``info["final_obs"][i]`` (valid where ``info["_final_obs"][i]``). Every step is then a real
transition, and a rollout only has to

- treat ``terminated | truncated`` as the end of the episode (no bootstrapping across it), and
- for a *truncated* (time-limit) episode, bootstrap from ``final_obs``, not from the new observation
  (see :func:`final_observations`).
"""
from __future__ import annotations

import numpy as np
from gymnasium.vector import AutoresetMode, SyncVectorEnv

from kd.rl.environments.factories import make_env


def make_vector_env(name: str, num_envs: int, **kwargs) -> SyncVectorEnv:
    """``num_envs`` copies of ``make_env(name, **kwargs)`` stepped in lockstep, SAME_STEP autoreset.

    Seed it with ``envs.reset(seed=s)``: copy ``i`` gets seed ``s + i``.
    """
    return SyncVectorEnv([lambda: make_env(name, **kwargs) for _ in range(num_envs)],
                         autoreset_mode=AutoresetMode.SAME_STEP)


def final_observations(next_obs: np.ndarray, info: dict) -> np.ndarray:
    """The true last observation of each sub-environment's transition.

    Where an episode just ended (SAME_STEP), ``next_obs[i]`` is already the next episode's first
    observation; the finished episode's last one is ``info["final_obs"][i]``.
    """
    if "_final_obs" not in info:
        return next_obs
    out = next_obs.copy()
    for i in np.flatnonzero(info["_final_obs"]):
        out[i] = info["final_obs"][i]
    return out
