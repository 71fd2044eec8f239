"""Any registered gymnasium environment, by its id or a short name, with the wrappers its spaces call for.

``env.name`` is a gymnasium id (``CartPole-v1``, ``Acrobot-v1``, ``MountainCar-v0``, ``Pendulum-v1``,
``MountainCarContinuous-v0``, ``LunarLander-v3``, ``HalfCheetah-v5``, ``CarRacing-v3``, ``ALE/Pong-v5``, ...)
or one of the short names in :data:`ALIASES`. The wrappers follow from the spaces, not from a list of names:

- Box actions: ``ClipAction`` (a Gaussian policy samples outside the bounds); Discrete actions: none.
- vector observations (a rank-1 Box): none; other non-image Boxes are flattened.
- image observations (a uint8 Box of shape (H, W), (H, W, 1) or (H, W, 3)): grayscale, resized to
  ``screen_size`` x ``screen_size`` (84) and a stack of ``frame_stack`` (4) frames, uint8, shape (4, 84, 84):
  what the CNN encoder reads. Atari ids (``ALE/...``, registered from ale-py) get Machado et al. 2018's
  preprocessing instead: no-op starts, frame skip 4 with max-pooling, 84x84 grayscale, a 4-frame stack, sticky
  actions 0.25 (the v5 default), the full game as one episode, rewards as the game gives them. That is not
  CleanRL's ppo_atari nor Mnih et al. 2015 (``NoFrameskip-v4``: no sticky actions, an episode per life, FIRE on
  reset, rewards clipped to their sign), so an Atari return here is not directly comparable with theirs; PPO's
  ``normalize_reward`` scales rewards where a game's are large.

Other spaces (Dict, Tuple or Discrete observations; MultiDiscrete actions) are refused in one line. An
environment's ``kwargs`` (``env.kwargs`` in a config) are those wrapper settings plus anything ``gym.make``
takes (``max_episode_steps``, the environment's own arguments such as ``continuous: true`` for LunarLander).
They are stored in every checkpoint (``{"name": ..., "kwargs": {...}}``), so a reloaded policy is evaluated
under exactly the wrappers it was trained with.
"""
from __future__ import annotations

import warnings

import gymnasium as gym
import numpy as np

from kd.common.utils.errors import ConfigError, UnknownNameError

ALIASES = {"cartpole": "CartPole-v1", "acrobot": "Acrobot-v1", "lunarlander": "LunarLander-v3",
           "halfcheetah": "HalfCheetah-v5", "hopper": "Hopper-v5", "pong": "ALE/Pong-v5", "breakout": "ALE/Breakout-v5"}
IMAGE_SETTINGS = {"screen_size": 84, "frame_stack": 4}
ATARI_SETTINGS = {"frame_skip": 4, "screen_size": 84, "frame_stack": 4, "noop_max": 30, "terminal_on_life_loss": False}


def env_id(name: str) -> str:
    """The gymnasium id ``name`` stands for: a short name's id, or ``name`` itself."""
    return ALIASES.get(name, name)


def same_env(a: dict, b: dict) -> bool:
    """Whether two ``{"name", "kwargs"}`` settings make the same environment (a short name equals its id)."""
    return env_id(a["name"]) == env_id(b["name"]) and dict(a.get("kwargs") or {}) == dict(b.get("kwargs") or {})


def is_image(space: gym.Space) -> bool:
    """A uint8 Box of shape (H, W), (H, W, 1) or (H, W, 3): frames, not a vector of measurements."""
    shape = getattr(space, "shape", None) or ()
    return (isinstance(space, gym.spaces.Box) and space.dtype == np.uint8
            and (len(shape) == 2 or (len(shape) == 3 and shape[-1] in (1, 3))))


def make_env(name: str, render_mode: str | None = None, **kwargs) -> gym.Env:
    """One environment by gymnasium id or short name, wrapped for its spaces (see the module docstring)."""
    gym_id = env_id(name)
    atari = gym_id.startswith("ALE/")
    if atari:
        import ale_py

        gym.register_envs(ale_py)
    defaults = ATARI_SETTINGS if atari else IMAGE_SETTINGS
    given = sorted(set(kwargs) & set(defaults))
    settings = {key: kwargs.pop(key, value) for key, value in defaults.items()}
    if atari:  # AtariPreprocessing skips the frames (with max-pooling), so the base env must not
        kwargs = {"frameskip": 1, "repeat_action_probability": 0.25, **kwargs}
    env = _make(name, gym_id, render_mode, kwargs)
    _check_spaces(gym_id, env)
    if isinstance(env.action_space, gym.spaces.Box):
        env = gym.wrappers.ClipAction(env)
    if atari:
        env = gym.wrappers.AtariPreprocessing(env, noop_max=settings["noop_max"], frame_skip=settings["frame_skip"],
                                              screen_size=settings["screen_size"], grayscale_obs=True,
                                              terminal_on_life_loss=settings["terminal_on_life_loss"], scale_obs=False)
        return gym.wrappers.FrameStackObservation(env, stack_size=settings["frame_stack"])
    if is_image(env.observation_space):
        if len(env.observation_space.shape) == 3:
            env = gym.wrappers.GrayscaleObservation(env) if env.observation_space.shape[-1] == 3 else \
                gym.wrappers.ReshapeObservation(env, env.observation_space.shape[:2])
        size = settings["screen_size"]
        env = gym.wrappers.ResizeObservation(env, (size, size))
        return gym.wrappers.FrameStackObservation(env, stack_size=settings["frame_stack"])
    if given:
        env.close()
        raise ConfigError(f"env.kwargs {given} are settings of image observations; {gym_id} has vector observations")
    return gym.wrappers.FlattenObservation(env) if len(env.observation_space.shape) > 1 else env


def _make(name: str, gym_id: str, render_mode: str | None, kwargs: dict) -> gym.Env:
    """``gym.make`` with its errors as one line: an unknown id, a missing dependency, a setting it does not take.

    The warnings it gives (e.g. a newer version exists) are shown when it succeeds; a failure's line says it all.
    """
    with warnings.catch_warnings(record=True) as caught:  # recorded as the filters in force would show them
        try:
            env = gym.make(gym_id, render_mode=render_mode, **kwargs)
        except gym.error.Error as err:  # NameNotFound, VersionNotFound, DeprecatedEnv, DependencyNotInstalled, ...
            raise UnknownNameError(f"unknown environment '{name}': {str(err).splitlines()[0]} Pass a registered "
                                   f"gymnasium id (e.g. CartPole-v1, Pendulum-v1, MountainCarContinuous-v0) or a "
                                   f"short name: {', '.join(sorted(ALIASES))}") from None
        except TypeError as err:
            reason = str(err).split(" was raised from")[0]
            raise ConfigError(f"environment {gym_id} does not take the settings {sorted(kwargs)} ({reason}); "
                              "check env.kwargs") from None
    for warning in caught:
        warnings.showwarning(warning.message, warning.category, warning.filename, warning.lineno)
    return env


def _check_spaces(gym_id: str, env: gym.Env) -> None:
    obs, act = env.observation_space, env.action_space
    if not isinstance(obs, gym.spaces.Box):
        env.close()
        raise ConfigError(f"{gym_id} has {obs} observations; kd.rl trains on vectors and images (Box spaces)")
    if not (isinstance(act, gym.spaces.Discrete) or (isinstance(act, gym.spaces.Box) and len(act.shape) == 1)):
        env.close()
        raise ConfigError(f"{gym_id} has {act} actions; kd.rl trains on Discrete and Box actions")
