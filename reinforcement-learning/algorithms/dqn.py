"""Deep Q-learning (Mnih et al. 2015) in the CleanRL style, for discrete-action teachers.

One environment, epsilon-greedy exploration annealed linearly, a replay memory, a target network
copied every ``target_update_every`` steps, and the TD loss

    L = mean (Q(s, a) - [r + gamma (1 - terminated) max_a' Q_target(s', a')])^2

A truncated episode (time limit) still bootstraps from s' (only ``terminated`` stops it). The
resulting Q-values are a teacher for Rusu et al.'s policy distillation with a sharp temperature
(``methods.policy_distillation.temperature=0.01``).
"""
from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm import trange

from kd.rl.environments import make_env
from kd.rl.iteration_log import finish_iteration
from kd.rl.resume import LoopCheckpoint, LoopState


@dataclass
class DQNConfig:
    total_steps: int = 500_000
    lr: float = 2.5e-4
    buffer_size: int = 10_000
    gamma: float = 0.99
    target_update_every: int = 500
    batch_size: int = 128
    start_epsilon: float = 1.0
    end_epsilon: float = 0.05
    exploration_fraction: float = 0.5
    learning_starts: int = 10_000
    train_every: int = 10
    eval_every: int = 10_000
    eval_episodes: int = 10
    max_minutes: float | None = None  # wall-clock budget: stop at the first record after it is spent


def train_dqn(qnet: nn.Module, env: dict, cfg: DQNConfig, seed: int, device: torch.device,
              evaluate: Callable[[nn.Module], dict] | None = None,
              callback: Callable[[dict], None] | None = None,
              checkpoint: LoopCheckpoint | None = None) -> list[dict]:
    """Train ``qnet`` (a :class:`~kd.rl.teacher_model.networks.QNetwork`) in place; one record per ``eval_every`` steps.

    ``checkpoint`` saves the loop's state at every record and, holding a resumed state, continues from
    it with an empty replay memory, learning again once it holds ``min(learning_starts, buffer_size)``
    transitions (:class:`~kd.rl.resume.LoopState`).
    """
    target = copy.deepcopy(qnet).eval()
    optimizer = torch.optim.Adam(qnet.parameters(), lr=cfg.lr)
    rng = np.random.default_rng(seed)
    state = LoopState(checkpoint, rng, model=qnet, target=target, optimizer=optimizer)
    history, _, last_step = state.resume()
    if state.budget_spent(cfg.max_minutes):
        return history
    environment = make_env(env["name"], **env.get("kwargs", {}))
    first_step = last_step + 1
    obs, _ = environment.reset(seed=seed if first_step == 1 else seed + first_step)
    shape = environment.observation_space.shape
    memory = {"obs": np.zeros((cfg.buffer_size, *shape), np.float32),
              "next": np.zeros((cfg.buffer_size, *shape), np.float32),
              "action": np.zeros(cfg.buffer_size, np.int64), "reward": np.zeros(cfg.buffer_size, np.float32),
              "terminated": np.zeros(cfg.buffer_size, np.float32)}
    warm = min(cfg.learning_starts, cfg.buffer_size)  # a fresh run reaches it at step learning_starts
    size, episode_return, finished, losses = 0, 0.0, [], []
    for step in trange(first_step, cfg.total_steps + 1, initial=first_step - 1, total=cfg.total_steps, desc="dqn",
                       unit="step", mininterval=1.0):
        epsilon = cfg.start_epsilon + (cfg.end_epsilon - cfg.start_epsilon) * min(
            step / (cfg.exploration_fraction * cfg.total_steps), 1.0)
        if rng.random() < epsilon:
            action = int(rng.integers(environment.action_space.n))
        else:
            with torch.no_grad():
                action = int(qnet(torch.as_tensor(obs[None]).to(device)).logits.argmax(-1))
        next_obs, reward, terminated, truncated, _ = environment.step(action)
        i = (step - first_step) % cfg.buffer_size
        for key, value in (("obs", obs), ("next", next_obs), ("action", action), ("reward", reward),
                           ("terminated", float(terminated))):
            memory[key][i] = value
        size = min(size + 1, cfg.buffer_size)
        episode_return += float(reward)
        obs = next_obs
        if terminated or truncated:
            finished.append(episode_return)
            episode_return = 0.0
            obs, _ = environment.reset()

        if step > cfg.learning_starts and size >= warm and step % cfg.train_every == 0:
            idx = rng.integers(0, size, cfg.batch_size)
            batch = {k: torch.as_tensor(v[idx]).to(device) for k, v in memory.items()}
            with torch.no_grad():
                best_next = target(batch["next"]).logits.max(-1).values
                td_target = batch["reward"] + cfg.gamma * (1.0 - batch["terminated"]) * best_next
            q = qnet(batch["obs"]).logits.gather(1, batch["action"][:, None]).squeeze(1)
            loss = F.mse_loss(q, td_target)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            losses.append(float(loss.detach()))
        if step % cfg.target_update_every == 0:
            target.load_state_dict(qnet.state_dict())

        if step % cfg.eval_every == 0 or step == cfg.total_steps:
            record = {"epoch": len(history) + 1, "steps": step, "epsilon": epsilon}
            if losses:
                record["td_loss"] = float(np.mean(losses))
            if finished:
                record["train_return"] = float(np.mean(finished))
                record["train_episode_returns"] = list(finished)
            # every record is an evaluation point (eval_every steps apart): eval_every=1 counts in records
            out_of_time = finish_iteration(record, history, iteration=record["epoch"], last_iteration=record["epoch"],
                                           eval_every=1, max_minutes=cfg.max_minutes, started=state.started,
                                           model=qnet, evaluate=evaluate, callback=callback)
            state.save(record["epoch"], step, history)
            losses, finished = [], []
            if out_of_time:
                break
    environment.close()
    return history
