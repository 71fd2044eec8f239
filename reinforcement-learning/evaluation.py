"""Evaluate a policy: N seeded episodes stepped in lockstep, one batched forward per step.

Episode ``i`` resets its own environment with seed ``seed + i``, so the same policy, seed and
episode count always give the same returns (greedy actions; sampled actions draw from a torch RNG
seeded with ``seed`` too).
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from kd.common.metrics.rl import return_stats
from kd.rl.environments import make_env
from kd.rl.teacher_model.actions import select_actions, to_env_actions


@torch.no_grad()
def run_episodes(policy: nn.Module, env: dict, episodes: int, seed: int, deterministic: bool = True,
                 device: str | torch.device = "cpu") -> list[float]:
    """Undiscounted returns of ``episodes`` episodes of ``env`` (``{"name": ..., "kwargs": {...}}``)."""
    envs = [make_env(env["name"], **env.get("kwargs", {})) for _ in range(episodes)]
    obs = [e.reset(seed=seed + i)[0] for i, e in enumerate(envs)]
    returns = np.zeros(episodes)
    active = list(range(episodes))
    was_training = policy.training
    policy.eval()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        while active:
            batch = torch.as_tensor(np.stack([obs[i] for i in active]), device=device)
            actions = to_env_actions(select_actions(policy(batch), deterministic))
            still = []
            for action, i in zip(actions, active):
                obs[i], reward, terminated, truncated, _ = envs[i].step(action)
                returns[i] += reward
                if not (terminated or truncated):
                    still.append(i)
            active = still
    policy.train(was_training)
    for e in envs:
        e.close()
    return returns.tolist()


def evaluate_policy(policy: nn.Module, env: dict, episodes: int, seed: int, deterministic: bool = True,
                    device: str | torch.device = "cpu") -> dict:
    """:func:`run_episodes` summarised by :func:`kd.common.metrics.rl.return_stats` (plus the raw returns)."""
    returns = run_episodes(policy, env, episodes, seed, deterministic, device)
    return {**return_stats(returns), "returns": returns}
