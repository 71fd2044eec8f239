"""Students: smaller MLP/CNN policies sized by the config; parameter count and compression ratio."""
from kd.rl.student_model.policies import build_student, size_report

__all__ = ["build_student", "size_report"]
