"""Build a policy network for an environment from a config section ``{network: NAME, arch: {...}}``."""
from __future__ import annotations

from torch import nn

from kd.common.utils.errors import ConfigError
from kd.rl.environments import make_env
from kd.rl.teacher_model.networks import POLICY_ARCHS, space_kwargs


def build_policy(section: dict, env: dict) -> nn.Module:
    """``POLICY_ARCHS[section['network']](**spaces of env, **section['arch'])``; an actor-critic without an
    ``encoder`` setting gets the CNN for image observations (C, H, W) and the MLP for vectors."""
    probe = make_env(env["name"], **env.get("kwargs", {}))
    spaces = space_kwargs(probe.observation_space, probe.action_space)
    probe.close()
    arch = dict(section.get("arch") or {})
    if section["network"] == "actor_critic":
        arch.setdefault("encoder", "cnn" if len(spaces["obs_shape"]) == 3 else "mlp")
    try:
        return POLICY_ARCHS.build(section["network"], **spaces, **arch)
    except TypeError as err:  # a misspelt architecture argument in the config
        raise ConfigError(f"bad architecture settings for '{section['network']}': {err}") from err
