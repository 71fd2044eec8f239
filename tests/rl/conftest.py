"""Fixtures for the RL tests: hand-made teachers that need no training."""
import math
from pathlib import Path

import pytest
import torch

from kd.rl.teacher_model import save_policy
from kd.rl.teacher_model.networks import ActorCritic

# push right when 0.1 x + 0.5 x_dot + theta + 0.5 theta_dot > 0: a linear controller that scores 500
CONTROLLER = (0.1, 0.5, 1.0, 0.5)


def _linear_controller(cart_target: float) -> ActorCritic:
    """A real ActorCritic (no hidden layer, no critic) whose logits are [0, 10 * w . (obs - [cart_target, 0, 0, 0])]."""
    policy = ActorCritic([4], "discrete", 2, hidden=[], critic=False, normalize_obs=False)
    with torch.no_grad():
        layer = policy.actor[0]
        layer.weight.zero_()
        layer.weight[1] = 10.0 * torch.tensor(CONTROLLER)
        layer.bias.zero_()
        layer.bias[1] = -10.0 * CONTROLLER[0] * cart_target
    return policy.eval()


@pytest.fixture(scope="session")
def linear_cartpole_teacher() -> ActorCritic:
    """The controller centred on x = 0: it balances the pole for all 500 steps."""
    return _linear_controller(0.0)


@pytest.fixture(scope="session")
def teacher_pt(tmp_path_factory, linear_cartpole_teacher) -> Path:
    """A teacher checkpoint for the cartpole preset: the hand-made linear controller."""
    return save_policy(linear_cartpole_teacher, tmp_path_factory.mktemp("teacher") / "model.pt",
                       {"name": "cartpole", "kwargs": {}}, algo="ppo")


@pytest.fixture(scope="session")
def off_centre_cartpole_teachers() -> dict[float, ActorCritic]:
    """The controller steering the cart towards x = -1 and x = +1: both still score 500.

    CartPole rewards every step the pole stays up wherever the cart is (within +-2.4), so the side
    is a behaviour the teacher knows and the reward does not say.
    """
    return {side: _linear_controller(side) for side in (-1.0, 1.0)}


@pytest.fixture
def mountain_car_continuous() -> dict:
    """``MountainCarContinuous-v0`` (2-d observation, one action in [-1, 1]), by its gymnasium id."""
    return {"name": "MountainCarContinuous-v0", "kwargs": {}}


@pytest.fixture(scope="session")
def energy_pumping_teacher() -> ActorCritic:
    """A Gaussian MountainCar teacher: mean tanh(100 * velocity) (push along the motion), std 0.3.

    Its normaliser scales velocity by 1/0.03 (as a trained teacher's statistics would), so the mean
    is tanh(3 * normalised velocity): one tanh unit. It reaches the flag in about 90 steps (return ~93);
    a policy whose mean is ~0 never does (return ~0).
    """
    policy = ActorCritic([2], "continuous", 1, hidden=[1], critic=False, normalize_obs=True,
                         init_log_std=math.log(0.3))
    with torch.no_grad():
        policy.normalizer.mean.copy_(torch.tensor([-0.5, 0.0]))
        policy.normalizer.var.copy_(torch.tensor([0.3**2, 0.03**2]))
        policy.actor[0].weight.copy_(torch.tensor([[0.0, 3.0]]))
        policy.actor[0].bias.zero_()
        policy.actor[2].weight.fill_(1.0)
        policy.actor[2].bias.zero_()
    return policy.eval()
