"""Teachers: policy networks, PPO (discrete and continuous actions), DQN, and policy checkpoints."""
from kd.rl.teacher_model.checkpoint import load_policy, save_policy
from kd.rl.teacher_model.networks import POLICY_ARCHS, ActorCritic, PolicyOutput, QNetwork, space_kwargs
from kd.rl.teacher_model.ppo import PPOConfig, train_ppo

__all__ = ["POLICY_ARCHS", "ActorCritic", "PPOConfig", "PolicyOutput", "QNetwork", "load_policy",
           "save_policy", "space_kwargs", "train_ppo"]
