"""Policy networks shared by teachers and students: MLP and CNN actor-critics and a Q-network.

Every network maps raw observations (it normalises them itself, see
:class:`~kd.rl.teacher_model.normalization.ObservationNormalizer`) to a :class:`PolicyOutput`:

- discrete actions: ``logits`` (a categorical policy; for a Q-network the Q-values, ``kind='q_values'``)
- continuous actions: ``mean`` and a state-independent ``log_std`` (a diagonal Gaussian policy)
- ``value``: the critic's V(s), when the network has a critic

Architectures follow CleanRL: separate tanh MLPs for actor and critic with orthogonal initialisation
(gain sqrt(2), 0.01 on the policy head, 1 on the value head); for pixels the Nature-DQN trunk
(Mnih et al. 2015) shared by both heads. Each network keeps the keyword arguments it was built with
(``arch_kwargs``) so :mod:`kd.rl.teacher_model.checkpoint` can rebuild it by name.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import gymnasium as gym
import torch
from torch import Tensor, nn

from kd.common.utils.errors import ConfigError
from kd.common.utils.registry import Registry
from kd.rl.teacher_model.normalization import ObservationNormalizer

POLICY_ARCHS: Registry[nn.Module] = Registry("policy architecture")
ACTIVATIONS = {"tanh": nn.Tanh, "relu": nn.ReLU}


@dataclass
class PolicyOutput:
    """What a policy network returns for a batch of observations."""

    kind: str  # "logits", "q_values" or "gaussian"
    logits: Tensor | None = None
    mean: Tensor | None = None
    log_std: Tensor | None = None
    value: Tensor | None = None


def space_kwargs(observation_space: gym.Space, action_space: gym.Space) -> dict:
    """The architecture arguments an environment fixes: observation shape, action kind and count."""
    if isinstance(action_space, gym.spaces.Discrete):
        kind, n = "discrete", int(action_space.n)
    elif isinstance(action_space, gym.spaces.Box):
        kind, n = "continuous", int(math.prod(action_space.shape))
    else:
        raise ConfigError(f"action space {action_space} is not supported; use Discrete or Box actions")
    return {"obs_shape": list(observation_space.shape), "action_kind": kind, "num_actions": n}


def layer_init(layer: nn.Module, gain: float = math.sqrt(2), bias: float = 0.0) -> nn.Module:
    nn.init.orthogonal_(layer.weight, gain)
    nn.init.constant_(layer.bias, bias)
    return layer


def mlp(in_dim: int, hidden: Sequence[int], out_dim: int, activation: str, out_gain: float) -> nn.Sequential:
    if activation not in ACTIVATIONS:
        raise ConfigError(f"unknown activation '{activation}'; choose one of: {', '.join(ACTIVATIONS)}")
    layers: list[nn.Module] = []
    for width in hidden:
        layers += [layer_init(nn.Linear(in_dim, width)), ACTIVATIONS[activation]()]
        in_dim = width
    layers.append(layer_init(nn.Linear(in_dim, out_dim), gain=out_gain))
    return nn.Sequential(*layers)


class ConvTrunk(nn.Module):
    """Nature-DQN convolutions on uint8 frame stacks (scaled by 1/255), then one ReLU linear layer.

    ``channels=(32, 64, 64), hidden=512`` is the Nature network; students shrink both.
    """

    def __init__(self, in_channels: int, channels: Sequence[int] = (32, 64, 64), hidden: int = 512,
                 frame_size: int = 84):
        super().__init__()
        c1, c2, c3 = channels
        self.convs = nn.Sequential(
            layer_init(nn.Conv2d(in_channels, c1, 8, stride=4)), nn.ReLU(),
            layer_init(nn.Conv2d(c1, c2, 4, stride=2)), nn.ReLU(),
            layer_init(nn.Conv2d(c2, c3, 3, stride=1)), nn.ReLU(),
            nn.Flatten(),
        )
        with torch.no_grad():
            flat = self.convs(torch.zeros(1, in_channels, frame_size, frame_size)).shape[1]
        self.fc = nn.Sequential(layer_init(nn.Linear(flat, hidden)), nn.ReLU())
        self.out_dim = hidden

    def forward(self, frames: Tensor) -> Tensor:
        return self.fc(self.convs(frames.float() / 255.0))


@POLICY_ARCHS.register("actor_critic")
class ActorCritic(nn.Module):
    """Categorical or diagonal-Gaussian policy with an optional value head.

    ``encoder='mlp'``: separate actor and critic MLPs with ``hidden`` widths. ``encoder='cnn'``: a shared
    :class:`ConvTrunk` (``conv_channels``, ``hidden[0]`` units) and linear heads. ``critic=False`` drops
    the value head (a student that only imitates needs none; kickstarting needs one).
    """

    def __init__(self, obs_shape: Sequence[int], action_kind: str, num_actions: int,
                 hidden: Sequence[int] = (64, 64), encoder: str = "mlp", conv_channels: Sequence[int] = (32, 64, 64),
                 activation: str = "tanh", critic: bool = True, normalize_obs: bool = True, init_log_std: float = 0.0):
        super().__init__()
        if action_kind not in ("discrete", "continuous"):
            raise ConfigError(f"action_kind must be 'discrete' or 'continuous', not '{action_kind}'")
        if encoder not in ("mlp", "cnn"):
            raise ConfigError(f"unknown encoder '{encoder}'; choose mlp or cnn")
        self.arch_name = "actor_critic"
        self.arch_kwargs = dict(obs_shape=list(obs_shape), action_kind=action_kind, num_actions=num_actions,
                                hidden=list(hidden), encoder=encoder, conv_channels=list(conv_channels),
                                activation=activation, critic=critic, normalize_obs=normalize_obs,
                                init_log_std=init_log_std)
        self.action_kind = action_kind
        self.normalizer = ObservationNormalizer(tuple(obs_shape), enabled=normalize_obs and encoder == "mlp")
        if encoder == "cnn":
            self.trunk: nn.Module = ConvTrunk(obs_shape[0], conv_channels, hidden[0], obs_shape[-1])
            self.actor = layer_init(nn.Linear(hidden[0], num_actions), gain=0.01)
            self.critic = layer_init(nn.Linear(hidden[0], 1), gain=1.0) if critic else None
        else:
            obs_dim = int(math.prod(obs_shape))
            self.trunk = nn.Flatten()
            self.actor = mlp(obs_dim, hidden, num_actions, activation, out_gain=0.01)
            self.critic = mlp(obs_dim, hidden, 1, activation, out_gain=1.0) if critic else None
        self.log_std = (nn.Parameter(torch.full((num_actions,), float(init_log_std)))
                        if action_kind == "continuous" else None)

    def forward(self, obs: Tensor) -> PolicyOutput:
        features = self.trunk(self.normalizer(obs))
        value = self.critic(features).squeeze(-1) if self.critic is not None else None
        head = self.actor(features)
        if self.action_kind == "discrete":
            return PolicyOutput("logits", logits=head, value=value)
        return PolicyOutput("gaussian", mean=head, log_std=self.log_std.expand_as(head), value=value)

    def policy_parameter_count(self) -> int:
        """Parameters needed to act (everything but the value head): the figure compression compares."""
        critic = sum(p.numel() for p in self.critic.parameters()) if self.critic is not None else 0
        return sum(p.numel() for p in self.parameters()) - critic


@POLICY_ARCHS.register("q_network")
class QNetwork(nn.Module):
    """Q(s, .) for every discrete action (DQN, Mnih et al. 2015); outputs ``kind='q_values'``. Its observation
    normaliser is always off (``normalize_obs`` is there for the students that copy their teacher's): DQN learns from a
    replay memory, and running statistics would move under the target network between its copies."""

    def __init__(self, obs_shape: Sequence[int], action_kind: str, num_actions: int,
                 hidden: Sequence[int] = (120, 84), activation: str = "relu", normalize_obs: bool = False):
        super().__init__()
        if action_kind != "discrete":
            raise ConfigError("a Q-network needs discrete actions; use PPO for continuous control")
        if normalize_obs:
            raise ConfigError("normalize_obs=true: a Q-network keeps no running observation statistics (DQN learns "
                              "from a replay memory); set teacher.arch.normalize_obs=false, or use network "
                              "actor_critic")
        self.arch_name = "q_network"
        self.arch_kwargs = dict(obs_shape=list(obs_shape), action_kind=action_kind, num_actions=num_actions,
                                hidden=list(hidden), activation=activation, normalize_obs=normalize_obs)
        self.normalizer = ObservationNormalizer(tuple(obs_shape), enabled=normalize_obs)
        self.q = mlp(int(math.prod(obs_shape)), hidden, num_actions, activation, out_gain=1.0)

    def forward(self, obs: Tensor) -> PolicyOutput:
        return PolicyOutput("q_values", logits=self.q(self.normalizer(obs).flatten(1)))

    def policy_parameter_count(self) -> int:
        return sum(p.numel() for p in self.parameters())
