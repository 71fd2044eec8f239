"""Proximal Policy Optimization (Schulman et al. 2017) in the CleanRL style: one readable loop.

Discrete (categorical) and continuous (diagonal Gaussian) actions share the loop; the network decides.
Per update: collect ``num_steps`` steps from ``num_envs`` environments, compute GAE(lambda) advantages
(Schulman et al. 2016), then ``update_epochs`` passes of minibatch SGD on

    L = -min(r A, clip(r, 1-eps, 1+eps) A) + c_v * max((V - R)^2, (V_clip - R)^2) / 2 - c_e * H[pi]
    r = pi(a|s) / pi_old(a|s)

plus an optional ``extra_loss`` (kickstarting adds its distillation term there).

Vector environments use SAME_STEP autoreset (see :mod:`kd.rl.environments.vector`): ``done_t`` marks
that the episode ended at step t, so GAE does not bootstrap across it; a time-limit truncation adds
gamma * V(final_obs) to the last reward instead, which keeps the truncated tail's value.
Observation statistics are updated after each update from that rollout, so a rollout and its
update always see the same normalisation. Reward scaling (optional) divides rewards by the running
std of the discounted return, like gymnasium's NormalizeReward; the clip is +-10.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
from torch import Tensor, nn
from tqdm import trange

from kd.common.utils.errors import ConfigError, NonFiniteLossError
from kd.rl.environments.vector import final_observations
from kd.rl.iteration_log import finish_iteration
from kd.rl.resume import LoopCheckpoint, LoopState
from kd.rl.teacher_model.actions import action_distribution, to_env_actions
from kd.rl.teacher_model.networks import PolicyOutput


@dataclass
class PPOConfig:
    total_steps: int = 500_000
    num_envs: int = 4
    num_steps: int = 128
    lr: float = 2.5e-4
    anneal_lr: bool = True
    gamma: float = 0.99
    gae_lambda: float = 0.95
    num_minibatches: int = 4
    update_epochs: int = 4
    clip_coef: float = 0.2
    clip_vloss: bool = True
    ent_coef: float = 0.01
    vf_coef: float = 0.5
    max_grad_norm: float = 0.5
    norm_adv: bool = True
    target_kl: float | None = None
    normalize_reward: bool = False
    update_obs_norm: bool = True
    eval_every: int = 10
    eval_episodes: int = 10
    max_minutes: float | None = None  # wall-clock budget: stop after the update that exceeds it


class RewardScaler:
    """r / sqrt(Var[G] + eps), G_t = gamma G_{t-1} + r_t per environment, reset at episode ends."""

    def __init__(self, num_envs: int, gamma: float, clip: float = 10.0, eps: float = 1e-8):
        self.gamma, self.clip, self.eps = gamma, clip, eps
        self.returns = np.zeros(num_envs)
        self.mean, self.var, self.count = 0.0, 1.0, 1e-4

    def state_dict(self) -> dict:
        return {"mean": self.mean, "var": self.var, "count": self.count}

    def load_state_dict(self, state: dict) -> None:
        self.mean, self.var, self.count = state["mean"], state["var"], state["count"]

    def __call__(self, reward: np.ndarray, done: np.ndarray) -> np.ndarray:
        self.returns = self.returns * self.gamma + reward
        batch_mean, batch_var, n = self.returns.mean(), self.returns.var(), len(self.returns)
        delta, total = batch_mean - self.mean, self.count + n
        self.var = (self.var * self.count + batch_var * n + delta**2 * self.count * n / total) / total
        self.mean += delta * n / total
        self.count = total
        self.returns[done] = 0.0
        return np.clip(reward / np.sqrt(self.var + self.eps), -self.clip, self.clip)


ExtraLoss = Callable[[Tensor, PolicyOutput, float], Tensor]


def train_ppo(agent: nn.Module, envs, cfg: PPOConfig, seed: int, device: torch.device,
              evaluate: Callable[[nn.Module], dict] | None = None,
              callback: Callable[[dict], None] | None = None,
              extra_loss: ExtraLoss | None = None, extra_loss_name: str = "distill",
              checkpoint: LoopCheckpoint | None = None, lr_key: str = "teacher.ppo.lr") -> list[dict]:
    """Train ``agent`` (an :class:`~kd.rl.teacher_model.networks.ActorCritic`) in place; return the history.

    ``evaluate(agent) -> stats`` runs every ``eval_every`` updates and after the last one.
    ``callback(record)`` receives every update's record (for logging and checkpointing).
    ``extra_loss(obs, output, progress)`` is added to the PPO loss of each minibatch.
    With ``max_minutes`` the run stops after the update that exceeds the budget (evaluated, marked
    ``stopped_by_time_budget``); the learning-rate schedule still assumes ``total_steps``.
    ``checkpoint`` saves the loop's state after every update and, holding a resumed state, continues
    from it (:class:`~kd.rl.resume.LoopState`). ``lr_key``: the config key of ``cfg.lr``, which the
    message of a non-finite loss tells the user to lower.
    """
    batch_size = cfg.num_envs * cfg.num_steps
    num_updates = cfg.total_steps // batch_size
    if num_updates < 1:
        raise ConfigError(f"total_steps={cfg.total_steps} is less than one rollout ({batch_size} steps)")
    minibatch = batch_size // cfg.num_minibatches
    optimizer = torch.optim.Adam(agent.parameters(), lr=cfg.lr, eps=1e-5)
    obs_space, act_space = envs.single_observation_space, envs.single_action_space
    obs_buf = torch.zeros((cfg.num_steps, cfg.num_envs, *obs_space.shape),
                          dtype=torch.as_tensor(obs_space.sample()).dtype)
    act_buf = torch.zeros((cfg.num_steps, cfg.num_envs, *act_space.shape),
                          dtype=torch.as_tensor(act_space.sample()).dtype)
    logp_buf, rew_buf, done_buf, val_buf = (torch.zeros(cfg.num_steps, cfg.num_envs) for _ in range(4))
    scaler = RewardScaler(cfg.num_envs, cfg.gamma) if cfg.normalize_reward else None

    state = LoopState(checkpoint, model=agent, optimizer=optimizer, reward_scaler=scaler)
    history, last_update, global_step = state.resume()
    if state.budget_spent(cfg.max_minutes):
        return history
    first_update = last_update + 1
    obs, _ = envs.reset(seed=seed if first_update == 1 else seed + first_update)
    envs.action_space.seed(seed)
    episode_return = np.zeros(cfg.num_envs)
    for update in trange(first_update, num_updates + 1, initial=first_update - 1, total=num_updates,
                         desc="ppo", unit="update"):
        progress = (update - 1) / num_updates
        if cfg.anneal_lr:
            optimizer.param_groups[0]["lr"] = (1.0 - progress) * cfg.lr
        finished: list[float] = []
        agent.eval()
        for t in range(cfg.num_steps):
            obs_t = torch.as_tensor(obs)
            with torch.no_grad():
                out = agent(obs_t.to(device))
                dist = action_distribution(out)
                action = dist.sample()
            next_obs, reward, terminated, truncated, info = envs.step(to_env_actions(action))
            global_step += cfg.num_envs
            done = terminated | truncated
            episode_return += reward
            finished += episode_return[done].tolist()
            episode_return[done] = 0.0
            reward = scaler(reward, done) if scaler is not None else reward.astype(np.float64)
            cut = truncated & ~terminated
            if cut.any():  # time limit: bootstrap from the real last observation, not the reset one
                last = torch.as_tensor(final_observations(next_obs, info)[cut]).to(device)
                with torch.no_grad():
                    reward[cut] += cfg.gamma * agent(last).value.cpu().numpy()
            obs_buf[t], act_buf[t] = obs_t, action.cpu()
            logp_buf[t], val_buf[t] = dist.log_prob(action).cpu(), out.value.cpu()
            rew_buf[t] = torch.as_tensor(reward, dtype=torch.float32)
            done_buf[t] = torch.as_tensor(done, dtype=torch.float32)
            obs = next_obs

        with torch.no_grad():
            next_value = agent(torch.as_tensor(obs).to(device)).value.cpu()
        advantages = torch.zeros_like(rew_buf)
        last_gae = torch.zeros(cfg.num_envs)
        for t in reversed(range(cfg.num_steps)):
            following = next_value if t == cfg.num_steps - 1 else val_buf[t + 1]
            not_done = 1.0 - done_buf[t]
            delta = rew_buf[t] + cfg.gamma * following * not_done - val_buf[t]
            last_gae = delta + cfg.gamma * cfg.gae_lambda * not_done * last_gae
            advantages[t] = last_gae
        returns = advantages + val_buf

        b_obs = obs_buf.reshape(-1, *obs_space.shape).to(device)
        b_act = act_buf.reshape(-1, *act_space.shape).to(device)
        b_logp, b_adv, b_ret, b_val = (x.reshape(-1).to(device) for x in (logp_buf, advantages, returns, val_buf))
        agent.train()
        terms = {"policy_loss": 0.0, "value_loss": 0.0, "entropy": 0.0, "approx_kl": 0.0, extra_loss_name: 0.0}
        steps = 0
        for _ in range(cfg.update_epochs):
            order = torch.randperm(batch_size, device=device)
            for start in range(0, batch_size, minibatch):
                idx = order[start:start + minibatch]
                out = agent(b_obs[idx])
                dist = action_distribution(out)
                new_logp = dist.log_prob(b_act[idx])
                log_ratio = new_logp - b_logp[idx]
                ratio = log_ratio.exp()
                adv = b_adv[idx]
                if cfg.norm_adv:
                    adv = (adv - adv.mean()) / (adv.std() + 1e-8)
                pg_loss = torch.max(-adv * ratio, -adv * ratio.clamp(1 - cfg.clip_coef, 1 + cfg.clip_coef)).mean()
                v_err = (out.value - b_ret[idx]).pow(2)
                if cfg.clip_vloss:
                    v_clipped = b_val[idx] + (out.value - b_val[idx]).clamp(-cfg.clip_coef, cfg.clip_coef)
                    v_err = torch.max(v_err, (v_clipped - b_ret[idx]).pow(2))
                v_loss = 0.5 * v_err.mean()
                entropy = dist.entropy().mean()
                loss = pg_loss - cfg.ent_coef * entropy + cfg.vf_coef * v_loss
                extra = extra_loss(b_obs[idx], out, progress) if extra_loss is not None else None
                if extra is not None:
                    loss = loss + extra
                if not torch.isfinite(loss):
                    raise NonFiniteLossError(f"PPO loss is {loss.item()} at update {update} (policy "
                                             f"{pg_loss.item():.4g}, value {v_loss.item():.4g}); "
                                             f"{state.advice(lr_key)}")
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                nn.utils.clip_grad_norm_(agent.parameters(), cfg.max_grad_norm)
                optimizer.step()
                with torch.no_grad():
                    approx_kl = ((ratio - 1) - log_ratio).mean()
                for name, value in (("policy_loss", pg_loss), ("value_loss", v_loss), ("entropy", entropy),
                                    ("approx_kl", approx_kl), (extra_loss_name, extra)):
                    if value is not None:
                        terms[name] += float(value.detach())
                steps += 1
            if cfg.target_kl is not None and terms["approx_kl"] / steps > cfg.target_kl:
                break
        if cfg.update_obs_norm:
            agent.normalizer.update(b_obs)

        record = {"epoch": update, "steps": global_step, **{k: v / steps for k, v in terms.items()}}
        if extra_loss is None:
            record.pop(extra_loss_name)
        if finished:
            record["train_return"] = float(np.mean(finished))
            record["train_episode_returns"] = list(finished)
        out_of_time = finish_iteration(record, history, iteration=update, last_iteration=num_updates,
                                       eval_every=cfg.eval_every, max_minutes=cfg.max_minutes, started=state.started,
                                       model=agent, evaluate=evaluate, callback=callback)
        state.save(update, global_step, history)
        if out_of_time:
            break
    return history
