"""The one check every output-distribution loss needs: teacher and student predict over the same set."""
from __future__ import annotations

from torch import Tensor

from kd.common.utils.errors import KDError


def require_same_outputs(student_logits: Tensor, teacher_logits: Tensor, what: str) -> None:
    """Raise a one-line KDError when the last dimensions (classes or vocabulary) differ."""
    if student_logits.shape[-1] != teacher_logits.shape[-1]:
        raise KDError(f"the student predicts {student_logits.shape[-1]} {what} but the teacher {teacher_logits.shape[-1]}; "
                      f"token/class-level KD needs the same {what} (same label set or same target vocabulary)")
