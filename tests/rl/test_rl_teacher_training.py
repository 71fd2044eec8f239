"""A short PPO run on CartPole clearly beats a random policy (about 22); DQN keeps a time budget."""
import torch

from kd.rl.algorithms import DQNConfig, PPOConfig, train_dqn, train_ppo
from kd.rl.environments import make_vector_env
from kd.rl.evaluation import evaluate_policy, run_episodes
from kd.rl.teacher_model import ActorCritic
from kd.rl.teacher_model.networks import QNetwork

CARTPOLE = {"name": "cartpole", "kwargs": {}}


def test_short_ppo_run_beats_random_on_cartpole():
    torch.manual_seed(0)
    agent = ActorCritic([4], "discrete", 2, hidden=[64, 64], normalize_obs=True)
    random_policy = ActorCritic([4], "discrete", 2, hidden=[8], normalize_obs=False)  # untrained: ~uniform logits
    random_return = sum(run_episodes(random_policy, CARTPOLE, 10, seed=0, deterministic=False)) / 10
    cfg = PPOConfig(total_steps=16_384, num_envs=4, num_steps=128, eval_every=1000)
    history = train_ppo(agent, make_vector_env("cartpole", 4), cfg, seed=0, device=torch.device("cpu"),
                        evaluate=lambda a: evaluate_policy(a, CARTPOLE, 5, seed=0))
    trained = evaluate_policy(agent, CARTPOLE, 10, seed=123)["return_mean"]
    assert random_return < 40
    assert trained > 150, f"PPO after 16k steps scored {trained:.1f}"
    assert "eval_return" in history[-1] and history[-1]["steps"] == 16_384
    assert agent.normalizer.count.item() > 16_000  # the observation statistics were collected


def test_dqn_stops_at_its_first_record_once_its_time_budget_is_spent():
    cfg = DQNConfig(total_steps=600, learning_starts=100, buffer_size=1000, eval_every=200, batch_size=32,
                    train_every=2, target_update_every=100, max_minutes=0.0)
    history = train_dqn(QNetwork([4], "discrete", 2, hidden=[16]), CARTPOLE, cfg, 0, torch.device("cpu"),
                        evaluate=lambda q: evaluate_policy(q, CARTPOLE, 2, seed=0))
    assert [r["steps"] for r in history] == [200]
    assert history[0]["stopped_by_time_budget"] and "eval_return" in history[0]
