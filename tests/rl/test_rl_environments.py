"""Environment factories (offline) and the SAME_STEP autoreset handling of vector environments."""
import gymnasium as gym
import numpy as np
import pytest

from kd.common.utils.errors import ConfigError, UnknownNameError
from kd.rl.environments import final_observations, make_env, make_vector_env


@pytest.mark.parametrize("name, obs_shape", [("cartpole", (4,)), ("acrobot", (6,)), ("lunarlander", (8,)),
                                             ("hopper", (11,)), ("halfcheetah", (17,)), ("pong", (4, 84, 84))])
def test_factories_build_offline_environments(name, obs_shape):
    env = make_env(name)
    obs, _ = env.reset(seed=0)
    assert obs.shape == obs_shape
    obs, *_ = env.step(env.action_space.sample())
    assert obs.shape == obs_shape
    env.close()


@pytest.mark.parametrize("name, kwargs, obs_shape, actions", [
    ("CartPole-v1", {}, (4,), "discrete"),  # the id behind the short name cartpole
    ("MountainCar-v0", {}, (2,), "discrete"),
    ("Pendulum-v1", {}, (3,), "continuous"),
    ("MountainCarContinuous-v0", {"max_episode_steps": 50}, (2,), "continuous"),
    ("LunarLander-v3", {"continuous": True}, (8,), "continuous"),  # the environment's own setting
    ("CarRacing-v3", {"frame_stack": 2}, (2, 84, 84), "continuous"),  # 96x96x3 frames: gray, 84x84, stacked
])
def test_any_gymnasium_id_is_wrapped_for_its_spaces(name, kwargs, obs_shape, actions):
    import torch

    from kd.rl.teacher_model.build import build_policy

    env = make_env(name, **kwargs)
    obs, _ = env.reset(seed=0)
    assert obs.shape == obs_shape and isinstance(env.action_space, gym.spaces.Box) == (actions == "continuous")
    if actions == "continuous":  # a Gaussian policy's sample outside the bounds is clipped, not an error
        env.step(np.full(env.action_space.shape, 100.0, dtype=np.float32))
    policy = build_policy({"network": "actor_critic", "arch": {"hidden": [8]}}, {"name": name, "kwargs": kwargs})
    assert policy.arch_kwargs["encoder"] == ("cnn" if len(obs_shape) == 3 else "mlp")
    assert policy(torch.as_tensor(obs[None])).kind == ("gaussian" if actions == "continuous" else "logits")
    env.close()


@pytest.mark.parametrize("name, kwargs, error, message", [
    ("cartpol", {}, UnknownNameError, "unknown environment 'cartpol': Environment `cartpol` doesn't exist.*cartpole"),
    ("FrozenLake-v1", {}, ConfigError, r"FrozenLake-v1 has Discrete\(16\) observations; kd.rl trains on vectors"),
    ("CartPole-v1", {"frame_stack": 2}, ConfigError, r"env.kwargs \['frame_stack'\] are settings of image"),
    ("CartPole-v1", {"gravity": 1}, ConfigError, "environment CartPole-v1 does not take the settings"),
])
def test_environment_mistakes_are_one_line_errors(name, kwargs, error, message):
    with pytest.raises(error, match=message):
        make_env(name, **kwargs)


def test_same_step_autoreset_returns_the_next_episode_and_keeps_the_final_observation():
    envs = make_vector_env("cartpole", 2)
    obs, _ = envs.reset(seed=3)
    for _ in range(200):  # always pushing left ends an episode within a few dozen steps
        next_obs, reward, terminated, truncated, info = envs.step(np.zeros(2, dtype=np.int64))
        if terminated.any():
            break
    done = np.flatnonzero(terminated)
    last = final_observations(next_obs, info)
    # the finished episode's last state is out of bounds; the returned observation is a fresh reset
    assert np.all(np.abs(last[done, 2]) > 0.2 - 1e-3) or np.all(np.abs(last[done, 0]) > 2.4 - 1e-3)
    assert np.all(np.abs(next_obs[done]) <= 0.05)
    assert reward[done].tolist() == [1.0] * len(done)  # a real transition, not a dummy reset step
    envs.close()


def test_atari_cnn_teacher_and_student_act_on_stacked_frames():
    import torch

    from kd.common.utils.config import load_yaml
    from kd.rl.student_model import build_student, size_report
    from kd.rl.teacher_model.build import build_policy

    config = load_yaml(__import__("pathlib").Path(__file__).parents[2] / "reinforcement-learning/configs/pong.yaml")
    env = {"name": "pong", "kwargs": {}}
    teacher = build_policy(config["teacher"], env)
    student = build_student(config["student"], teacher, env)
    obs, _ = make_env("pong").reset(seed=0)
    out = student(torch.as_tensor(obs[None]))
    assert obs.dtype == np.uint8 and out.logits.shape == (1, 6)
    assert teacher(torch.as_tensor(obs[None])).value.shape == (1,)
    assert size_report(teacher, student)["compression"] > 7


def test_random_policy_baseline_makes_negative_returns_read_the_right_way():
    from kd.common.metrics.rl import percent_of_teacher
    from kd.rl.evaluation import percent_baseline, percent_heading, random_policy_returns

    acrobot = {"name": "Acrobot-v1", "kwargs": {"max_episode_steps": 50}}
    returns = random_policy_returns(acrobot, 3, seed=7)
    assert returns == random_policy_returns(acrobot, 3, seed=7) and all(-50 <= r <= 0 for r in returns)
    assert percent_baseline(400.0, acrobot, 3, seed=7) is None  # positive returns: the plain ratio
    base = percent_baseline(-20.0, acrobot, 3, seed=7)
    assert base == pytest.approx(np.mean(returns))
    # a student worse than the teacher scores below 100 %, one as bad as chance 0 %
    assert percent_of_teacher(-30.0, -20.0, base) < 100 < percent_of_teacher(-10.0, -20.0, base)
    assert percent_of_teacher(base, -20.0, base) == pytest.approx(0.0)
    assert "random policy" in percent_heading(base) and percent_heading(None) == "% of teacher"
