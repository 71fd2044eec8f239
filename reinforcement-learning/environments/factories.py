"""Named gymnasium environments that run offline, each with the wrappers it is trained under.

A factory takes ``render_mode`` and its own keyword settings and returns one ``gymnasium.Env``. The
settings are stored in every checkpoint (``{"name": ..., "kwargs": {...}}``), so a reloaded policy
is evaluated under exactly the wrappers it was trained with.

- classic control: CartPole-v1, Acrobot-v1 (no wrappers)
- Box2D: LunarLander-v3 (needs ``box2d`` and, for gymnasium's box2d package import, ``pygame``)
- MuJoCo v5: HalfCheetah, Hopper, with ``ClipAction`` (a Gaussian policy samples outside [-1, 1])
- Atari (ale-py ships the ROMs; ``gymnasium.register_envs(ale_py)``): the standard DQN/PPO
  preprocessing (Mnih et al. 2015; Machado et al. 2018): no-op starts, frame skip 4 with max-pooling,
  84x84 grayscale, a stack of 4 frames, sticky actions 0.25 from the v5 environments.
"""
from __future__ import annotations

from typing import Callable

import gymnasium as gym

from kd.common.utils.registry import Registry

ENVIRONMENTS: Registry[gym.Env] = Registry("environment")


def _plain(env_id: str) -> Callable[..., gym.Env]:
    def factory(render_mode: str | None = None, max_episode_steps: int | None = None) -> gym.Env:
        return gym.make(env_id, render_mode=render_mode, max_episode_steps=max_episode_steps)

    factory.__doc__ = f"``{env_id}`` without wrappers."
    return factory


def _mujoco(env_id: str) -> Callable[..., gym.Env]:
    def factory(render_mode: str | None = None, max_episode_steps: int | None = None) -> gym.Env:
        env = gym.make(env_id, render_mode=render_mode, max_episode_steps=max_episode_steps)
        return gym.wrappers.ClipAction(env)

    factory.__doc__ = f"``{env_id}`` with actions clipped to the action space."
    return factory


def _atari(env_id: str) -> Callable[..., gym.Env]:
    def factory(render_mode: str | None = None, frame_skip: int = 4, screen_size: int = 84, frame_stack: int = 4,
                noop_max: int = 30, terminal_on_life_loss: bool = False,
                repeat_action_probability: float = 0.25) -> gym.Env:
        import ale_py

        gym.register_envs(ale_py)
        # AtariPreprocessing does the frame skipping (with max-pooling), so the base env must not.
        env = gym.make(env_id, render_mode=render_mode, frameskip=1,
                       repeat_action_probability=repeat_action_probability)
        env = gym.wrappers.AtariPreprocessing(env, noop_max=noop_max, frame_skip=frame_skip,
                                              screen_size=screen_size, terminal_on_life_loss=terminal_on_life_loss,
                                              grayscale_obs=True, scale_obs=False)
        return gym.wrappers.FrameStackObservation(env, stack_size=frame_stack)

    factory.__doc__ = f"``{env_id}`` with AtariPreprocessing (84x84 gray, skip 4) and a 4-frame stack (uint8)."
    return factory


for _name, _id in {"cartpole": "CartPole-v1", "acrobot": "Acrobot-v1", "lunarlander": "LunarLander-v3"}.items():
    ENVIRONMENTS.register(_name)(_plain(_id))
for _name, _id in {"halfcheetah": "HalfCheetah-v5", "hopper": "Hopper-v5"}.items():
    ENVIRONMENTS.register(_name)(_mujoco(_id))
for _name, _id in {"pong": "ALE/Pong-v5", "breakout": "ALE/Breakout-v5"}.items():
    ENVIRONMENTS.register(_name)(_atari(_id))


def make_env(name: str, render_mode: str | None = None, **kwargs) -> gym.Env:
    """One environment by registry name (``cartpole``, ``lunarlander``, ``hopper``, ``pong`` ...)."""
    return ENVIRONMENTS.get(name)(render_mode=render_mode, **kwargs)
