"""Where a method gets the teacher's logits: from the batch in offline mode, else from the teacher."""
from __future__ import annotations

from typing import Sequence

from torch import Tensor, nn

from kd.common.engine.method import teacher_forward


def teacher_logits_for(teacher: nn.Module | None, batch: Sequence[Tensor], images: Tensor) -> Tensor:
    """Offline batches are ``(images, labels, teacher_logits)``: return the cached logits. Online batches
    are ``(images, labels)``: run the frozen teacher on ``images`` (in inference mode)."""
    if len(batch) >= 3:
        return batch[2]
    if teacher is None:
        raise ValueError("this method needs a teacher or cached teacher logits (offline mode), got neither")
    return teacher_forward(teacher, images)
