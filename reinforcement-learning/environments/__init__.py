"""Environment factories (offline gymnasium environments with their wrappers) and vector environments."""
from kd.rl.environments.factories import ENVIRONMENTS, make_env
from kd.rl.environments.vector import final_observations, make_vector_env

__all__ = ["ENVIRONMENTS", "final_observations", "make_env", "make_vector_env"]
