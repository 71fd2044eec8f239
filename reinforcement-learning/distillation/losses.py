"""Policy distillation losses by name, applied to a student's and a teacher's :class:`PolicyOutput`.

The formulas live in :mod:`kd.common.losses.policy` (and ``logit_mse``); this module only picks the
right fields and checks that the loss fits the action space.

| name          | actions    | loss                                                              |
|---------------|------------|-------------------------------------------------------------------|
| kl            | discrete   | KL(softmax(q_T / T) || softmax(z_S))    (Rusu et al. 2015, eq. 3) |
| nll           | discrete   | -log pi_S(argmax q_T)                   (Rusu et al. 2015, eq. 1) |
| mse           | discrete   | mean (z_S - q_T)^2 on logits/Q-values   (Rusu et al. 2015, eq. 2) |
| gaussian_kl   | continuous | KL(N_T || N_S), closed form                                       |
| gaussian_nll  | continuous | -log N(mu_T; mu_S, s_S^2)                                         |
| mean_mse      | continuous | mean (mu_S - mu_T)^2                                              |

``auto`` (the default) is ``kl`` for discrete actions and ``gaussian_kl`` for continuous ones
(:func:`loss_for_actions`).
"""
from __future__ import annotations

from typing import Callable

from torch import Tensor

from kd.common.losses.logit import logit_mse
from kd.common.losses.policy import gaussian_kl, gaussian_log_likelihood_of_mean, policy_kl, teacher_action_nll
from kd.common.utils.errors import ConfigError
from kd.common.utils.registry import Registry
from kd.rl.teacher_model.networks import PolicyOutput

PolicyLoss = Callable[[PolicyOutput, PolicyOutput], Tensor]
DISTILLATION_LOSSES: Registry[Tensor] = Registry("policy distillation loss")
CONTINUOUS_LOSSES = {"gaussian_kl", "gaussian_nll", "mean_mse"}
TEMPERATURE_LOSSES = {"kl"}  # the losses that read ``temperature``

DISTILLATION_LOSSES.register("kl")(lambda s, t, temperature: policy_kl(s.logits, t.logits, temperature))
DISTILLATION_LOSSES.register("nll")(lambda s, t, temperature: teacher_action_nll(s.logits, t.logits))
DISTILLATION_LOSSES.register("mse")(lambda s, t, temperature: logit_mse(s.logits, t.logits))
DISTILLATION_LOSSES.register("gaussian_kl")(lambda s, t, temperature: gaussian_kl(s.mean, s.log_std, t.mean, t.log_std))
DISTILLATION_LOSSES.register("gaussian_nll")(
    lambda s, t, temperature: gaussian_log_likelihood_of_mean(s.mean, s.log_std, t.mean))
DISTILLATION_LOSSES.register("mean_mse")(lambda s, t, temperature: logit_mse(s.mean, t.mean))


def loss_for_actions(name: str, action_kind: str, key: str) -> str:
    """The loss ``name`` stands for with ``action_kind`` actions (``auto``: ``kl`` for discrete, ``gaussian_kl`` for
    continuous); an unknown loss, or one that does not fit the actions, is a one-line error before any training
    that names the config ``key`` it was given as (``methods.kickstarting.loss``)."""
    continuous = action_kind == "continuous"
    if name == "auto":
        return "gaussian_kl" if continuous else "kl"
    DISTILLATION_LOSSES.get(name)
    if continuous != (name in CONTINUOUS_LOSSES):
        fits = sorted(CONTINUOUS_LOSSES) if continuous else sorted(set(DISTILLATION_LOSSES.names()) - CONTINUOUS_LOSSES)
        raise ConfigError(f"{key}={name} does not fit the teacher's {action_kind} actions; use auto or one of: "
                          f"{', '.join(fits)}")
    return name


def check_temperature(loss: str, temperature: float, section: str) -> None:
    """A ``temperature`` other than 1 (which leaves the teacher as it is) for a loss that does not read it is refused in
    one line: ``section`` is the config section holding both (``methods.policy_distillation``)."""
    if temperature != 1.0 and loss not in TEMPERATURE_LOSSES:
        raise ConfigError(f"{section}.temperature={temperature:g} is read only by {section}.loss=kl (the teacher's "
                          f"softmax(q / T)), not by {section}.loss={loss}: drop it, or pass {section}.loss=kl")


def distillation_loss(name: str, temperature: float = 1.0) -> PolicyLoss:
    """``loss(student_output, teacher_output) -> scalar`` (``temperature``: T of ``kl``'s teacher softmax, the config's
    ``methods.<name>.temperature``); a loss that does not fit the actions is an error."""
    fn = DISTILLATION_LOSSES.get(name)

    def loss(student: PolicyOutput, teacher: PolicyOutput) -> Tensor:
        continuous = teacher.kind == "gaussian"
        if continuous != (name in CONTINUOUS_LOSSES) or (student.kind == "gaussian") != continuous:
            kinds = "continuous" if continuous else "discrete"
            discrete_losses = set(DISTILLATION_LOSSES.names()) - CONTINUOUS_LOSSES
            fits = sorted(CONTINUOUS_LOSSES if continuous else discrete_losses)
            raise ConfigError(f"loss '{name}' does not fit {kinds} actions (teacher {teacher.kind}, "
                              f"student {student.kind}); use one of: {', '.join(fits)}")
        return fn(student, teacher, temperature)

    return loss
