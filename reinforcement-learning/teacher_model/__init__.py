"""Teachers: policy networks (actor-critic and Q-networks), their actions, observation normaliser and checkpoints.
The algorithms that train them are in ``kd.rl.algorithms``."""
from kd.rl.teacher_model.checkpoint import load_policy, save_policy
from kd.rl.teacher_model.networks import POLICY_ARCHS, ActorCritic, PolicyOutput, QNetwork, space_kwargs

__all__ = ["POLICY_ARCHS", "ActorCritic", "PolicyOutput", "QNetwork", "load_policy", "save_policy", "space_kwargs"]
