"""The RL distillation methods by name, as in vision and NLP: ``method.name`` picks one of :data:`METHODS`, and its
config section ``methods.<name>`` holds the arguments of its constructor (the fields below), checked against them
before the run folder exists (:mod:`kd.common.utils.method_sections`). Switching ``method.name`` uses that method's
own section, so policy distillation's loss or temperature never reaches kickstarting.

- ``policy_distillation`` (Rusu et al. 2015): the student learns from the teacher's outputs on collected states and
  never sees a reward; ``methods.policy_distillation.{loss, temperature}``.
- ``kickstarting`` (Schmitt et al. 2018): PPO on the student's own rollouts plus an annealed distillation term;
  ``methods.kickstarting.{loss, temperature, total_steps, lr, weight_start, weight_end, anneal_fraction}``.

Policy distillation collects states as the ``distill`` section says (:class:`DistillConfig`) and trains the student
as its ``student`` section says (``student.lr``, ``batch_size``, ``updates_per_iteration``: :class:`StudentTraining`);
kickstarting trains with PPO's settings, ``teacher.ppo`` with its own ``total_steps`` and ``lr``.

A finished run's method, as its summary row is labelled and grouped by: :func:`method_setting`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, ClassVar

from torch import nn

from kd.common.utils.config import dataclass_from_dict
from kd.common.utils.registry import Registry
from kd.rl.algorithms.ppo import PPOConfig
from kd.rl.distillation.kickstarting import kickstart
from kd.rl.distillation.losses import distillation_loss
from kd.rl.distillation.policy_distillation import DistillConfig, StudentTraining, distill_policy
from kd.rl.distillation.schedules import linear_anneal
from kd.rl.run_setup import RunSetup

METHODS: Registry = Registry("RL distillation method")
WHAT = "RL distillation"  # how check_method_sections names METHODS: "the RL distillation methods are ..."
Evaluate = Callable[[nn.Module], dict]
Callback = Callable[[dict], None]


@METHODS.register("policy_distillation")
@dataclass(frozen=True)
class PolicyDistillation:
    """Rusu et al. 2015: the student, which never sees a reward, minimises ``loss`` between its outputs and the
    teacher's on the states the ``distill`` section collects, trained as the ``student`` section says
    (:func:`~kd.rl.distillation.distill_policy`).

    ``loss``: a name of :data:`~kd.rl.distillation.DISTILLATION_LOSSES`, or ``auto`` (``kl`` for discrete actions,
    ``gaussian_kl`` for continuous ones); ``temperature``: T of ``kl``'s teacher softmax(q / T) (with another loss,
    a T other than 1 is refused: :func:`~kd.rl.distillation.losses.check_temperature`)."""

    loss: str = "auto"
    temperature: float = 1.0
    student_critic: ClassVar[bool] = False  # whether the student is built with a value head

    def train(self, setup: RunSetup, loop: DistillConfig, training: StudentTraining, teacher: nn.Module,
              student: nn.Module, evaluate: Evaluate, callback: Callback) -> nn.Module:
        """``student`` distilled from ``teacher`` by the collection loop ``loop`` (the ``distill`` section), trained
        as ``training`` (the ``student`` section) says."""
        distill_policy(student, teacher, setup.env, loop, training, distillation_loss(self.loss, self.temperature),
                       setup.seed, setup.device, evaluate, callback, setup.checkpoint)
        return student


@METHODS.register("kickstarting")
@dataclass(frozen=True)
class Kickstarting:
    """Schmitt et al. 2018: PPO on the student's own rollouts (``teacher.ppo``'s settings, with ``total_steps``
    environment steps at learning rate ``lr``) plus lambda(p) * ``loss`` towards the teacher, lambda going linearly
    from ``weight_start`` to ``weight_end`` over the first ``anneal_fraction`` of the steps. ``loss`` and
    ``temperature``: as :class:`PolicyDistillation`'s."""

    loss: str = "auto"
    temperature: float = 1.0
    total_steps: int = 100_000
    lr: float = 2.5e-4
    weight_start: float = 1.0
    weight_end: float = 0.0
    anneal_fraction: float = 0.5
    student_critic: ClassVar[bool] = True  # PPO trains the student's value head too

    def train(self, setup: RunSetup, loop: DistillConfig, training: StudentTraining, teacher: nn.Module,
              student: nn.Module, evaluate: Evaluate, callback: Callback) -> nn.Module:
        """``student`` (with a value head) kickstarted from ``teacher``; PPO's settings replace ``loop``'s and
        ``training``'s (a key of theirs set for kickstarting is refused before the run:
        :func:`kd.rl.scripts.distill.refuse_policy_distillation_keys`)."""
        ppo = dataclass_from_dict(PPOConfig, {**setup.config["teacher"]["ppo"], "total_steps": self.total_steps,
                                              "lr": self.lr, "update_obs_norm": False}, "PPO")
        weight = linear_anneal(self.weight_start, self.weight_end, self.anneal_fraction)
        kickstart(student, teacher, setup.env, ppo, distillation_loss(self.loss, self.temperature), weight, setup.seed,
                  setup.device, evaluate, callback, setup.checkpoint)
        return student


def method_temperature(config: dict, method: str) -> float:
    """The temperature a distillation run used: ``methods.<method>.temperature``; runs of earlier versions kept it in
    ``distill.temperature`` (before that ``distill.tau``)."""
    section = (config.get("methods") or {}).get(method)
    if section is not None:
        return section.get("temperature", 1.0)
    distill = config.get("distill") or {}
    return distill.get("temperature", distill.get("tau", 1.0))


def method_setting(config: dict, final: dict) -> str:
    """What a student's method did, as its row's label says and its runs are grouped by: the loss (with a teacher
    temperature other than 1, which sharpens the teacher), then policy distillation's data source (``data=student``)
    or kickstarting's PPO steps, learning rate (:func:`kickstarting_lr`) and weight schedule (``methods.kickstarting``;
    runs of earlier versions kept it in ``distill.kickstart``)."""
    method = final["method"]
    temperature = method_temperature(config, method)
    loss = final["loss"] + (f" T={temperature:g}" if temperature != 1.0 else "")
    if method != "kickstarting":
        return f"{loss}, data={final['data']}"
    kick = (config.get("methods") or {}).get("kickstarting") or (config.get("distill") or {}).get("kickstart") or {}
    return (f"{loss}, {kick['total_steps']:,} PPO steps at lr {kickstarting_lr(config, kick):g}, "
            f"weight {kick['weight_start']:g} -> {kick['weight_end']:g} over the first {kick['anneal_fraction']:.0%}")


def kickstarting_lr(config: dict, kick: dict) -> float:
    """The learning rate of a kickstarting run whose section is ``kick``: its ``lr``. Runs of earlier versions called
    it ``learning_rate``, and before that took ``teacher.ppo``'s when the section had none of its own."""
    ppo = config["teacher"]["ppo"]
    return kick.get("lr", kick.get("learning_rate", ppo.get("lr", ppo.get("learning_rate"))))
