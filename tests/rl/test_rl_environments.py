"""Environment factories (offline) and the SAME_STEP autoreset handling of vector environments."""
import numpy as np
import pytest

from kd.common.utils.errors import UnknownNameError
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


def test_unknown_environment_is_a_one_line_error():
    with pytest.raises(UnknownNameError, match="unknown environment 'cartpol'.*cartpole"):
        make_env("cartpol")


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
    assert obs.dtype == np.uint8 and out.logits.shape == (1, 6) and teacher(torch.as_tensor(obs[None])).value.shape == (1,)
    assert size_report(teacher, student)["compression"] > 7
