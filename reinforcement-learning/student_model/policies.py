"""Students: the same policy networks as the teachers, sized by the config, and their cost against the teacher.

A student takes raw observations like its teacher and copies the teacher's observation-normalisation
statistics (they are part of the environment's interface, not something to learn), so teacher and
student always see identically scaled inputs and the student's checkpoint is self-contained.
"""
from __future__ import annotations

from torch import nn

from kd.common.metrics.cost import checkpoint_size_bytes
from kd.rl.teacher_model.build import build_policy


def build_student(section: dict, teacher: nn.Module, env: dict, with_critic: bool = False) -> nn.Module:
    """``section = {network: actor_critic, arch: {hidden: [...], encoder: mlp|cnn, ...}}``."""
    arch = dict(section.get("arch") or {})
    arch["normalize_obs"] = teacher.normalizer.enabled
    if with_critic:
        arch["critic"] = True
    student = build_policy({"network": section["network"], "arch": arch}, env, "student")
    student.normalizer.load_state_dict(teacher.normalizer.state_dict())
    return student


def size_report(teacher: nn.Module, student: nn.Module) -> dict:
    """Parameters needed to act (value heads excluded), the compression ratio and safetensors bytes."""
    t, s = teacher.policy_parameter_count(), student.policy_parameter_count()
    return {"teacher_parameters": t, "student_parameters": s, "compression": t / s,
            "teacher_bytes": checkpoint_size_bytes(teacher), "student_bytes": checkpoint_size_bytes(student)}
