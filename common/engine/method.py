"""A distillation method: one batch in, named loss terms out.

The engine knows nothing about logits, features or tokens: it asks the method for its loss terms,
sums them with the method's weights and steps the optimiser. A method owns whatever it learns besides
the student (a projector, a connector), so those parameters are trained and checkpointed with it.

```python
class HintonKD(DistillationMethod):
    def forward(self, student, teacher, batch):
        x, y = batch
        t = teacher_forward(teacher, x)
        s = student(x)
        return {"ce": F.cross_entropy(s, y), "kd": soft_target_kl(s, t, self.temperature)}
```
"""
from __future__ import annotations

from typing import Any, Callable, Mapping

import torch
from torch import Tensor, nn


class DistillationMethod(nn.Module):
    """Base class: ``forward(student, teacher, batch) -> {term: loss}``; ``total`` weighs and sums them.

    ``weights`` maps a term name to its weight (a missing name weighs 1.0; a weight of 0 skips nothing
    in the computation but removes the term from the total, which keeps it visible in the logs).
    """

    needs_teacher: bool = True
    #: True when every term copes with examples labelled ``kd.common.losses.UNLABELLED`` (hard labels through
    #: ``labelled_cross_entropy``), so the method can distil on a transfer set of unlabelled images.
    learns_from_unlabelled: bool = False
    #: True when a term reads the teacher's intermediate features, not only its logits: such a method needs
    #: the teacher itself on every batch, cached logits cannot replace it.
    uses_teacher_features: bool = False
    #: True when the method keeps a copy of part of the teacher, made when it is built (SimKD: the classifier): the
    #: copy does not follow a teacher that trains further while the student distils (vision's guide mode).
    copies_teacher: bool = False

    def __init__(self, weights: Mapping[str, float] | None = None):
        super().__init__()
        self.weights = dict(weights or {})

    def forward(self, student: nn.Module, teacher: nn.Module | None, batch: Any) -> dict[str, Tensor]:
        raise NotImplementedError

    def total(self, terms: Mapping[str, Tensor]) -> Tensor:
        return sum(self.weights.get(name, 1.0) * value for name, value in terms.items())

    def inference_model(self, student: nn.Module) -> nn.Module:
        """The model evaluated and deployed after training: the student itself, unless the method makes
        parts of its own part of the deployed model (SimKD: student + projector + the teacher's classifier)."""
        return student


@torch.no_grad()
def teacher_forward(teacher: nn.Module, *args: Any, fn: Callable[..., Any] | None = None, **kwargs: Any) -> Any:
    """Run the frozen teacher under ``torch.inference_mode`` and return ordinary (clonable) tensors.

    Inference-mode tensors cannot be saved for backward, so the outputs are cloned out of inference
    mode; a clone of the outputs costs far less than the autograd bookkeeping it avoids.
    ``fn(teacher, *args, **kwargs)`` replaces the plain call, e.g. to ask for features too.
    """
    with torch.inference_mode():
        out = fn(teacher, *args, **kwargs) if fn is not None else teacher(*args, **kwargs)
    return _clone_tree(out)


def _clone_tree(value: Any) -> Any:
    if isinstance(value, Tensor):
        return value.clone()
    if hasattr(value, "to_tuple"):  # transformers ModelOutput (a dict subclass): keep its type and attributes
        return type(value)(**{k: _clone_tree(v) for k, v in value.items()})
    if isinstance(value, dict):
        return {k: _clone_tree(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)) and not hasattr(value, "_fields"):
        return type(value)(_clone_tree(v) for v in value)
    if hasattr(value, "_fields"):  # namedtuple
        return type(value)(*(_clone_tree(v) for v in value))
    return value
