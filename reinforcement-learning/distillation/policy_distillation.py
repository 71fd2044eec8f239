"""Policy distillation (Rusu et al. 2015, "Policy Distillation"; Czarnecki et al. 2019).

Loop, per iteration:
1. collect ``steps_per_iteration`` steps from ``num_envs`` environments. At each step the teacher labels
   the state (its logits / Q-values / Gaussian) and acts with probability beta(p) (see
   :mod:`kd.rl.distillation.schedules`); otherwise the student acts. The states and labels go into a
   FIFO memory (:class:`~kd.rl.distillation.replay.TeacherLabelledReplay`).
2. take ``updates_per_iteration`` Adam steps on minibatches of ``batch_size`` states from the memory, minimising
   the chosen loss (:mod:`kd.rl.distillation.losses`, ``methods.policy_distillation.loss``) between student and
   teacher outputs: L = mean_{s in batch} loss(pi_S(s), teacher(s)), by default for discrete actions
   KL(softmax(q_T(s) / T) || softmax(z_S(s))) (Rusu et al. eq. 3) and for continuous ones KL(N_T(s) || N_S(s)).

Step 1 is the config's ``distill`` section (:class:`DistillConfig`: how states are collected and labelled, and the
loop's length, evaluations and budget); step 2 the student's own training settings in its ``student`` section
(:class:`StudentTraining`), beside its network, as vision's and NLP's students keep theirs.

The student never sees a reward: everything it learns comes from the teacher's outputs.
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Callable

import numpy as np
import torch
from torch import nn
from tqdm import trange

from kd.common.utils.errors import ConfigError, NonFiniteLossError
from kd.common.utils.loss_watch import LossGrowthWatch
from kd.rl.distillation.losses import PolicyLoss
from kd.rl.distillation.replay import TeacherLabelledReplay
from kd.rl.distillation.schedules import DATA_SOURCES
from kd.rl.environments import make_vector_env
from kd.rl.iteration_log import finish_iteration
from kd.rl.resume import LoopCheckpoint, LoopState
from kd.rl.teacher_model.actions import select_actions, to_env_actions


@dataclass
class DistillConfig:
    """Policy distillation's collection loop, the config's ``distill`` section: who acts while the teacher labels the
    states, how many environment steps in all and per iteration, the memory of labelled states, the periodic
    evaluations and the time budget."""

    data: str = "teacher"
    mix_fraction: float = 0.5
    sample_actions: bool = True
    total_steps: int = 50_000
    num_envs: int = 4
    steps_per_iteration: int = 64
    buffer_size: int = 20_000
    eval_every: int = 10
    eval_episodes: int = 10
    max_minutes: float | None = None  # wall-clock budget: stop after the iteration that exceeds it


@dataclass
class StudentTraining:
    """How the student learns from the memory of teacher-labelled states: the training settings of the config's
    ``student`` section (``student.lr``, ``student.batch_size``, ``student.updates_per_iteration``; the rest of that
    section, ``network`` and ``arch``, builds it)."""

    lr: float = 3e-3  # Adam's learning rate
    batch_size: int = 256  # states per Adam step
    updates_per_iteration: int = 16  # Adam steps per iteration of the collection loop

    @classmethod
    def from_section(cls, student: dict) -> "StudentTraining":
        """The training settings of a ``student`` section (its network's keys left to the network builder)."""
        return cls(**{f.name: student[f.name] for f in fields(cls) if f.name in student})


def distill_policy(student: nn.Module, teacher: nn.Module, env: dict, cfg: DistillConfig, training: StudentTraining,
                   loss_fn: PolicyLoss, seed: int, device: torch.device,
                   evaluate: Callable[[nn.Module], dict] | None = None,
                   callback: Callable[[dict], None] | None = None,
                   checkpoint: LoopCheckpoint | None = None) -> list[dict]:
    """Train ``student`` in place to imitate the frozen ``teacher`` by minimising ``loss_fn(student output, teacher
    output)`` (:func:`~kd.rl.distillation.distillation_loss`) on the states ``cfg`` collects, as ``training`` says;
    return the per-iteration history.

    With ``max_minutes`` the loop stops after the iteration that exceeds the budget (evaluated and
    marked ``stopped_by_time_budget``). ``checkpoint`` saves the loop's state after every iteration
    and, holding a resumed state, continues from it (:class:`~kd.rl.resume.LoopState`).
    """
    per_iteration = cfg.num_envs * cfg.steps_per_iteration
    iterations = cfg.total_steps // per_iteration
    if iterations < 1:
        raise ConfigError(f"distill.total_steps={cfg.total_steps} is less than one iteration ({per_iteration} steps)")
    teacher_share = DATA_SOURCES.get(cfg.data)(cfg.mix_fraction)
    replay = TeacherLabelledReplay(cfg.buffer_size)
    optimizer = torch.optim.Adam(student.parameters(), lr=training.lr)
    rng = np.random.default_rng(seed)
    generator = torch.Generator().manual_seed(seed)
    state = LoopState(checkpoint, rng, generator, model=student, optimizer=optimizer)
    history, last, _ = state.resume()
    if state.budget_spent(cfg.max_minutes):
        return history
    first = last + 1
    advice = state.advice("student.lr")
    growth = LossGrowthWatch(advice)  # a loss a thousand times its first iteration's, still finite, is reported
    envs = make_vector_env(env["name"], cfg.num_envs, **env.get("kwargs", {}))
    obs, _ = envs.reset(seed=seed if first == 1 else seed + first)
    episode_return = np.zeros(cfg.num_envs)
    teacher.eval()
    for iteration in trange(first, iterations + 1, initial=first - 1, total=iterations, desc="distill", unit="iter"):
        beta = teacher_share((iteration - 1) / iterations)
        finished: list[float] = []
        student.eval()
        for _ in range(cfg.steps_per_iteration):
            obs_t = torch.as_tensor(obs).to(device)
            with torch.no_grad():
                teacher_out = teacher(obs_t)
                action = select_actions(teacher_out, deterministic=not cfg.sample_actions)
                if beta < 1.0:
                    student_action = select_actions(student(obs_t), deterministic=not cfg.sample_actions)
                    teacher_acts = torch.as_tensor(rng.random(cfg.num_envs) < beta, device=device)
                    action = torch.where(teacher_acts.view(-1, *[1] * (action.dim() - 1)), action, student_action)
            replay.add(obs_t, teacher_out)
            obs, reward, terminated, truncated, _ = envs.step(to_env_actions(action))
            done = terminated | truncated
            episode_return += reward
            finished += episode_return[done].tolist()
            episode_return[done] = 0.0

        student.train()
        total = 0.0
        for _ in range(training.updates_per_iteration):
            batch_obs, batch_teacher = replay.sample(training.batch_size, generator)
            loss = loss_fn(student(batch_obs), batch_teacher)
            if not torch.isfinite(loss):
                raise NonFiniteLossError(f"distillation loss is {loss.item()} at iteration {iteration}; {advice}")
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            total += float(loss.detach())

        record = {"epoch": iteration, "steps": iteration * per_iteration, "teacher_share": beta,
                  "loss": total / training.updates_per_iteration}
        growth(record["loss"], f"iteration {iteration}")
        if finished:
            record["behaviour_return"] = float(np.mean(finished))
        out_of_time = finish_iteration(record, history, iteration=iteration, last_iteration=iterations,
                                       eval_every=cfg.eval_every, max_minutes=cfg.max_minutes, started=state.started,
                                       model=student, evaluate=evaluate, callback=callback)
        state.save(iteration, iteration * per_iteration, history)
        if out_of_time:
            break
    envs.close()
    return history
