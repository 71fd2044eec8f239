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
    # manual_seed reseeds every CUDA device too: fork those in use, so training's random stream resumes unchanged
    # (forking would initialise CUDA in a CPU run)
    with torch.random.fork_rng(devices=range(torch.cuda.device_count()) if torch.cuda.is_initialized() else []):
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


def random_policy_returns(env: dict, episodes: int, seed: int) -> list[float]:
    """Undiscounted returns of a uniform random policy (``action_space.sample()``, seeded ``seed + i``) on the
    same episodes :func:`run_episodes` plays: the baseline of a random-normalised score."""
    returns = []
    for i in range(episodes):
        e = make_env(env["name"], **env.get("kwargs", {}))
        e.reset(seed=seed + i)
        e.action_space.seed(seed + i)
        total, done = 0.0, False
        while not done:
            _, reward, terminated, truncated, _ = e.step(e.action_space.sample())
            total, done = total + float(reward), terminated or truncated
        e.close()
        returns.append(total)
    return returns


def percent_baseline(teacher_return: float, env: dict, episodes: int, seed: int) -> float | None:
    """The ``random_return`` of :func:`kd.common.metrics.rl.percent_of_teacher` for this teacher: None (the plain
    100 * R_S / R_T) while its return is positive; where it is not (Acrobot, Pendulum: returns are costs) that
    ratio reads backwards (a worse student, -180 against -90, would score 200 %), so the score is
    random-normalised, 100 * (R_S - R_rand) / (R_T - R_rand), with R_rand the mean return of
    :func:`random_policy_returns` on the same episodes."""
    return None if teacher_return > 0 else float(np.mean(random_policy_returns(env, episodes, seed)))


def percent_heading(random_return: float | None) -> str:
    """The table heading of a :func:`percent_baseline` score: says when 0 % is the random policy's return."""
    return "% of teacher" if random_return is None else f"% of teacher (0 % = random policy, {random_return:.1f})"
