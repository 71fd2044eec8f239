"""The reinforcement-learning algorithms that train a policy on its own rollouts: PPO (discrete and continuous
actions), which trains the teachers and, through kickstarting, students; DQN, which trains Q-value teachers. The
networks they train are the models of ``teacher_model`` and ``student_model``."""
from kd.rl.algorithms.dqn import DQNConfig, train_dqn
from kd.rl.algorithms.ppo import PPOConfig, train_ppo

__all__ = ["DQNConfig", "PPOConfig", "train_dqn", "train_ppo"]
