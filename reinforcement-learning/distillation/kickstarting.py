"""Kickstarting (Schmitt et al. 2018, "Kickstarting Deep Reinforcement Learning").

The student learns with its own RL loss (PPO here) on its own rollouts, plus a distillation term
towards the teacher on the same states whose weight is annealed to zero:

    L = L_PPO(student) + lambda(p) * L_distill(pi_S(s), pi_T(s)),  lambda(p) = linear from lambda_0 to lambda_end

so the student can eventually outgrow the teacher. The student needs a value head.
"""
from __future__ import annotations

from contextlib import closing
from typing import Callable

import torch
from torch import Tensor, nn

from kd.rl.algorithms.ppo import PPOConfig, train_ppo
from kd.rl.distillation.losses import PolicyLoss
from kd.rl.distillation.schedules import Schedule
from kd.rl.environments import make_vector_env
from kd.rl.resume import LoopCheckpoint
from kd.rl.teacher_model.networks import PolicyOutput


def kickstart(student: nn.Module, teacher: nn.Module, env: dict, ppo: PPOConfig, loss_fn: PolicyLoss,
              weight: Schedule, seed: int, device: torch.device,
              evaluate: Callable[[nn.Module], dict] | None = None,
              callback: Callable[[dict], None] | None = None,
              checkpoint: LoopCheckpoint | None = None) -> list[dict]:
    """Train ``student`` with PPO plus the annealed distillation term; return the PPO history.

    ``checkpoint``: save / resume the PPO loop's state (:mod:`kd.rl.resume`)."""
    teacher.eval()

    def distill_term(obs: Tensor, out: PolicyOutput, progress: float) -> Tensor | None:
        w = weight(progress)
        if w == 0.0:
            return None
        with torch.no_grad():
            target = teacher(obs)
        return w * loss_fn(out, target)

    with closing(make_vector_env(env["name"], ppo.num_envs, **env.get("kwargs", {}))) as envs:
        return train_ppo(student, envs, ppo, seed, device, evaluate=evaluate, callback=callback,
                         extra_loss=distill_term, extra_loss_name="distill", checkpoint=checkpoint,
                         lr_key="methods.kickstarting.lr")
