"""Environments: any registered gymnasium id (or a short name) with the wrappers its spaces call for, and
vector environments."""
from kd.rl.environments.factories import ALIASES, env_id, make_env, same_env
from kd.rl.environments.vector import final_observations, make_vector_env

__all__ = ["ALIASES", "env_id", "final_observations", "make_env", "make_vector_env", "same_env"]
