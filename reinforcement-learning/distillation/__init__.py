"""Policy distillation (Rusu et al. 2015), data from teacher / student / mixed rollouts, kickstarting; the methods
by name (``method.name``) are in :mod:`kd.rl.distillation.methods`."""
from kd.rl.distillation.kickstarting import kickstart
from kd.rl.distillation.losses import DISTILLATION_LOSSES, distillation_loss
from kd.rl.distillation.policy_distillation import DistillConfig, StudentTraining, distill_policy
from kd.rl.distillation.replay import TeacherLabelledReplay
from kd.rl.distillation.schedules import DATA_SOURCES, linear_anneal

__all__ = ["DATA_SOURCES", "DISTILLATION_LOSSES", "DistillConfig", "StudentTraining", "TeacherLabelledReplay",
           "distill_policy", "distillation_loss", "kickstart", "linear_anneal"]
