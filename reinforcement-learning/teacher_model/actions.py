"""From a :class:`PolicyOutput` to actions: the distribution, sampling, greedy choice, log-probabilities."""
from __future__ import annotations

import numpy as np
from torch import Tensor
from torch.distributions import Categorical, Distribution, Independent, Normal

from kd.rl.teacher_model.networks import PolicyOutput


def action_distribution(out: PolicyOutput) -> Distribution:
    """Categorical(softmax(logits)) or a diagonal Gaussian N(mean, exp(log_std)^2) over the action vector."""
    if out.kind == "gaussian":
        return Independent(Normal(out.mean, out.log_std.exp()), 1)
    return Categorical(logits=out.logits)


def select_actions(out: PolicyOutput, deterministic: bool) -> Tensor:
    """Greedy (argmax / Gaussian mean) or sampled actions. A Q-network always acts greedily."""
    if out.kind == "q_values" or (deterministic and out.kind == "logits"):
        return out.logits.argmax(-1)
    if deterministic:
        return out.mean
    return action_distribution(out).sample()


def to_env_actions(actions: Tensor) -> np.ndarray:
    return actions.detach().cpu().numpy()
