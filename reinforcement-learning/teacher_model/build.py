"""Build a policy network for an environment from a config section ``{network: NAME, arch: {...}}``."""
from __future__ import annotations

from torch import nn

from kd.common.utils.errors import ConfigError
from kd.common.utils.registry import check_arguments
from kd.rl.environments import make_env
from kd.rl.teacher_model.networks import POLICY_ARCHS, space_kwargs


def build_policy(section: dict, env: dict, name: str = "teacher") -> nn.Module:
    """``POLICY_ARCHS[section['network']](**spaces of env, **section['arch'])``; an actor-critic without an
    ``encoder`` setting gets the CNN for image observations (C, H, W) and the MLP for vectors. ``name``: the config
    section (``teacher``, ``student``) that errors name: a misspelt ``{name}.arch`` key is one line with the argument
    meant."""
    probe = make_env(env["name"], **env.get("kwargs", {}))
    spaces = space_kwargs(probe.observation_space, probe.action_space)
    probe.close()
    arch = dict(section.get("arch") or {})
    if section["network"] == "actor_critic":
        arch.setdefault("encoder", "cnn" if len(spaces["obs_shape"]) == 3 else "mlp")
    fixed = sorted(set(arch) & set(spaces))
    if fixed:
        raise ConfigError(f"{name}.arch.{fixed[0]} is set by the environment's spaces: drop it")
    try:
        check_arguments(POLICY_ARCHS, section["network"], supplied=spaces, **spaces, **arch)
    except ConfigError as err:
        raise ConfigError(f"{name}.arch: {err}") from None
    try:
        return POLICY_ARCHS.build(section["network"], **spaces, **arch)
    except TypeError as err:  # an argument of the wrong type (hidden: 8 instead of [8])
        raise ConfigError(f"bad {name}.arch settings for '{section['network']}': {err}") from err
