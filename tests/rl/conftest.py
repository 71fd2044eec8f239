"""Fixtures for the RL tests: a hand-made CartPole teacher that needs no training."""
import pytest
import torch

from kd.rl.teacher_model.networks import ActorCritic

# push right when 0.1 x + 0.5 x_dot + theta + 0.5 theta_dot > 0: a linear controller that scores 500
CONTROLLER = (0.1, 0.5, 1.0, 0.5)


@pytest.fixture(scope="session")
def linear_cartpole_teacher() -> ActorCritic:
    """A real ActorCritic (no hidden layer, no critic) whose logits are [0, 10 * w . obs]."""
    policy = ActorCritic([4], "discrete", 2, hidden=[], critic=False, normalize_obs=False)
    with torch.no_grad():
        layer = policy.actor[0]
        layer.weight.zero_()
        layer.bias.zero_()
        layer.weight[1] = 10.0 * torch.tensor(CONTROLLER)
    return policy.eval()
