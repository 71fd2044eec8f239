"""A short PPO run on CartPole clearly beats a random policy (about 22)."""
import torch

from kd.rl.algorithms import PPOConfig, train_ppo
from kd.rl.environments import make_vector_env
from kd.rl.evaluation import evaluate_policy, run_episodes
from kd.rl.teacher_model import ActorCritic

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
