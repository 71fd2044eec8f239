"""The checks every output-distribution loss needs: teacher and student predict over the same set -- the same
classes, or the same vocabulary (same tokens at the same ids)."""
from __future__ import annotations

from typing import Any

from torch import Tensor

from kd.common.utils.errors import KDError


def require_same_outputs(student_logits: Tensor, teacher_logits: Tensor, what: str) -> None:
    """Raise a one-line KDError when the last dimensions (classes or vocabulary) differ."""
    student_outputs, teacher_outputs = student_logits.shape[-1], teacher_logits.shape[-1]
    if student_outputs != teacher_outputs:
        raise KDError(f"the student predicts {student_outputs} {what} but the teacher {teacher_outputs}; "
                      f"token/class-level KD needs the same {what} (same label set or same target vocabulary)")


def require_same_vocabulary(teacher_tokenizer: Any, student_tokenizer: Any, student_key: str) -> None:
    """Raise a one-line KDError unless both tokenizers map the same tokens to the same ids (``vocabulary()``).

    Token-level KD compares p_teacher(v | prefix) with p_student(v | prefix) for every vocabulary entry v, so
    entry v must be the same token for both; ``student_key`` names the setting that chose the student.
    """
    teacher, student = teacher_tokenizer.vocabulary(), student_tokenizer.vocabulary()
    if teacher != student:
        own = len(set(teacher.items()) - set(student.items()))
        raise KDError(f"the teacher and the student ({student_key}) have different vocabularies ({len(teacher):,} vs "
                      f"{len(student):,} tokens, {own:,} token ids of the teacher's not the student's); token-level KD "
                      "needs one vocabulary: pick a "
                      "student with the teacher's tokenizer (e.g. distilgpt2 for gpt2) or unset student.name to "
                      "build the student from the teacher's config")
